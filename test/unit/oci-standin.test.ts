// The OCI CLI test stand-in itself: it must behave like the real CLI for the subset the runbooks
// use, and reject what the real one rejects, or tests against it prove nothing.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeEach, describe, expect, it } from 'vitest';

const BIN = new URL('../standins/oci/bin', import.meta.url).pathname;
let root: string;
let env: NodeJS.ProcessEnv;

const oci = (args: string[], o: { input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}) =>
  execa(join(BIN, 'oci'), args, { env: { ...env, ...o.env }, extendEnv: false, reject: false, timeout: 20_000, ...(o.input === undefined ? { stdin: 'ignore' as const } : { input: o.input }) });
const json = (s: string) => JSON.parse(s) as Record<string, unknown>;
const serviceError = (stderr: string) => {
  expect(stderr).toMatch(/^ServiceError:\n\{/);
  return json(stderr.slice(stderr.indexOf('{')));
};
const md5 = (b: string | Buffer) => createHash('md5').update(b).digest('base64');
const calls = () => readFileSync(join(root, 'calls.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { argv: string[]; auth: string });
const file = (name: string, content: string) => {
  const p = join(root, name);
  writeFileSync(p, content);
  return p;
};

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'oci-standin-'));
  env = { PATH: process.env.PATH, HOME: process.env.HOME, OCI_STANDIN_ROOT: root };
  const r = await oci(['os', 'bucket', 'create', '--name', 'b', '--compartment-id', 'ocid1.compartment.oc1..x']);
  expect(r.exitCode, r.stderr).toBe(0);
});

describe('oci stand-in', () => {
  it('put, head, list, get round trip with MD5s', async () => {
    const f = file('a.txt', 'hello world\n');
    const put = await oci(['os', 'object', 'put', '-bn', 'b', '--name', 'dir/a.txt', '--file', f, '--content-md5', md5('hello world\n'), '--metadata', '{"origin":"test"}']);
    expect(put.exitCode, put.stderr).toBe(0);
    const p = json(put.stdout);
    expect(Object.keys(p).sort()).toEqual(['etag', 'last-modified', 'opc-content-md5']);
    expect(p['opc-content-md5']).toBe(md5('hello world\n'));

    const head = json((await oci(['os', 'object', 'head', '--bucket-name', 'b', '--name', 'dir/a.txt'])).stdout);
    expect(head).toMatchObject({ 'content-length': '12', 'content-md5': md5('hello world\n'), etag: p.etag, 'opc-meta-origin': 'test' });

    await oci(['os', 'object', 'put', '-bn', 'b', '--name', 'dir/sub/b', '--file', f]);
    await oci(['os', 'object', 'put', '-bn', 'b', '--name', 'other', '--file', f]);
    const list = json((await oci(['os', 'object', 'list', '-bn', 'b', '--prefix', 'dir/', '--all', '--fields', 'name,size,md5,timeCreated'])).stdout);
    expect(list.prefixes).toEqual([]);
    const data = list.data as Record<string, unknown>[];
    expect(data.map((d) => d.name)).toEqual(['dir/a.txt', 'dir/sub/b']);
    expect(data[0]).toMatchObject({ name: 'dir/a.txt', size: 12, md5: md5('hello world\n'), etag: null, 'storage-tier': null });
    expect(data[0]?.['time-created']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);

    const delim = json((await oci(['os', 'object', 'list', '-bn', 'b', '--prefix', 'dir/', '--delimiter', '/'])).stdout);
    expect(delim.prefixes).toEqual(['dir/sub/']);

    const out = join(root, 'out.txt');
    const get = await oci(['os', 'object', 'get', '-bn', 'b', '--name', 'dir/a.txt', '--file', out]);
    expect(get.exitCode, get.stderr).toBe(0);
    expect(get.stdout).toBe('');
    expect(readFileSync(out, 'utf8')).toBe('hello world\n');
    const toStdout = await execa(join(BIN, 'oci'), ['os', 'object', 'get', '-bn', 'b', '--name', 'dir/a.txt', '--file', '-'], { env, extendEnv: false, stripFinalNewline: false, stdin: 'ignore' });
    expect(toStdout.stdout).toBe('hello world\n');
  }, 60_000);

  it('an empty listing has prefixes and no data key', async () => {
    const r = await oci(['os', 'object', 'list', '-bn', 'b']);
    expect(r.exitCode).toBe(0);
    expect(json(r.stdout)).toEqual({ prefixes: [] });
  }, 30_000);

  it('put on an existing object without --force or --no-overwrite asks, and aborts when stdin is closed', async () => {
    const f = file('a', 'one');
    await oci(['os', 'object', 'put', '-bn', 'b', '--file', f]);
    writeFileSync(f, 'two');
    const r = await oci(['os', 'object', 'put', '-bn', 'b', '--file', f]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain('WARNING: This object already exists. Are you sure you want to overwrite it? [y/N]:');
    expect(r.stderr).toBe('Aborted!');
    expect((await oci(['os', 'object', 'get', '-bn', 'b', '--name', 'a', '--file', '-'])).stdout).toBe('one');
    const yes = await oci(['os', 'object', 'put', '-bn', 'b', '--file', f], { input: 'y\n' });
    expect(yes.exitCode, yes.stderr).toBe(0);
    expect((await oci(['os', 'object', 'get', '-bn', 'b', '--name', 'a', '--file', '-'])).stdout).toBe('two');
  }, 60_000);

  it('--no-overwrite skips an existing object with exit 0; --force replaces it', async () => {
    const f = file('a', 'one');
    expect((await oci(['os', 'object', 'put', '-bn', 'b', '--file', f, '--no-overwrite'])).exitCode).toBe(0);
    writeFileSync(f, 'two');
    const skip = await oci(['os', 'object', 'put', '-bn', 'b', '--file', f, '--no-overwrite']);
    expect(skip.exitCode).toBe(0);
    expect(skip.stdout).toBe('');
    expect(skip.stderr).toBe('The object already exists and was not overwritten');
    expect((await oci(['os', 'object', 'get', '-bn', 'b', '--name', 'a', '--file', '-'])).stdout).toBe('one');
    const force = await oci(['os', 'object', 'put', '-bn', 'b', '--file', f, '--force']);
    expect(force.exitCode, force.stderr).toBe(0);
    expect(json(force.stdout)['opc-content-md5']).toBe(md5('two'));
    expect((await oci(['os', 'object', 'get', '-bn', 'b', '--name', 'a', '--file', '-'])).stdout).toBe('two');
  }, 60_000);

  it('stdin uploads are multipart: opc-multipart-md5, no content-md5', async () => {
    const r = await oci(['os', 'object', 'put', '-bn', 'b', '--name', 's', '--file', '-'], { input: 'streamed' });
    expect(r.exitCode, r.stderr).toBe(0);
    const partMd5 = createHash('md5').update(createHash('md5').update('streamed').digest()).digest('base64');
    expect(json(r.stdout)['opc-multipart-md5']).toBe(`${partMd5}-1`);
    const head = json((await oci(['os', 'object', 'head', '-bn', 'b', '--name', 's'])).stdout);
    expect(head['content-md5']).toBeUndefined();
    expect(head['opc-multipart-md5']).toBe(`${partMd5}-1`);
    const noName = await oci(['os', 'object', 'put', '-bn', 'b', '--file', '-'], { input: 'x' });
    expect(noName.exitCode).toBe(2);
    expect(noName.stderr).toContain('Option "--name" must be provided when reading object from stdin');
  }, 30_000);

  it('a wrong --content-md5 is refused with a 400 and nothing is stored', async () => {
    const f = file('a', 'abc');
    const r = await oci(['os', 'object', 'put', '-bn', 'b', '--file', f, '--content-md5', md5('xyz'), '--force']);
    expect(r.exitCode).toBe(1);
    expect(serviceError(r.stderr)).toMatchObject({ status: 400, code: 'UnmatchedContentMD5' });
    expect(json((await oci(['os', 'object', 'list', '-bn', 'b'])).stdout)).toEqual({ prefixes: [] });
  }, 30_000);

  it('usage errors exit 2 like click; missing required options exit 1', async () => {
    const foo = await oci(['os', 'object', 'list', '-bn', 'b', '--foo']);
    expect(foo.exitCode).toBe(2);
    expect(foo.stderr).toBe('Usage: oci os object list [OPTIONS]\n\nError: No such option: --foo');
    const cmd = await oci(['os', 'object', 'lst', '-bn', 'b']);
    expect(cmd.exitCode).toBe(2);
    expect(cmd.stderr).toContain("Error: No such command 'lst'.");
    const auth = await oci(['os', 'ns', 'get', '--auth', 'password']);
    expect(auth.exitCode).toBe(2);
    expect(auth.stderr).toContain("Error: Invalid value for '--auth': 'password' is not one of 'api_key', 'instance_principal', 'security_token'");
    const envAuth = await oci(['os', 'ns', 'get'], { env: { OCI_CLI_AUTH: 'nope' } });
    expect(envAuth.exitCode).toBe(2);
    expect(envAuth.stderr).toContain('Invalid value for OCI_CLI_AUTH: invalid choice: nope.');
    const output = await oci(['os', 'ns', 'get', '--output', 'yaml']);
    expect(output.exitCode).toBe(2);
    const missingFile = await oci(['os', 'object', 'put', '-bn', 'b', '--file', join(root, 'nope')]);
    expect(missingFile.exitCode).toBe(2);
    expect(missingFile.stderr).toContain(`Error: Invalid value for '--file': '${join(root, 'nope')}': No such file or directory`);
    const missing = await oci(['os', 'object', 'get', '--name', 'x', '--file', '-']);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain('Error: Missing option(s) --bucket-name.');
    // Global options are accepted anywhere on the line, as the real root group does.
    const anywhere = await oci(['--auth', 'instance_principal', 'os', 'ns', 'get', '--profile', 'X', '--region', 'eu-frankfurt-1']);
    expect(anywhere.exitCode, anywhere.stderr).toBe(0);
  }, 60_000);

  it('404 shapes: GET errors carry a code, HEAD errors cannot', async () => {
    const noBucket = await oci(['os', 'object', 'list', '-bn', 'nope']);
    expect(noBucket.exitCode).toBe(1);
    expect(serviceError(noBucket.stderr)).toMatchObject({ status: 404, code: 'BucketNotFound', operation_name: 'list_objects', target_service: 'object_storage' });
    const bucketGet = await oci(['os', 'bucket', 'get', '--bucket-name', 'nope']);
    expect(serviceError(bucketGet.stderr)).toMatchObject({ status: 404, code: 'BucketNotFound' });
    const head = await oci(['os', 'object', 'head', '-bn', 'b', '--name', 'nope']);
    expect(head.exitCode).toBe(1);
    expect(serviceError(head.stderr)).toMatchObject({ status: 404, code: null, message: 'The service returned error code 404' });
    // get opens (truncates) --file before it finds out the object is missing, as click.File does.
    const out = file('kept.txt', 'previous');
    const get = await oci(['os', 'object', 'get', '-bn', 'b', '--name', 'nope', '--file', out]);
    expect(get.exitCode).toBe(1);
    expect(serviceError(get.stderr)).toMatchObject({ status: 404 });
    expect(readFileSync(out, 'utf8')).toBe('');
    const del = await oci(['os', 'object', 'delete', '-bn', 'b', '--name', 'nope', '--force']);
    expect(serviceError(del.stderr)).toMatchObject({ status: 404, code: 'ObjectNotFound' });
    const dup = await oci(['os', 'bucket', 'create', '--name', 'b', '--compartment-id', 'c']);
    expect(serviceError(dup.stderr)).toMatchObject({ status: 409, code: 'BucketAlreadyExists' });
  }, 60_000);

  it('delete asks unless --force', async () => {
    await oci(['os', 'object', 'put', '-bn', 'b', '--file', file('a', 'x')]);
    const ask = await oci(['os', 'object', 'delete', '-bn', 'b', '--name', 'a']);
    expect(ask.exitCode).toBe(1);
    expect(ask.stdout).toContain('Are you sure you want to delete this resource? [y/N]:');
    expect((await oci(['os', 'object', 'head', '-bn', 'b', '--name', 'a'])).exitCode).toBe(0);
    const del = await oci(['os', 'object', 'delete', '-bn', 'b', '--object-name', 'a', '--force']);
    expect(del.exitCode, del.stderr).toBe(0);
    expect(del.stdout).toBe('');
    expect((await oci(['os', 'object', 'head', '-bn', 'b', '--name', 'a'])).exitCode).toBe(1);
  }, 60_000);

  it('fault injection counts down across processes, and the file records it', async () => {
    const faults = join(root, 'faults.json');
    writeFileSync(faults, JSON.stringify([{ match: 'os object put', status: 429, code: 'TooManyRequests', times: 2 }]));
    const f = file('a', 'x');
    const args = ['os', 'object', 'put', '-bn', 'b', '--file', f, '--force'];
    const e = { OCI_STANDIN_FAULTS: faults };
    const first = await oci(args, { env: e });
    expect(first.exitCode).toBe(1);
    expect(serviceError(first.stderr)).toMatchObject({ status: 429, code: 'TooManyRequests' });
    expect((await oci(args, { env: e })).exitCode).toBe(1);
    const third = await oci(args, { env: e });
    expect(third.exitCode, third.stderr).toBe(0);
    expect(JSON.parse(readFileSync(faults, 'utf8'))).toEqual([{ match: 'os object put', status: 429, code: 'TooManyRequests', times: 0 }]);
    expect(existsSync(`${faults}.lock`)).toBe(false);
  }, 60_000);

  it('a hang fault delays the call', async () => {
    const faults = join(root, 'faults.json');
    writeFileSync(faults, JSON.stringify([{ match: 'os ns get', hang_ms: 1500, times: 1 }]));
    const t0 = Date.now();
    const r = await oci(['os', 'ns', 'get'], { env: { OCI_STANDIN_FAULTS: faults } });
    expect(r.exitCode).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1500);
  }, 30_000);

  it('denials: a command prefix gets the IAM 404, auth:<mode> gets a 401', async () => {
    const deny = await oci(['os', 'object', 'list', '-bn', 'b'], { env: { OCI_STANDIN_DENY: 'os object' } });
    expect(serviceError(deny.stderr)).toMatchObject({ status: 404, code: 'BucketNotFound' });
    const ns = await oci(['os', 'ns', 'get'], { env: { OCI_STANDIN_DENY: 'os ns get' } });
    expect(serviceError(ns.stderr)).toMatchObject({ status: 404, code: 'NotAuthorizedOrNotFound' });
    const e = { OCI_STANDIN_DENY: 'auth:instance_principal' };
    expect((await oci(['os', 'ns', 'get', '--auth', 'api_key'], { env: e })).exitCode).toBe(0);
    const r = await oci(['os', 'ns', 'get'], { env: { ...e, OCI_CLI_AUTH: 'instance_principal' } });
    expect(serviceError(r.stderr)).toMatchObject({ status: 401, code: 'NotAuthenticated' });
  }, 30_000);

  it('calls.log records every invocation with its auth mode', async () => {
    await oci(['os', 'ns', 'get', '--auth', 'resource_principal']);
    await oci(['os', 'ns', 'get'], { env: { OCI_CLI_AUTH: 'security_token' } });
    await oci(['os', 'ns', 'get', '--bogus']);
    const log = calls();
    expect(log.slice(-3)).toEqual([
      { argv: ['os', 'ns', 'get', '--auth', 'resource_principal'], auth: 'resource_principal', at: expect.any(String) },
      { argv: ['os', 'ns', 'get'], auth: 'security_token', at: expect.any(String) },
      { argv: ['os', 'ns', 'get', '--bogus'], auth: 'api_key', at: expect.any(String) },
    ]);
  }, 30_000);

  it('--query evaluates field paths and refuses the rest', async () => {
    const raw = await oci(['os', 'ns', 'get', '--query', 'data', '--raw-output']);
    expect(raw.stdout).toBe('standin-ns');
    const bad = await oci(['os', 'ns', 'get', '--query', 'length(data)']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('not supported by the OCI CLI test stand-in');
  }, 30_000);
});
