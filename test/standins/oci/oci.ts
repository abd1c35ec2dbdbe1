// TEST STAND-IN, NOT THE PRODUCT.
//
// The real OCI CLI (Python, click) cannot be installed or reach OCI here. This `oci` implements
// the Object Storage subset the runbooks call, over a local directory, and (cloud-commands.ts) the
// compute-management, compute, load balancer, Vault, secrets and IAM commands the TriviaPay
// runbooks call, over the state the stand-in cloud (cloud.ts) acts on. It copies the real CLI's
// observable behaviour for that subset (read from oracle/oci-cli: cli_root.py, cli_util.py,
// cli_exceptions.py, objectstorage_cli_extended.py, generated/objectstorage_cli.py; and
// oracle/oci-python-sdk: exceptions.py, base_client.py, upload_manager.py):
//   - global options are accepted anywhere on the line (the root group is interspersed and
//     ignores unknown options); --auth / OCI_CLI_AUTH / --output are click choices;
//   - click usage errors exit 2; missing required options and bad --metadata JSON exit 1
//     (the real CLI reports those through sys.exit(message));
//   - service errors print "ServiceError:" and the SDK's error dict (indent 4, sorted), exit 1;
//     HEAD requests carry no body, so their errors have "code": null;
//   - `object put` heads the object first unless --force; an existing object with --no-overwrite
//     is skipped (stderr note, exit 0); without either flag it asks on stdout and reads a line
//     from stdin: EOF or no -> "Aborted!", exit 1. Uploads from stdin, and files over 128 MiB,
//     are multipart (opc-multipart-md5, --content-md5 ignored);
//   - `object get` opens (truncates) --file before it looks the object up;
//   - `object delete` without --force asks the same way.
// Node built-ins only: the bundle also runs on Node 18 inside the test VM.
//
//   OCI_STANDIN_ROOT    storage directory (required): namespace, buckets/<b>/objects/<encoded name>,
//                       buckets/<b>/meta/<encoded name>.json, calls.log (one JSON line per call)
//   OCI_STANDIN_FAULTS  JSON file: [{"match": "os object put", "status": 429, "code": "TooManyRequests", "times": 2},
//                       {"match": "compute-management instance-pool update", "argv": "--size", "status": 500,
//                        "code": "InternalError", "message": "Out of host capacity.", "times": 2},
//                       {"match": "os ns get", "hang_ms": 5000, "times": 1}]; counters are written
//                       back to the file, so they count across processes (no "times": every call)
//   OCI_STANDIN_DENY    comma list: command prefixes answered 404 (BucketNotFound for bucket
//                       operations, else NotAuthorizedOrNotFound), or "auth:<mode>" answered 401
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, renameSync, rmSync, rmdirSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { CloudCmd } from './cloud-commands.ts';
import { CLOUD_GROUPS } from './cloud-groups.ts';
import { CLI_VERSION, Exit, aborted, exit, httpDate, pyJson, pyTime, requestId, sleep, usageError, usageExit1, writeAll, writeErr, writeOut } from './cli-io.ts';

const AUTH_CHOICES = ['api_key', 'instance_principal', 'security_token', 'instance_obo_user', 'resource_principal', 'oke_workload_identity'];
const MIB = 1024 * 1024;
const PART_SIZE = 128 * MIB; // oci.object_storage.transfer.constants.DEFAULT_PART_SIZE
const STREAM_PART_SIZE = 10 * MIB; // STREAMING_DEFAULT_PART_SIZE

// ---------------------------------------------------------------------------------------------
// Command table (option names as the real CLI declares them; the first name is the canonical one)

interface Opt {
  names: string[];
  key: string;
  flag?: boolean;
  required?: boolean; // reported as "Missing option(s) --<param name>." with exit 1
  choices?: string[]; // case-insensitive choice
  multiple?: boolean;
  int?: boolean;
  bool?: boolean; // click.BOOL
  complex?: boolean; // JSON or file://
}
interface Cmd {
  path: string; // "os object put"
  op: string; // SDK operation name, for ServiceError
  opts: Opt[];
}
const NS: Opt = { names: ['-ns', '--namespace', '--namespace-name'], key: 'namespace' };
const NS_GEN: Opt = { names: ['--namespace-name', '--namespace', '-ns'], key: 'namespace' };
const BN: Opt = { names: ['-bn', '--bucket-name'], key: 'bucket-name', required: true };
const common = (o: Opt[]): Opt[] => [...o, { names: ['--from-json'], key: 'from-json' }];
const COMMANDS: Cmd[] = [
  { path: 'os ns get', op: 'get_namespace', opts: common([{ names: ['--compartment-id'], key: 'compartment-id' }]) },
  {
    path: 'os bucket get',
    op: 'get_bucket',
    opts: common([NS_GEN, { names: ['--bucket-name', '--name', '-bn'], key: 'bucket-name', required: true }, { names: ['--if-match'], key: 'if-match' }, { names: ['--if-none-match'], key: 'if-none-match' }, { names: ['--fields'], key: 'fields', multiple: true, choices: ['approximateCount', 'approximateSize', 'autoTiering'] }]),
  },
  {
    path: 'os bucket create',
    op: 'create_bucket',
    opts: common([
      NS_GEN,
      { names: ['--name'], key: 'name', required: true },
      { names: ['--compartment-id'], key: 'compartment-id', required: true },
      { names: ['--metadata'], key: 'metadata' },
      { names: ['--public-access-type'], key: 'public-access-type', choices: ['NoPublicAccess', 'ObjectRead', 'ObjectReadWithoutList'] },
      { names: ['--storage-tier'], key: 'storage-tier', choices: ['Standard', 'Archive'] },
      { names: ['--versioning'], key: 'versioning', choices: ['Enabled', 'Disabled'] },
      { names: ['--kms-key-id'], key: 'kms-key-id' },
      { names: ['--freeform-tags'], key: 'freeform-tags' },
      { names: ['--defined-tags'], key: 'defined-tags' },
    ]),
  },
  {
    path: 'os object put',
    op: 'put_object',
    opts: common([
      NS,
      BN,
      { names: ['--file'], key: 'file', required: true },
      { names: ['--name'], key: 'name' },
      { names: ['--if-match'], key: 'if-match' },
      { names: ['--content-md5'], key: 'content-md5' },
      { names: ['--metadata'], key: 'metadata' },
      { names: ['--content-type'], key: 'content-type' },
      { names: ['--content-language'], key: 'content-language' },
      { names: ['--content-encoding'], key: 'content-encoding' },
      { names: ['--content-disposition'], key: 'content-disposition' },
      { names: ['--cache-control'], key: 'cache-control' },
      { names: ['--force'], key: 'force', flag: true },
      { names: ['--no-overwrite'], key: 'no-overwrite', flag: true },
      { names: ['--no-multipart'], key: 'no-multipart', flag: true },
      { names: ['--part-size'], key: 'part-size', int: true },
      { names: ['--disable-parallel-uploads'], key: 'disable-parallel-uploads', flag: true },
      { names: ['--parallel-upload-count'], key: 'parallel-upload-count', int: true },
      { names: ['--verify-checksum'], key: 'verify-checksum', flag: true },
      { names: ['--storage-tier'], key: 'storage-tier', choices: ['Standard', 'InfrequentAccess', 'Archive'] },
    ]),
  },
  {
    path: 'os object get',
    op: 'get_object',
    opts: common([NS, BN, { names: ['--name'], key: 'name', required: true }, { names: ['--file'], key: 'file', required: true }, { names: ['--version-id'], key: 'version-id' }, { names: ['--if-match'], key: 'if-match' }, { names: ['--if-none-match'], key: 'if-none-match' }, { names: ['--range'], key: 'range' }, { names: ['--multipart-download-threshold'], key: 'multipart-download-threshold', int: true }, { names: ['--part-size'], key: 'part-size', int: true }, { names: ['--parallel-download-count'], key: 'parallel-download-count', int: true }, { names: ['--no-multipart'], key: 'no-multipart', flag: true }]),
  },
  {
    path: 'os object head',
    op: 'head_object',
    opts: common([NS, BN, { names: ['--name'], key: 'name', required: true }, { names: ['--version-id'], key: 'version-id' }, { names: ['--if-match'], key: 'if-match' }, { names: ['--if-none-match'], key: 'if-none-match' }]),
  },
  {
    path: 'os object list',
    op: 'list_objects',
    opts: common([NS, BN, { names: ['--prefix'], key: 'prefix' }, { names: ['--start'], key: 'start' }, { names: ['--end'], key: 'end' }, { names: ['--limit'], key: 'limit', int: true }, { names: ['--page-size'], key: 'page-size', int: true }, { names: ['--all'], key: 'all', flag: true }, { names: ['--delimiter'], key: 'delimiter' }, { names: ['--fields'], key: 'fields' }, { names: ['--stream-output'], key: 'stream-output', flag: true }]),
  },
  {
    path: 'os object delete',
    op: 'delete_object',
    opts: common([NS_GEN, { names: ['--bucket-name', '-bn'], key: 'bucket-name', required: true }, { names: ['--object-name', '--name'], key: 'object-name', required: true }, { names: ['--if-match'], key: 'if-match' }, { names: ['--version-id'], key: 'version-id' }, { names: ['--force'], key: 'force', flag: true }]),
  },
];
// Bucket rules: read by the backup runbooks' bucket check; put/create let tests set them up.
COMMANDS.push(
  { path: 'os object-lifecycle-policy get', op: 'get_object_lifecycle_policy', opts: common([NS_GEN, { names: ['--bucket-name', '-bn'], key: 'bucket-name', required: true }]) },
  { path: 'os object-lifecycle-policy put', op: 'put_object_lifecycle_policy', opts: common([NS_GEN, { names: ['--bucket-name', '-bn'], key: 'bucket-name', required: true }, { names: ['--items'], key: 'items' }, { names: ['--if-match'], key: 'if-match' }, { names: ['--if-none-match'], key: 'if-none-match' }, { names: ['--force'], key: 'force', flag: true }]) },
  { path: 'os retention-rule list', op: 'list_retention_rules', opts: common([NS_GEN, { names: ['--bucket-name', '-bn'], key: 'bucket-name', required: true }, { names: ['--page'], key: 'page' }, { names: ['--all'], key: 'all', flag: true }, { names: ['--page-size'], key: 'page-size', int: true }]) },
  { path: 'os retention-rule create', op: 'create_retention_rule', opts: common([NS_GEN, { names: ['--bucket-name', '-bn'], key: 'bucket-name', required: true }, { names: ['--display-name'], key: 'display-name' }, { names: ['--time-amount'], key: 'time-amount', int: true }, { names: ['--time-unit'], key: 'time-unit', choices: ['YEARS', 'DAYS'] }, { names: ['--time-rule-locked'], key: 'time-rule-locked' }]) },
);
const GROUPS: Record<string, string[]> = {
  ...CLOUD_GROUPS,
  '': ['os', ...(CLOUD_GROUPS[''] as string[])],
  os: ['ns', 'bucket', 'object', 'object-lifecycle-policy', 'retention-rule'],
  'os object-lifecycle-policy': ['get', 'put'],
  'os retention-rule': ['list', 'create'],
  'os ns': ['get'],
  'os bucket': ['get', 'create'],
  'os object': ['put', 'get', 'head', 'list', 'delete'],
};
// Root options (cli_root.py); the root group parses them wherever they appear.
const GLOBAL_VALUE: Record<string, string> = {
  '--config-file': 'config-file',
  '--profile': 'profile',
  '--cli-rc-file': 'cli-rc-file',
  '--defaults-file': 'cli-rc-file',
  '--opc-request-id': 'request-id',
  '--opc-client-request-id': 'request-id',
  '--request-id': 'request-id',
  '--region': 'region',
  '--endpoint': 'endpoint',
  '--connection-timeout': 'connection-timeout',
  '--federation-endpoint': 'federation-endpoint',
  '--read-timeout': 'read-timeout',
  '--cert-bundle': 'cert-bundle',
  '--output': 'output',
  '--query': 'query',
  '--auth': 'auth',
  '--auth-purpose': 'auth-purpose',
  '--generate-param-json-input': 'generate-param-json-input',
  '--proxy': 'proxy',
  '--max-retries': 'max-retries',
  '--enable-propagation': 'enable-propagation',
};
const GLOBAL_FLAG: Record<string, string> = {
  '--release-info': 'release-info',
  '--latest-version': 'latest-version',
  '--realm-specific-endpoint': 'realm-specific-endpoint',
  '--enable-dual-stack': 'enable-dual-stack',
  '--raw-output': 'raw-output',
  '--generate-full-command-json-input': 'generate-full-command-json-input',
  '--no-retry': 'no-retry',
  '-d': 'debug',
  '--debug': 'debug',
  '-i': 'cli-auto-prompt',
  '--cli-auto-prompt': 'cli-auto-prompt',
  '-?': 'help',
  '-h': 'help',
  '--help': 'help',
  '-v': 'version',
  '--version': 'version',
};

// ---------------------------------------------------------------------------------------------
// Parsing

const splitEq = (a: string): [string, string | undefined] => (a.startsWith('-') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined]);

interface Parsed {
  global: Record<string, string>;
  rest: string[];
}
function parseRoot(argv: string[]): Parsed {
  const global: Record<string, string> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const [name, inline] = splitEq(a);
    if (GLOBAL_VALUE[name]) {
      const v = inline ?? argv[++i];
      if (v === undefined) usageError('oci [OPTIONS] COMMAND [ARGS]...', `Option '${name}' requires an argument.`);
      global[GLOBAL_VALUE[name] as string] = v as string;
    } else if (GLOBAL_FLAG[name] && inline === undefined) global[GLOBAL_FLAG[name] as string] = 'true';
    else rest.push(a);
  }
  return { global, rest };
}

function resolveCommand(rest: string[]): { cmd: Cmd; args: string[] } {
  let path = '';
  let i = 0;
  for (;;) {
    const group = GROUPS[path];
    if (!group) break;
    const usage = `oci${path ? ` ${path}` : ''} [OPTIONS] COMMAND [ARGS]...`;
    const w = rest[i];
    if (w === undefined) usageError(usage, 'Missing command.');
    if ((w as string).startsWith('-')) usageError(usage, `No such option: ${splitEq(w as string)[0]}`);
    if (!group.includes(w as string)) usageError(usage, `No such command '${w}'.`);
    path = path ? `${path} ${w}` : (w as string);
    i++;
  }
  const cmd = (COMMANDS.find((c) => c.path === path) ?? cloud?.CLOUD_COMMANDS.find((c) => c.path === path)) as Cmd;
  return { cmd, args: rest.slice(i) };
}

const BOOL_WORDS = ['1', 'true', 't', 'yes', 'y', 'on', '0', 'false', 'f', 'no', 'n', 'off'];

function parseLeaf(cmd: Cmd, args: string[]): Record<string, string | string[]> {
  const usage = `oci ${cmd.path} [OPTIONS]`;
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (!a.startsWith('-') || a === '-') usageError(usage, `Got unexpected extra argument (${a})`);
    const [name, inline] = splitEq(a);
    const o = cmd.opts.find((x) => x.names.includes(name));
    if (!o) usageError(usage, `No such option: ${name}`);
    const opt = o as Opt;
    if (opt.flag) {
      if (inline !== undefined) usageError(usage, `Option '${name}' does not take a value.`);
      out[opt.key] = 'true';
      continue;
    }
    const v = inline ?? args[++i];
    if (v === undefined) usageError(usage, `Option '${name}' requires an argument.`);
    let val = v as string;
    if (opt.int && !/^[+-]?\d+$/.test(val.trim())) usageError(usage, `Invalid value for '${name}': '${val}' is not a valid integer.`);
    if (opt.bool && !BOOL_WORDS.includes(val.trim().toLowerCase())) usageError(usage, `Invalid value for '${name}': '${val}' is not a valid boolean.`);
    if (opt.choices) {
      const hit = opt.choices.find((c) => c.toLowerCase() === val.toLowerCase());
      if (!hit) usageError(usage, `Invalid value for '${name}': '${val}' is not one of ${opt.choices.map((c) => `'${c}'`).join(', ')}.`);
      val = hit as string;
    }
    if (opt.multiple) out[opt.key] = [...((out[opt.key] as string[] | undefined) ?? []), val];
    else out[opt.key] = val;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// stdin

let stdinEof = false;
/**
 * `object put --file -`: stdin read ahead asynchronously (epoll, not sync reads that sleep on
 * EAGAIN), so a large streamed upload moves at pipe speed. Unlike the real CLI, the stand-in
 * then reads all of stdin even when --no-overwrite skips the upload; callers see the same result.
 */
let stdinAhead: Buffer | null = null;
function takeLineAhead(): string | null {
  const b = stdinAhead as Buffer;
  if (!b.length) return null;
  const i = b.indexOf(0x0a);
  const line = b.subarray(0, i < 0 ? b.length : i).toString('utf8');
  stdinAhead = b.subarray(i < 0 ? b.length : i + 1);
  return line;
}
/** One line from stdin, as Python's input() reads it; null at end of input. */
function readStdinLine(): string | null {
  if (stdinAhead) return takeLineAhead();
  if (stdinEof) return null;
  const bytes: number[] = [];
  const b = Buffer.alloc(1);
  for (;;) {
    let n: number;
    try {
      n = readSync(0, b, 0, 1, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        sleep(5);
        continue;
      }
      if (code === 'EOF' || code === 'EBADF' || code === 'ENXIO') n = 0;
      else throw e;
    }
    if (n === 0) {
      stdinEof = true;
      return bytes.length ? Buffer.from(bytes).toString('utf8') : null;
    }
    if (b[0] === 0x0a) return Buffer.from(bytes).toString('utf8');
    bytes.push(b[0] as number);
  }
}
function readStdinAll(): Buffer {
  if (stdinAhead) {
    const b = stdinAhead;
    stdinAhead = Buffer.alloc(0);
    return b;
  }
  if (stdinEof) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  const b = Buffer.alloc(1 << 20);
  for (;;) {
    let n: number;
    try {
      n = readSync(0, b, 0, b.length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        sleep(5);
        continue;
      }
      if (code === 'EOF' || code === 'EBADF' || code === 'ENXIO') n = 0;
      else throw e;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(b.subarray(0, n)));
  }
  stdinEof = true;
  return Buffer.concat(chunks);
}
/** click.confirm(text) with default False: the prompt goes to stdout, the answer comes from stdin. */
function confirm(text: string): boolean {
  for (;;) {
    writeOut(`${text} [y/N]: `);
    const line = readStdinLine();
    if (line === null) return aborted();
    const v = line.trim().toLowerCase();
    if (v === 'y' || v === 'yes') return true;
    if (v === 'n' || v === 'no' || v === '') return false;
    writeOut('Error: invalid input\n');
  }
}

// ---------------------------------------------------------------------------------------------
// Main

function main(args: string[]): void {
  const root = process.env.OCI_STANDIN_ROOT;
  if (!root) {
    writeErr('oci (test stand-in): OCI_STANDIN_ROOT is not set\n');
    return exit(70);
  }
  mkdirSync(root, { recursive: true });
  const { global, rest } = parseRoot(args);
  const envAuth = process.env.OCI_CLI_AUTH;
  const auth = global.auth ?? envAuth ?? 'api_key';
  appendFileSync(join(root, 'calls.log'), `${JSON.stringify({ argv: args, auth, at: new Date().toISOString() })}\n`);

  // Root option conversion errors come first (click converts the root's params before anything else).
  const rootUsage = 'oci [OPTIONS] COMMAND [ARGS]...';
  if (global.auth !== undefined && !AUTH_CHOICES.includes(global.auth)) usageError(rootUsage, `Invalid value for '--auth': '${global.auth}' is not one of ${AUTH_CHOICES.map((c) => `'${c}'`).join(', ')}.`);
  if (global.output !== undefined && !['json', 'table'].includes(global.output)) usageError(rootUsage, `Invalid value for '--output': '${global.output}' is not one of 'json', 'table'.`);
  for (const k of ['connection-timeout', 'read-timeout', 'max-retries']) if (global[k] !== undefined && !/^[+-]?\d+$/.test((global[k] as string).trim())) usageError(rootUsage, `Invalid value for '--${k}': '${global[k]}' is not a valid integer.`);
  if (global.version) {
    writeOut('3.0.0+standin\n');
    return;
  }
  if (global.help) {
    writeOut(`Usage: ${rest.length ? `oci ${rest.filter((w) => !w.startsWith('-')).join(' ')}` : 'oci'} [OPTIONS] ...\n\n  OCI CLI test stand-in (Object Storage subset): ${COMMANDS.map((c) => c.path).join(', ')}\n`);
    return;
  }
  const { cmd, args: leafArgs } = resolveCommand(rest);
  // The root callback: OCI_CLI_AUTH is checked when --auth is absent.
  if (global.auth === undefined && envAuth !== undefined && !AUTH_CHOICES.includes(envAuth)) usageError(rootUsage, `Invalid value for OCI_CLI_AUTH: invalid choice: ${envAuth}. (choose from ${AUTH_CHOICES.join(', ')})`);
  if (global.query !== undefined) compileQuery(global.query); // rejects what the stand-in cannot evaluate
  const o = parseLeaf(cmd, leafArgs);
  const usage = `oci ${cmd.path} [OPTIONS]`;
  const str = (k: string) => o[k] as string | undefined;

  // click.File params are opened while parsing, before the command body runs.
  let putFd: number | undefined;
  let getFd: number | undefined;
  if (cmd.path === 'os object put' && str('file') !== undefined && str('file') !== '-') {
    try {
      putFd = openSync(str('file') as string, 'r');
      if (fstatSync(putFd).isDirectory()) {
        closeSync(putFd);
        throw Object.assign(new Error('Is a directory'), { code: 'EISDIR' });
      }
    } catch (e) {
      usageError(usage, `Invalid value for '--file': '${str('file')}': ${strerror(e)}`);
    }
  }
  if (cmd.path === 'os object get' && str('file') !== undefined && str('file') !== '-') {
    try {
      getFd = openSync(str('file') as string, 'w');
    } catch (e) {
      usageError(usage, `Invalid value for '--file': '${str('file')}': ${strerror(e)}`);
    }
  }
  if (str('from-json') !== undefined) fromJson(cmd, o, str('from-json') as string);
  // wrap_exceptions: missing required options (exit 1), then the delete confirmation.
  const missing = cmd.opts.filter((x) => x.required && o[x.key] === undefined).map((x) => `--${x.key}`);
  if (missing.length) usageExit1(usage, `Missing option(s) ${missing.join(', ')}.`);
  if (cmd.path === 'os object delete' && !o.force && !confirm('Are you sure you want to delete this resource?')) aborted();

  if (cloud?.CLOUD_COMMANDS.includes(cmd as CloudCmd)) {
    const region = global.region ?? process.env.OCI_CLI_REGION ?? 'us-ashburn-1';
    return cloud.runCloudCommand(cmd as CloudCmd, o, {
      root,
      region,
      render: (data, headers) => renderOut(data, headers, global),
      confirm,
      fault: (fail) => {
        const f = takeFault(cmd.path);
        if (f?.hang_ms) sleep(f.hang_ms);
        else if (f) fail(f.status ?? 500, f.code ?? 'InternalServerError', f.message ?? 'injected fault (test stand-in)');
        for (const d of (process.env.OCI_STANDIN_DENY ?? '').split(',').map((x) => x.trim()).filter(Boolean)) {
          if (d === `auth:${auth}`) fail(401, 'NotAuthenticated', 'The required information to complete authentication was not provided or was incorrect.');
          if (cmd.path === d || cmd.path.startsWith(`${d} `)) fail(404, 'NotAuthorizedOrNotFound', 'Authorization failed or requested resource not found.');
        }
      },
    });
  }
  const store = new Store(root, cmd, auth, global);
  const render = (data: unknown, headers?: Record<string, unknown>) => renderOut(data, headers, global);
  switch (cmd.path) {
    case 'os ns get':
      store.call('GET', '/n/');
      return render(store.namespace);
    case 'os bucket create': {
      const name = str('name') as string;
      const ns = store.ns(str('namespace'));
      store.call('POST', `/n/${ns}/b/`);
      const metadata = str('metadata') === undefined ? undefined : parseJsonParam('metadata', str('metadata') as string);
      const b = store.createBucket(name, { compartment: str('compartment-id') as string, metadata, versioning: str('versioning'), storageTier: str('storage-tier'), publicAccessType: str('public-access-type') });
      return render(bucketModel(b, ns), { etag: b.etag });
    }
    case 'os bucket get': {
      const bn = str('bucket-name') as string;
      const ns = store.ns(str('namespace'));
      store.call('GET', `/n/${ns}/b/${bn}`, bn);
      const b = store.bucket(bn);
      const fields = (o.fields as string[] | undefined) ?? [];
      const model = bucketModel(b, ns);
      if (fields.includes('approximateCount') || fields.includes('approximateSize')) {
        const objs = store.objects(bn);
        if (fields.includes('approximateCount')) model['approximate-count'] = objs.length;
        if (fields.includes('approximateSize')) model['approximate-size'] = objs.reduce((s, x) => s + x.meta.size, 0);
      }
      if (fields.includes('autoTiering')) model['auto-tiering'] = 'Disabled';
      return render(model, { etag: b.etag });
    }
    case 'os object put':
      return put(store, o, usage, putFd, global);
    case 'os object get': {
      const bn = str('bucket-name') as string;
      const name = str('name') as string;
      const ns = store.ns(str('namespace'));
      const path = `/n/${ns}/b/${bn}/o/${encodeURIComponent(name)}`;
      store.call('HEAD', path, bn);
      const m = store.head(bn, name, path);
      store.call('GET', path, bn, { later: true });
      let data = store.read(bn, name);
      const range = str('range');
      if (range !== undefined) {
        const r = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
        if (!r || (r[1] === '' && r[2] === '')) return store.fail(400, 'InvalidRange', `The range '${range}' is not valid`, 'GET', path);
        const start = r[1] === '' ? Math.max(0, m.size - Number(r[2])) : Number(r[1]);
        const end = r[1] === '' || r[2] === '' ? m.size - 1 : Math.min(Number(r[2]), m.size - 1);
        if (start >= m.size) return store.fail(416, 'InvalidRange', `The requested range is not satisfiable for an object of size ${m.size}`, 'GET', path);
        data = data.subarray(start, end + 1);
      }
      // To stdout asynchronously: sync writes to a non-blocking pipe would sleep on every EAGAIN.
      if (getFd === undefined) process.stdout.write(data);
      else {
        writeAll(getFd, data);
        closeSync(getFd);
      }
      return;
    }
    case 'os object head': {
      const bn = str('bucket-name') as string;
      const name = str('name') as string;
      const ns = store.ns(str('namespace'));
      const path = `/n/${ns}/b/${bn}/o/${encodeURIComponent(name)}`;
      store.call('HEAD', path, bn);
      const m = store.head(bn, name, path);
      return render(undefined, headHeaders(m));
    }
    case 'os object list':
      return list(store, o, usage, global);
    case 'os object-lifecycle-policy get': {
      const bn = str('bucket-name') as string;
      const ns = store.ns(str('namespace'));
      const path = `/n/${ns}/b/${bn}/l`;
      store.call('GET', path, bn);
      store.bucket(bn, 'GET', path);
      const f = join(store.bucketDir(bn), 'lifecycle.json');
      if (!existsSync(f)) return store.fail(404, 'LifecyclePolicyNotFound', `There is no lifecycle policy for the bucket '${bn}'`, 'GET', path);
      const pol = JSON.parse(readFileSync(f, 'utf8')) as { items: Record<string, unknown>[]; 'time-created': string; etag: string };
      return render({ items: pol.items, 'time-created': pol['time-created'] }, { etag: pol.etag });
    }
    case 'os object-lifecycle-policy put': {
      const bn = str('bucket-name') as string;
      const ns = store.ns(str('namespace'));
      const path = `/n/${ns}/b/${bn}/l`;
      if (!o.force && !confirm('WARNING: Lifecycle policy will be replaced. Are you sure you want to continue?')) aborted();
      store.call('PUT', path, bn);
      store.bucket(bn, 'PUT', path);
      const items = lifecycleItems(str('items') ?? '[]');
      const pol = { items, 'time-created': pyTime(new Date().toISOString()), etag: randomUUID() };
      writeFileSync(join(store.bucketDir(bn), 'lifecycle.json'), JSON.stringify(pol));
      return render({ items, 'time-created': pol['time-created'] }, { etag: pol.etag });
    }
    case 'os retention-rule list': {
      const bn = str('bucket-name') as string;
      const ns = store.ns(str('namespace'));
      const path = `/n/${ns}/b/${bn}/retentionRules`;
      store.call('GET', path, bn);
      store.bucket(bn, 'GET', path);
      const f = join(store.bucketDir(bn), 'retention.json');
      const rules = existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>[]) : [];
      // Most recently created first, as the service sorts them; the collection is printed even when empty.
      return render({ items: [...rules].reverse() });
    }
    case 'os retention-rule create': {
      const bn = str('bucket-name') as string;
      const ns = store.ns(str('namespace'));
      const path = `/n/${ns}/b/${bn}/retentionRules`;
      store.call('POST', path, bn);
      store.bucket(bn, 'POST', path);
      const amount = o['time-amount'] as string | undefined;
      const unit = str('time-unit');
      if ((amount === undefined) !== (unit === undefined)) return store.fail(400, 'InvalidParameter', 'A retention rule duration needs both timeAmount and timeUnit', 'POST', path);
      const now = pyTime(new Date().toISOString());
      const rule = {
        'display-name': str('display-name') ?? `retention-rule-${now}`,
        duration: amount === undefined ? null : { 'time-amount': Number(amount), 'time-unit': (unit as string).toUpperCase() },
        etag: randomUUID(),
        id: randomUUID(),
        'time-created': now,
        'time-modified': now,
        'time-rule-locked': str('time-rule-locked') ?? null,
      };
      const f = join(store.bucketDir(bn), 'retention.json');
      const rules = existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>[]) : [];
      writeFileSync(f, JSON.stringify([...rules, rule]));
      return render(rule, { etag: rule.etag });
    }
    case 'os object delete': {
      const bn = str('bucket-name') as string;
      const name = str('object-name') as string;
      const ns = store.ns(str('namespace'));
      const path = `/n/${ns}/b/${bn}/o/${encodeURIComponent(name)}`;
      store.call('DELETE', path, bn);
      store.bucket(bn, 'DELETE', path);
      if (!store.meta(bn, name)) return store.fail(404, 'ObjectNotFound', `The object '${name}' was not found in the bucket '${bn}'`, 'DELETE', path);
      store.remove(bn, name);
      return; // the response has no body and no displayed headers: nothing is printed
    }
  }
}

/**
 * --from-json (json_skeleton_utils.cli_json_input_callback): file:// only; each top-level key,
 * camelCase or kebab-case, becomes the option's default; options on the command line win.
 */
function fromJson(cmd: Cmd, o: Record<string, string | string[]>, ref: string): void {
  const usage = `oci ${cmd.path} [OPTIONS]`;
  if (!ref.startsWith('file://')) usageError(usage, `Invalid value for '--from-json': ${ref} is not a file:// reference`);
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(ref.slice('file://'.length), 'utf8')) as unknown;
  } catch (e) {
    writeErr(`Error: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : 'the --from-json file is not JSON'}: ${ref.slice('file://'.length)}\n`);
    return exit(1);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) usageError(usage, 'Invalid value for \'--from-json\': the JSON must be an object');
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const key = k.replace(/_/g, '-').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    const opt = cmd.opts.find((p) => p.key === key);
    if (!opt || o[key] !== undefined) continue;
    const text = (y: unknown) => (typeof y === 'string' ? y : JSON.stringify(y));
    o[key] = opt.multiple && Array.isArray(x) ? x.map(text) : text(x);
  }
}

/** `--items` of `object-lifecycle-policy put`: the API's camelCase rules, printed back in kebab-case with every field. */
function lifecycleItems(text: string): Record<string, unknown>[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
    if (!Array.isArray(v)) throw new Error('not a list');
  } catch {
    writeErr(`Parameter 'items' must be in JSON format.\n`);
    return exit(1);
  }
  return (v as Record<string, unknown>[]).map((r) => {
    const f = r.objectNameFilter as Record<string, unknown> | null | undefined;
    return {
      action: r.action ?? null,
      'is-enabled': r.isEnabled ?? null,
      name: r.name ?? null,
      'object-name-filter': f ? { 'exclusion-patterns': f.exclusionPatterns ?? null, 'inclusion-patterns': f.inclusionPatterns ?? null, 'inclusion-prefixes': f.inclusionPrefixes ?? null } : null,
      target: r.target ?? null,
      'time-amount': r.timeAmount ?? null,
      'time-unit': r.timeUnit ?? null,
    };
  });
}

const strerror = (e: unknown): string => {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'No such file or directory' : code === 'EACCES' ? 'Permission denied' : code === 'EISDIR' ? 'Is a directory' : code === 'ENOTDIR' ? 'Not a directory' : String((e as Error).message);
};

function parseJsonParam(name: string, text: string): Record<string, string> {
  try {
    const v = JSON.parse(text) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, String(x)]));
  } catch {
    writeErr(`Parameter '${name}' must be in JSON format.\nFor help with formatting JSON input see our documentation here: https://docs.cloud.oracle.com/iaas/Content/API/SDKDocs/cliusing.htm#ManagingCLIInputandOutput\n`);
    return exit(1);
  }
}

// ---------------------------------------------------------------------------------------------
// Storage

interface ObjMeta {
  name: string;
  size: number;
  md5: string | null; // base64 MD5 of the content; null for multipart uploads
  'opc-multipart-md5'?: string;
  etag: string;
  'time-created': string;
  'time-modified': string;
  'content-type': string;
  'storage-tier': string;
  'opc-meta': Record<string, string>;
  headers?: Record<string, string>; // content-language etc.
}
interface BucketMeta {
  name: string;
  'compartment-id': string;
  'time-created': string;
  etag: string;
  metadata: Record<string, string>;
  versioning: string;
  'storage-tier': string;
  'public-access-type': string;
}

class Store {
  readonly namespace: string;
  readonly #region: string;
  constructor(
    readonly root: string,
    readonly cmd: Cmd,
    readonly auth: string,
    global: Record<string, string>,
  ) {
    const f = join(root, 'namespace');
    this.namespace = existsSync(f) ? readFileSync(f, 'utf8').trim() || 'standin-ns' : 'standin-ns';
    this.#region = global.region ?? process.env.OCI_CLI_REGION ?? 'us-ashburn-1';
  }

  /** A service error as the CLI prints it. HEAD responses have no body: no code, a generic message. */
  fail(status: number, code: string | null, message: string, method: string, path: string): never {
    const head = method === 'HEAD';
    const err = {
      client_version: CLI_VERSION,
      code: head ? null : code,
      logging_tips: 'Please run the OCI CLI command using --debug flag to find more debug information.',
      message: head ? `The service returned error code ${status}` : message,
      'opc-request-id': requestId(),
      operation_name: head ? 'head_object' : this.cmd.op,
      request_endpoint: `${method} https://objectstorage.${this.#region}.oraclecloud.com${path}`,
      status,
      target_service: 'object_storage',
      timestamp: pyTime(new Date().toISOString()),
      troubleshooting_tips: 'See [https://docs.oracle.com/iaas/Content/API/References/apierrors.htm] for more information about resolving this error. If you are unable to resolve this issue, run this CLI command with --debug option and contact Oracle support and provide them the full error message.',
    };
    writeErr(`ServiceError:\n${pyJson(err, 4)}\n`);
    return exit(1);
  }

  #faultsChecked = false;
  /** One HTTP request: applies injected faults (first request of the command only) and denials. */
  call(method: string, path: string, bucket?: string, o: { later?: boolean; ignore404?: boolean } = {}): void {
    if (!o.later && !this.#faultsChecked) {
      this.#faultsChecked = true;
      const f = takeFault(this.cmd.path);
      if (f?.hang_ms) sleep(f.hang_ms);
      else if (f && !(o.ignore404 && f.status === 404)) this.fail(f.status ?? 500, f.code ?? 'InternalServerError', f.message ?? 'injected fault (test stand-in)', method, path);
    }
    for (const d of (process.env.OCI_STANDIN_DENY ?? '').split(',').map((x) => x.trim()).filter(Boolean)) {
      if (d === `auth:${this.auth}`) this.fail(401, 'NotAuthenticated', 'The required information to complete authentication was not provided or was incorrect.', method, path);
      if (!o.ignore404 && (this.cmd.path === d || this.cmd.path.startsWith(`${d} `))) {
        if (bucket !== undefined) this.fail(404, 'BucketNotFound', `Either the bucket named '${bucket}' does not exist in the namespace '${this.namespace}' or you are not authorized to access it`, method, path);
        this.fail(404, 'NotAuthorizedOrNotFound', 'Authorization failed or requested resource not found.', method, path);
      }
    }
  }

  ns(given: string | undefined): string {
    if (given !== undefined && given.trim() === '') usageError(`oci ${this.cmd.path} [OPTIONS]`, 'Parameter --namespace-name cannot be whitespace or empty string');
    if (given !== undefined && given !== this.namespace) this.fail(404, 'NamespaceNotFound', `You do not have authorization to perform this request, or the requested resource could not be found.`, this.cmd.path === 'os object head' || this.cmd.path === 'os object get' ? 'HEAD' : 'GET', `/n/${given}`);
    return this.namespace;
  }

  #bdir = (b: string) => join(this.root, 'buckets', b);
  #odir = (b: string) => join(this.#bdir(b), 'objects');
  #mdir = (b: string) => join(this.#bdir(b), 'meta');
  #opath = (b: string, n: string) => join(this.#odir(b), encodeURIComponent(n));
  #mpath = (b: string, n: string) => join(this.#mdir(b), `${encodeURIComponent(n)}.json`);

  createBucket(name: string, o: { compartment: string; metadata?: Record<string, string>; versioning?: string; storageTier?: string; publicAccessType?: string }): BucketMeta {
    if (!/^[A-Za-z0-9._-]{1,256}$/.test(name)) this.fail(400, 'InvalidBucketName', `The bucket name '${name}' is not valid`, 'POST', `/n/${this.namespace}/b/`);
    if (existsSync(this.#bdir(name))) this.fail(409, 'BucketAlreadyExists', `Either the bucket '${name}' in namespace '${this.namespace}' already exists or you are not authorized to create it`, 'POST', `/n/${this.namespace}/b/`);
    mkdirSync(this.#odir(name), { recursive: true });
    mkdirSync(this.#mdir(name), { recursive: true });
    const b: BucketMeta = { name, 'compartment-id': o.compartment, 'time-created': new Date().toISOString(), etag: randomUUID(), metadata: o.metadata ?? {}, versioning: o.versioning ?? 'Disabled', 'storage-tier': o.storageTier ?? 'Standard', 'public-access-type': o.publicAccessType ?? 'NoPublicAccess' };
    writeFileSync(join(this.#bdir(name), 'bucket.json'), JSON.stringify(b));
    return b;
  }
  bucket(name: string, method = 'GET', path = `/n/${this.namespace}/b/${name}`): BucketMeta {
    const dir = this.#bdir(name);
    if (!existsSync(dir)) this.fail(404, 'BucketNotFound', `Either the bucket named '${name}' does not exist in the namespace '${this.namespace}' or you are not authorized to access it`, method, path);
    const f = join(dir, 'bucket.json');
    if (existsSync(f)) return JSON.parse(readFileSync(f, 'utf8')) as BucketMeta;
    const t = statSync(dir).birthtime.toISOString();
    return { name, 'compartment-id': 'ocid1.compartment.oc1..standin', 'time-created': t, etag: 'standin', metadata: {}, versioning: 'Disabled', 'storage-tier': 'Standard', 'public-access-type': 'NoPublicAccess' };
  }
  bucketDir(b: string): string {
    return this.#bdir(b);
  }
  hasBucket(b: string): boolean {
    return existsSync(this.#bdir(b));
  }
  meta(b: string, n: string): ObjMeta | null {
    const f = this.#mpath(b, n);
    if (!existsSync(f) || !existsSync(this.#opath(b, n))) return null;
    const m = JSON.parse(readFileSync(f, 'utf8')) as ObjMeta;
    // The content file may be edited behind the stand-in's back (tests corrupt objects): the size follows it.
    return { ...m, size: statSync(this.#opath(b, n)).size };
  }
  head(b: string, n: string, path: string): ObjMeta {
    this.bucket(b, 'HEAD', path);
    return this.meta(b, n) ?? this.fail(404, 'ObjectNotFound', `The object '${n}' was not found in the bucket '${b}'`, 'HEAD', path);
  }
  read(b: string, n: string): Buffer {
    return readFileSync(this.#opath(b, n));
  }
  objects(b: string): { name: string; meta: ObjMeta }[] {
    const dir = this.#mdir(b);
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => decodeURIComponent(f.slice(0, -'.json'.length)))
      .map((name) => ({ name, meta: this.meta(b, name) }))
      .filter((x): x is { name: string; meta: ObjMeta } => x.meta !== null)
      .sort((a, c) => (Buffer.compare(Buffer.from(a.name), Buffer.from(c.name))));
  }
  write(b: string, n: string, content: Buffer | { fd: number }, meta: ObjMeta): void {
    mkdirSync(this.#odir(b), { recursive: true });
    mkdirSync(this.#mdir(b), { recursive: true });
    const tmp = `${this.#opath(b, n)}.${process.pid}.tmp`;
    if (Buffer.isBuffer(content)) writeFileSync(tmp, content);
    else {
      const out = openSync(tmp, 'w');
      const buf = Buffer.alloc(8 * MIB);
      for (let pos = 0; ; ) {
        const got = readSync(content.fd, buf, 0, buf.length, pos);
        if (got === 0) break;
        writeAll(out, buf.subarray(0, got));
        pos += got;
      }
      closeSync(out);
    }
    renameSync(tmp, this.#opath(b, n));
    const mtmp = `${this.#mpath(b, n)}.${process.pid}.tmp`;
    writeFileSync(mtmp, JSON.stringify(meta));
    renameSync(mtmp, this.#mpath(b, n));
  }
  remove(b: string, n: string): void {
    rmSync(this.#opath(b, n), { force: true });
    rmSync(this.#mpath(b, n), { force: true });
  }
}

function bucketModel(b: BucketMeta, ns: string): Record<string, unknown> {
  return {
    'approximate-count': null,
    'approximate-size': null,
    'auto-tiering': null,
    'bucket-scope': null,
    'compartment-id': b['compartment-id'],
    'created-by': 'ocid1.user.oc1..standin',
    'defined-tags': {},
    etag: b.etag,
    'freeform-tags': {},
    id: `ocid1.bucket.oc1..standin${createHash('sha1').update(b.name).digest('hex').slice(0, 20)}`,
    'is-bucket-key-enabled': null,
    'is-read-only': false,
    'kms-key-id': null,
    metadata: b.metadata,
    name: b.name,
    namespace: ns,
    'object-events-enabled': false,
    'object-lifecycle-policy-etag': null,
    'public-access-type': b['public-access-type'],
    'replication-enabled': false,
    'storage-tier': b['storage-tier'],
    'time-created': pyTime(b['time-created']),
    versioning: b.versioning,
  };
}

function headHeaders(m: ObjMeta): Record<string, string> {
  return {
    'accept-ranges': 'bytes',
    'content-length': String(m.size),
    ...(m.md5 ? { 'content-md5': m.md5 } : {}),
    ...(m['opc-multipart-md5'] ? { 'opc-multipart-md5': m['opc-multipart-md5'] } : {}),
    'content-type': m['content-type'],
    date: new Date().toUTCString(),
    etag: m.etag,
    'last-modified': httpDate(m['time-modified']),
    'opc-client-request-id': randomBytes(16).toString('hex').toUpperCase(),
    'opc-request-id': requestId(),
    'storage-tier': m['storage-tier'],
    'version-id': randomUUID(),
    'x-api-id': 'native',
    ...(m.headers ?? {}),
    ...Object.fromEntries(Object.entries(m['opc-meta']).map(([k, v]) => [`opc-meta-${k.toLowerCase()}`, v])),
  };
}

// ---------------------------------------------------------------------------------------------
// object put

/** MD5s as Object Storage reports them: whole content, or the multipart form base64(md5(part md5s))-<parts>. */
function hashParts(read: (buf: Buffer, pos: number) => number, size: number, partSize: number): { md5: string; multipart: string; parts: number } {
  const whole = createHash('md5');
  const partDigests: Buffer[] = [];
  const buf = Buffer.alloc(Math.min(8 * MIB, Math.max(1, partSize)));
  let part = createHash('md5');
  let inPart = 0;
  for (let pos = 0; pos < size; ) {
    const want = Math.min(buf.length, partSize - inPart, size - pos);
    const got = read(buf.subarray(0, want), pos);
    if (got === 0) break;
    const chunk = buf.subarray(0, got);
    whole.update(chunk);
    part.update(chunk);
    inPart += got;
    pos += got;
    if (inPart === partSize) {
      partDigests.push(part.digest());
      part = createHash('md5');
      inPart = 0;
    }
  }
  if (inPart > 0) partDigests.push(part.digest());
  const parts = partDigests.length;
  return { md5: whole.digest('base64'), multipart: `${createHash('md5').update(Buffer.concat(partDigests)).digest('base64')}-${parts}`, parts };
}

function guessType(name: string): string | undefined {
  const ext = name.toLowerCase().split('.').pop() ?? '';
  const map: Record<string, string> = { txt: 'text/plain', json: 'application/json', html: 'text/html', gz: 'application/gzip', tar: 'application/x-tar', zip: 'application/zip', log: 'text/plain' };
  return map[ext];
}

function put(store: Store, o: Record<string, string | string[]>, usage: string, fd: number | undefined, global: Record<string, string>): void {
  const str = (k: string) => o[k] as string | undefined;
  const bn = str('bucket-name') as string;
  const fromStdin = str('file') === '-';
  if (str('parallel-upload-count') !== undefined && o['disable-parallel-uploads']) usageError(usage, 'The option --parallel-upload-count is not applicable when using the --disable-parallel-uploads flag.');
  if (str('parallel-upload-count') !== undefined && o['no-multipart']) usageError(usage, 'The option --parallel-upload-count is not applicable when using the --no-multipart flag.');
  if (!str('name') && fromStdin) usageError(usage, 'Option "--name" must be provided when reading object from stdin');
  const name = str('name') ?? basename(str('file') as string);
  if (str('part-size') !== undefined && o['no-multipart']) usageError(usage, 'The option --part-size is not applicable when using the --no-multipart flag.');
  const ns = store.ns(str('namespace'));
  const path = `/n/${ns}/b/${bn}/o/${encodeURIComponent(name)}`;

  let first = true;
  if (!o.force) {
    // get_object_etag: a HEAD whose 404 (of any kind) means "does not exist".
    store.call('HEAD', path, bn, { ignore404: true });
    first = false;
    const exists = store.hasBucket(bn) ? store.meta(bn, name) : null;
    if (exists) {
      if (o['no-overwrite']) {
        writeErr('The object already exists and was not overwritten\n');
        return;
      }
      if (!confirm('WARNING: This object already exists. Are you sure you want to overwrite it?')) aborted();
    }
  }
  const metadata = str('metadata') === undefined ? {} : parseJsonParam('metadata', str('metadata') as string);
  let contentType = str('content-type');
  if (contentType === 'auto') contentType = guessType(fromStdin ? name : (str('file') as string));
  const extra: Record<string, string> = {};
  for (const k of ['content-language', 'content-encoding', 'content-disposition', 'cache-control']) if (str(k) !== undefined) extra[k] = str(k) as string;

  let size: number;
  let content: Buffer | { fd: number };
  let multipart: boolean;
  let partSize: number;
  if (fromStdin) {
    if (o['no-multipart']) usageError(usage, 'The --no-multipart flag is not valid when taking input from STDIN.');
    const data = readStdinAll();
    content = data;
    size = data.length;
    partSize = str('part-size') !== undefined ? Number(str('part-size')) * MIB : STREAM_PART_SIZE;
    multipart = size > 0; // upload_stream: a non-empty stream is always a multipart upload
  } else {
    size = fstatSync(fd as number).size;
    content = { fd: fd as number };
    partSize = str('part-size') !== undefined ? Number(str('part-size')) * MIB : PART_SIZE;
    multipart = size > 0 && !o['no-multipart'] && partSize < size;
  }
  if (multipart && !fromStdin && str('content-md5') !== undefined) writeErr('Warning: The --content-md5 option cannot be used with multipart uploads. It will be ignored.\n');
  const reader = Buffer.isBuffer(content) ? (buf: Buffer, pos: number) => (content as Buffer).copy(buf, 0, pos, pos + buf.length) : (buf: Buffer, pos: number) => readSync(fd as number, buf, 0, buf.length, pos);
  const h = hashParts(reader, size, partSize);

  const method = multipart ? 'POST' : 'PUT';
  const reqPath = multipart ? `/n/${ns}/b/${bn}/u` : path;
  store.call(method, reqPath, bn, { later: !first });
  store.bucket(bn, method, reqPath);
  const md5Arg = str('content-md5');
  if (!multipart && md5Arg !== undefined && md5Arg !== h.md5) store.fail(400, 'UnmatchedContentMD5', `The computed MD5 of the request body (${h.md5}) does not match the Content-MD5 header (${md5Arg})`, 'PUT', path);
  if (str('if-match') !== undefined) {
    const cur = store.meta(bn, name);
    if (!cur || cur.etag !== str('if-match')) store.fail(412, 'IfMatchFailed', 'The If-Match header does not match the current ETag of the object', method, path);
  }
  if (multipart && !fromStdin) {
    writeErr(`Upload ID: ${randomUUID()}\n`);
    writeErr(`Split file into ${h.parts} parts for upload.\n`);
  }
  const now = new Date().toISOString();
  const meta: ObjMeta = {
    name,
    size,
    md5: multipart ? null : h.md5,
    ...(multipart ? { 'opc-multipart-md5': h.multipart } : {}),
    etag: randomUUID(),
    'time-created': now,
    'time-modified': now,
    'content-type': contentType ?? 'application/octet-stream',
    'storage-tier': str('storage-tier') ?? 'Standard',
    'opc-meta': metadata,
    headers: extra,
  };
  store.write(bn, name, content, meta);
  if (fd !== undefined) closeSync(fd);
  const headers: Record<string, string> = { etag: meta.etag, 'last-modified': httpDate(now), ...(multipart ? { 'opc-multipart-md5': h.multipart } : { 'opc-content-md5': h.md5 }) };
  renderOut(undefined, headers, global);
  if (o['verify-checksum']) {
    writeErr(multipart ? `Multipart MD5 checksum matches: ${h.multipart}\n` : `MD5 checksum matches: ${h.md5}\n`);
  }
}

// ---------------------------------------------------------------------------------------------
// object list

const FIELD_KEYS: Record<string, string> = { name: 'name', size: 'size', etag: 'etag', md5: 'md5', timecreated: 'time-created', timemodified: 'time-modified', storagetier: 'storage-tier', archivalstate: 'archival-state' };

function list(store: Store, o: Record<string, string | string[]>, usage: string, global: Record<string, string>): void {
  const str = (k: string) => o[k] as string | undefined;
  if (o.all && str('limit') !== undefined) usageError(usage, 'If you provide the --all option you cannot provide the --limit option');
  const bn = str('bucket-name') as string;
  const ns = store.ns(str('namespace'));
  const path = `/n/${ns}/b/${bn}/o`;
  store.call('GET', path, bn);
  store.bucket(bn, 'GET', path);
  const fieldsArg = str('fields') ?? 'name,size,etag,md5,timeCreated,timeModified,storageTier,archivalState';
  const fields = new Set<string>(['name']);
  for (const f of fieldsArg.split(',').map((x) => x.trim()).filter(Boolean)) {
    const k = FIELD_KEYS[f.toLowerCase()];
    if (!k) store.fail(400, 'InvalidParameter', `Invalid fields value '${f}'; valid values are name, size, etag, md5, timeCreated, timeModified, storageTier, archivalState`, 'GET', path);
    fields.add(k as string);
  }
  const delimiter = str('delimiter');
  if (delimiter !== undefined && delimiter !== '/') store.fail(400, 'InvalidParameter', "Only '/' is a supported delimiter", 'GET', path);
  const prefix = str('prefix') ?? '';
  const limit = o.all ? Infinity : str('limit') !== undefined ? Number(str('limit')) : 100;
  const prefixes: string[] = [];
  const items: Record<string, unknown>[] = [];
  let nextStart: string | undefined;
  for (const { name, meta: m } of store.objects(bn)) {
    if (!name.startsWith(prefix)) continue;
    if (str('start') !== undefined && name < (str('start') as string)) continue;
    if (str('end') !== undefined && name >= (str('end') as string)) continue;
    if (delimiter) {
      const i = name.indexOf(delimiter, prefix.length);
      if (i >= 0) {
        const p = name.slice(0, i + 1);
        if (!prefixes.includes(p)) prefixes.push(p);
        continue;
      }
    }
    if (items.length >= limit) {
      nextStart = name;
      break;
    }
    const all: Record<string, unknown> = {
      'archival-state': null,
      etag: m.etag,
      md5: m.md5 ?? m['opc-multipart-md5'] ?? null,
      name,
      size: m.size,
      'storage-tier': m['storage-tier'],
      'time-created': pyTime(m['time-created']),
      'time-modified': pyTime(m['time-modified']),
    };
    items.push(Object.fromEntries(Object.entries(all).map(([k, v]) => [k, fields.has(k) ? v : null])));
  }
  const metadata: Record<string, unknown> = { prefixes };
  if (nextStart !== undefined) metadata['next-start-with'] = nextStart;
  renderOut(items.length ? items : undefined, metadata, global, true);
}

// ---------------------------------------------------------------------------------------------
// Rendering (cli_util.render) and a small JMESPath subset for --query

function renderOut(data: unknown, headers: Record<string, unknown> | undefined, global: Record<string, string>, allHeaders = true): void {
  const display: Record<string, unknown> = {};
  if (data !== undefined && data !== null && !(Array.isArray(data) && data.length === 0)) display.data = data;
  if (headers && allHeaders) for (const [k, v] of Object.entries(headers)) display[k.toLowerCase()] = v;
  if (!Object.keys(display).length) return;
  let out: unknown = display;
  if (global.query !== undefined) {
    out = compileQuery(global.query)(display);
    if (out === null || out === undefined) {
      writeErr('Query returned empty result, no output to show.\n');
      return;
    }
  }
  if ((global.output ?? 'json') === 'table') return writeOut(table(out && typeof out === 'object' && 'data' in (out as object) && global.query === undefined ? (out as Record<string, unknown>).data : out));
  if (global['raw-output'] && typeof out === 'string') return writeOut(`${out}\n`);
  writeOut(`${pyJson(out, 2)}\n`);
}

function table(v: unknown): string {
  const rows: Record<string, unknown>[] = Array.isArray(v) ? v.map((r) => (r && typeof r === 'object' ? (r as Record<string, unknown>) : { Column1: r })) : v && typeof v === 'object' ? [v as Record<string, unknown>] : [{ Column1: v }];
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))].sort();
  const cell = (x: unknown) => (x === null || x === undefined ? '' : typeof x === 'object' ? JSON.stringify(x) : String(x));
  const w = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const sep = `+${w.map((n) => '-'.repeat(n + 2)).join('+')}+\n`;
  const line = (vals: string[]) => `| ${vals.map((s, i) => s.padEnd(w[i] as number)).join(' | ')} |\n`;
  return sep + line(cols) + sep + rows.map((r) => line(cols.map((c) => cell(r[c])))).join('') + sep;
}

type Query = (v: unknown) => unknown;
/** Dotted fields ("data", data.name, data."time-created"), [N], [] / [*] projections. Anything else is refused. */
function compileQuery(q: string): Query {
  const steps: ({ kind: 'field'; name: string } | { kind: 'index'; i: number } | { kind: 'project' })[] = [];
  const re = /\s*(?:(\.)?\s*(?:([A-Za-z_][A-Za-z0-9_]*)|"((?:[^"\\]|\\.)*)")|\[\s*(-?\d+)\s*\]|\[\s*\*?\s*\])/y;
  let pos = 0;
  while (pos < q.trim().length) {
    re.lastIndex = pos;
    const m = re.exec(q.trim());
    if (!m || (steps.length > 0 && (m[2] !== undefined || m[3] !== undefined) && m[1] === undefined) || (steps.length === 0 && m[1] !== undefined)) {
      writeErr(`Error: the --query expression '${q}' is not supported by the OCI CLI test stand-in (it evaluates field paths, [N] and [] only)\n`);
      return exit(2);
    }
    if (m[2] !== undefined) steps.push({ kind: 'field', name: m[2] });
    else if (m[3] !== undefined) steps.push({ kind: 'field', name: JSON.parse(`"${m[3]}"`) as string });
    else if (m[4] !== undefined) steps.push({ kind: 'index', i: Number(m[4]) });
    else steps.push({ kind: 'project' });
    pos = re.lastIndex;
  }
  const run = (v: unknown, i: number): unknown => {
    if (i >= steps.length || v === null || v === undefined) return v ?? null;
    const s = steps[i] as (typeof steps)[number];
    if (s.kind === 'field') return v && typeof v === 'object' && !Array.isArray(v) ? run((v as Record<string, unknown>)[s.name], i + 1) : null;
    if (s.kind === 'index') return Array.isArray(v) ? run(v.at(s.i), i + 1) : null;
    if (!Array.isArray(v)) return null;
    return v.map((x) => run(x, i + 1)).filter((x) => x !== null);
  };
  return (v) => run(v, 0);
}

// ---------------------------------------------------------------------------------------------
// Fault injection

interface Fault {
  match: string;
  status?: number;
  code?: string;
  message?: string;
  hang_ms?: number;
  times?: number;
  /** Only when the command line holds this word (e.g. "--size"). */
  argv?: string;
}
/** Takes one matching fault from OCI_STANDIN_FAULTS, under a lock so parallel calls count correctly. */
function takeFault(cmdPath: string, argv: string[] = process.argv.slice(2)): Fault | undefined {
  const file = process.env.OCI_STANDIN_FAULTS;
  if (!file || !existsSync(file)) return undefined;
  const lock = `${file}.lock`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (Date.now() > deadline) rmdirSync(lock); // a holder died: take it over
      else sleep(10);
    }
  }
  try {
    const faults = JSON.parse(readFileSync(file, 'utf8')) as Fault[];
    const f = faults.find((x) => (cmdPath === x.match || cmdPath.startsWith(`${x.match} `)) && (x.argv === undefined || argv.includes(x.argv)) && (x.times === undefined || x.times > 0));
    if (f && f.times !== undefined) {
      f.times--;
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(faults, null, 2));
      renameSync(tmp, file);
    }
    return f ? { ...f } : undefined;
  } finally {
    rmdirSync(lock);
  }
}

// ---------------------------------------------------------------------------------------------
// Entry point (last, so every class and constant above is initialised)

// The compute, load balancer, Vault and IAM commands load only when a call names one of them.
const cloud: typeof import('./cloud-commands.ts') | null = process.argv.slice(2).some((a) => (CLOUD_GROUPS[''] as string[]).includes(a)) ? await import('./cloud-commands.ts') : null;
try {
  const argv = process.argv.slice(2);
  const fileAt = argv.indexOf('--file');
  if (argv.includes('put') && fileAt >= 0 && argv[fileAt + 1] === '-') {
    const parts: Buffer[] = [];
    for await (const c of process.stdin) parts.push(c as Buffer);
    stdinAhead = Buffer.concat(parts);
  }
  main(argv);
  process.exitCode = 0;
} catch (e) {
  if (e instanceof Exit) process.exitCode = e.code;
  else {
    writeErr(`oci (test stand-in) internal error: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 70;
  }
}
