// TEST STAND-IN, NOT THE PRODUCT. The OCI CLI (Python) cannot be installed or reach OCI here.
// This `oci` implements the Object Storage subset the runbooks call, over a local directory, with
// the real CLI's command and option names, its JSON shapes, its click-style usage errors (exit 2),
// its "ServiceError:" output (exit 1), and its overwrite rules: `object put` on an existing object
// asks unless --force or --no-overwrite (no answer on stdin: "Aborted!", exit 1), --no-overwrite
// skips with exit 0. Node built-ins only, so the bundle also runs on Node 18 inside the VM.
//   OCI_STANDIN_ROOT    storage directory (required)
//   OCI_STANDIN_FAULTS  JSON file [{ "match": "os object put", "status": 429, "code": "TooManyRequests", "times": 2 } | { "match": ..., "hang_ms": 5000, "times": 1 }]
//   OCI_STANDIN_DENY    comma list of command prefixes answered with 404 NotAuthorizedOrNotFound,
//                       or "auth:<mode>" answered with 401 NotAuthenticated
import { createHash, randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const AUTH = ['api_key', 'instance_principal', 'security_token', 'resource_principal'];
const GLOBAL_VALUE = ['--auth', '--profile', '--config-file', '--region', '--output', '--query', '--endpoint', '--cert-bundle', '--connection-timeout', '--read-timeout', '--max-retries'];
const GLOBAL_FLAG = ['--raw-output', '--debug', '--no-retry', '-d', '-?', '-h', '--help'];

interface Spec {
  value: Record<string, string>; // alias -> canonical
  flags: Record<string, string>;
  required: string[];
}
const ns = { '--namespace': 'namespace', '--namespace-name': 'namespace', '-ns': 'namespace' };
const bn = { '--bucket-name': 'bucket', '-bn': 'bucket' };
const COMMANDS: Record<string, Spec> = {
  'os ns get': { value: { '--compartment-id': 'compartment', '-c': 'compartment' }, flags: {}, required: [] },
  'os bucket get': { value: { ...ns, ...bn, '--fields': 'fields' }, flags: {}, required: ['bucket'] },
  'os bucket create': { value: { ...ns, '--name': 'name', '--compartment-id': 'compartment', '-c': 'compartment', '--versioning': 'versioning' }, flags: {}, required: ['name', 'compartment'] },
  'os object put': { value: { ...ns, ...bn, '--name': 'name', '--file': 'file', '--content-md5': 'md5', '--metadata': 'metadata', '--content-type': 'ctype', '--storage-tier': 'tier', '--part-size': 'partsize', '--parallel-upload-count': 'par' }, flags: { '--force': 'force', '--no-overwrite': 'noOverwrite', '--no-multipart': 'noMultipart', '--disable-parallel-uploads': 'noPar', '--verify-checksum': 'verify' }, required: ['bucket', 'file'] },
  'os object get': { value: { ...ns, ...bn, '--name': 'name', '--file': 'file', '--range': 'range' }, flags: {}, required: ['bucket', 'name', 'file'] },
  'os object head': { value: { ...ns, ...bn, '--name': 'name' }, flags: {}, required: ['bucket', 'name'] },
  'os object list': { value: { ...ns, ...bn, '--prefix': 'prefix', '--start': 'start', '--end': 'end', '--limit': 'limit', '--delimiter': 'delimiter', '--fields': 'fields' }, flags: { '--all': 'all' }, required: ['bucket'] },
  'os object delete': { value: { ...ns, ...bn, '--name': 'name' }, flags: { '--force': 'force' }, required: ['bucket', 'name'] },
};

const out = (s: string) => process.stdout.write(s);
const usage = (msg: string): never => {
  process.stderr.write(`Usage: oci [OPTIONS] COMMAND [ARGS]...\n\nError: ${msg}\n`);
  process.exit(2);
};
const serviceError = (status: number, code: string, message: string, op: string): never => {
  process.stderr.write(`ServiceError:\n${JSON.stringify({ 'client_version': 'standin', code, message, 'opc-request-id': randomUUID().toUpperCase(), operation_name: op, request_endpoint: 'standin', status, target_service: 'object_storage', timestamp: new Date().toISOString(), troubleshooting_tips: 'stand-in' }, null, 4)}\n`);
  process.exit(1);
};

const root = process.env.OCI_STANDIN_ROOT ?? usage('OCI_STANDIN_ROOT is not set (test stand-in)');
const argv = process.argv.slice(2);
const words: string[] = [];
const opts: Record<string, string> = {};
const global: Record<string, string> = {};
let spec: Spec | undefined;
let cmd = '';
for (let i = 0; i < argv.length; i++) {
  const a = argv[i] as string;
  const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
  const next = () => inline ?? argv[++i] ?? usage(`Option '${flag}' requires an argument.`);
  if (!flag.startsWith('-')) {
    if (spec) usage(`Got unexpected extra argument (${a})`);
    words.push(a);
    const key = words.join(' ');
    if (COMMANDS[key]) [spec, cmd] = [COMMANDS[key], key];
    else if (words.length >= 3) usage(`No such command '${a}'.`);
    continue;
  }
  if (GLOBAL_VALUE.includes(flag)) global[flag] = next();
  else if (GLOBAL_FLAG.includes(flag)) global[flag] = 'true';
  else if (spec && spec.value[flag]) opts[spec.value[flag] as string] = next();
  else if (spec && spec.flags[flag]) opts[spec.flags[flag] as string] = 'true';
  else usage(`No such option: ${flag}`);
}
if (!spec) spec = usage(words.length ? `No such command '${words.at(-1)}'.` : 'Missing command.');
const auth = global['--auth'] ?? process.env.OCI_CLI_AUTH ?? 'api_key';
if (!AUTH.includes(auth)) usage(`Invalid value for '--auth': '${auth}' is not one of ${AUTH.map((x) => `'${x}'`).join(', ')}.`);
if (global['--output'] && !['json', 'table'].includes(global['--output'] as string)) usage(`Invalid value for '--output': '${global['--output']}' is not one of 'json', 'table'.`);
if (global['--query']) usage('--query is not supported by the test stand-in');
for (const r of spec.required) if (!opts[r]) usage(`Missing option(s) --${r === 'bucket' ? 'bucket-name' : r}.`);
if (opts.force && opts.noOverwrite) usage('The --force and --no-overwrite options cannot be used together.');

mkdirSync(root, { recursive: true });
appendFileSync(join(root, 'calls.log'), `${JSON.stringify({ argv, auth, at: new Date().toISOString() })}\n`);

// Fault injection, shared across processes through the file itself.
const faultsFile = process.env.OCI_STANDIN_FAULTS;
if (faultsFile && existsSync(faultsFile)) {
  const faults = JSON.parse(readFileSync(faultsFile, 'utf8')) as { match: string; status?: number; code?: string; hang_ms?: number; times: number }[];
  const f = faults.find((x) => cmd.startsWith(x.match) && x.times > 0);
  if (f) {
    f.times--;
    writeFileSync(faultsFile, JSON.stringify(faults));
    if (f.hang_ms) await new Promise((r) => setTimeout(r, f.hang_ms));
    else serviceError(f.status ?? 500, f.code ?? 'InternalServerError', 'injected fault', cmd);
  }
}
for (const d of (process.env.OCI_STANDIN_DENY ?? '').split(',').filter(Boolean)) {
  if (d === `auth:${auth}`) serviceError(401, 'NotAuthenticated', 'The required information to complete authentication was not provided.', cmd);
  if (cmd.startsWith(d)) serviceError(404, opts.bucket ? 'BucketNotFound' : 'NotAuthorizedOrNotFound', `Either the bucket named '${opts.bucket ?? ''}' does not exist in the namespace or you are not authorized to access it`, cmd);
}

const namespace = existsSync(join(root, 'namespace')) ? readFileSync(join(root, 'namespace'), 'utf8').trim() : 'standin-ns';
if (opts.namespace && opts.namespace !== namespace) serviceError(404, 'NamespaceNotFound', `You do not have authorization to perform this request, or the requested resource could not be found.`, cmd);
const bucketDir = (b: string) => join(root, 'buckets', b);
const objPath = (b: string, n: string) => join(bucketDir(b), 'objects', encodeURIComponent(n));
const needBucket = (b: string) => existsSync(bucketDir(b)) || serviceError(404, 'BucketNotFound', `Either the bucket named '${b}' does not exist in the namespace '${namespace}' or you are not authorized to access it`, cmd);
interface Meta { size: number; md5: string; etag: string; 'time-created': string; 'opc-multipart-md5'?: string; metadata: Record<string, string>; 'content-type': string }
const readMeta = (b: string, n: string): Meta | null => (existsSync(`${objPath(b, n)}.meta`) ? (JSON.parse(readFileSync(`${objPath(b, n)}.meta`, 'utf8')) as Meta) : null);
const objectNotFound = (b: string, n: string): never => serviceError(404, 'ObjectNotFound', `The object '${n}' was not found in the bucket '${b}'`, cmd);
const MULTIPART = 128 * 1024 * 1024;

switch (cmd) {
  case 'os ns get':
    out(`${JSON.stringify({ data: namespace }, null, 2)}\n`);
    break;
  case 'os bucket create': {
    if (existsSync(bucketDir(opts.name as string))) serviceError(409, 'BucketAlreadyExists', 'Either the bucket already exists or you are not authorized to create it', cmd);
    mkdirSync(join(bucketDir(opts.name as string), 'objects'), { recursive: true });
    out(`${JSON.stringify({ data: { name: opts.name, namespace, 'compartment-id': opts.compartment } }, null, 2)}\n`);
    break;
  }
  case 'os bucket get':
    needBucket(opts.bucket as string);
    out(`${JSON.stringify({ data: { name: opts.bucket, namespace } }, null, 2)}\n`);
    break;
  case 'os object put': {
    const b = opts.bucket as string;
    needBucket(b);
    const name = opts.name ?? (opts.file === '-' ? usage('Missing option --name (required when --file is -).') : (opts.file as string).split('/').pop() as string);
    if (readMeta(b, name)) {
      if (opts.noOverwrite) {
        process.stderr.write(`Object ${name} already exists and --no-overwrite was given: skipped\n`);
        break;
      }
      if (!opts.force) {
        process.stderr.write('WARNING: This object already exists. Are you sure you want to overwrite it? [y/N]: ');
        let answer = '';
        try {
          answer = readFileSync(0, 'utf8').split('\n')[0] ?? '';
        } catch {
          answer = '';
        }
        if (!/^y(es)?$/i.test(answer.trim())) {
          process.stderr.write('Aborted!\n');
          process.exit(1);
        }
      }
    }
    const data = opts.file === '-' ? readFileSync(0) : existsSync(opts.file as string) ? readFileSync(opts.file as string) : usage(`Invalid value for '--file': Could not open file: ${opts.file}: No such file or directory`);
    const md5 = createHash('md5').update(data).digest('base64');
    const multipart = data.length > MULTIPART && !opts.noMultipart;
    if (opts.md5 && !multipart && opts.md5 !== md5) serviceError(400, 'InvalidContentMD5', 'The computed MD5 hash of the request body does not match the Content-MD5 header.', cmd);
    const p = objPath(b, name);
    writeFileSync(`${p}.tmp`, data);
    renameSync(`${p}.tmp`, p);
    const meta: Meta = { size: data.length, md5: multipart ? '' : md5, etag: randomUUID(), 'time-created': new Date().toISOString(), metadata: opts.metadata ? JSON.parse(opts.metadata) : {}, 'content-type': opts.ctype ?? 'application/octet-stream', ...(multipart ? { 'opc-multipart-md5': `${md5}-${Math.ceil(data.length / MULTIPART)}` } : {}) };
    writeFileSync(`${p}.meta`, JSON.stringify(meta));
    out(`${JSON.stringify(multipart ? { etag: meta.etag, 'last-modified': meta['time-created'], 'opc-multipart-md5': meta['opc-multipart-md5'] } : { etag: meta.etag, 'last-modified': meta['time-created'], 'opc-content-md5': md5 }, null, 2)}\n`);
    break;
  }
  case 'os object get': {
    const b = opts.bucket as string;
    needBucket(b);
    if (!readMeta(b, opts.name as string)) objectNotFound(b, opts.name as string);
    const data = readFileSync(objPath(b, opts.name as string));
    if (opts.file === '-') process.stdout.write(data);
    else writeFileSync(opts.file as string, data);
    break;
  }
  case 'os object head': {
    const b = opts.bucket as string;
    needBucket(b);
    const m = readMeta(b, opts.name as string) ?? objectNotFound(b, opts.name as string);
    out(`${JSON.stringify({ 'content-length': String(m.size), 'content-md5': m.md5 || undefined, 'opc-multipart-md5': m['opc-multipart-md5'], etag: m.etag, 'last-modified': m['time-created'], ...Object.fromEntries(Object.entries(m.metadata).map(([k, v]) => [`opc-meta-${k}`, v])) }, null, 2)}\n`);
    break;
  }
  case 'os object list': {
    const b = opts.bucket as string;
    needBucket(b);
    const names = readdirSync(join(bucketDir(b), 'objects')).filter((f) => !f.endsWith('.meta') && !f.endsWith('.tmp')).map(decodeURIComponent).filter((n) => !opts.prefix || n.startsWith(opts.prefix)).sort();
    const limit = opts.all ? Infinity : Number(opts.limit ?? 1000);
    const data = names.slice(0, limit).map((n) => {
      const m = readMeta(b, n) as Meta;
      return { name: n, size: m.size, md5: m.md5 || null, 'time-created': m['time-created'], etag: m.etag };
    });
    if (data.length) out(`${JSON.stringify({ data, prefixes: [] }, null, 2)}\n`);
    break;
  }
  case 'os object delete': {
    const b = opts.bucket as string;
    needBucket(b);
    if (!readMeta(b, opts.name as string)) objectNotFound(b, opts.name as string);
    if (!opts.force) {
      process.stderr.write('Are you sure you want to delete this resource? [y/N]: ');
      process.stderr.write('Aborted!\n');
      process.exit(1);
    }
    rmSync(objPath(b, opts.name as string));
    rmSync(`${objPath(b, opts.name as string)}.meta`);
    break;
  }
}
void statSync;
