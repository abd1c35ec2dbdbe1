// The OCI CLI wrapper against the stand-in `oci` on PATH: JSON, retries only for retryable
// failures, error mapping, auth pass-through, never a prompt.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { RunbookError } from '../../lib/core/errors.ts';
import { OciCli, isRetryable, parseServiceError } from '../../lib/oci/cli.ts';

const BIN = new URL('../standins/oci/bin', import.meta.url).pathname;
let root: string;
let env: NodeJS.ProcessEnv;
const calls = () => readFileSync(join(root, 'calls.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { argv: string[]; auth: string });
const faults = (f: object[]) => {
  const p = join(root, 'faults.json');
  writeFileSync(p, JSON.stringify(f));
  env.OCI_STANDIN_FAULTS = p;
};
const oci = (o: Partial<ConstructorParameters<typeof OciCli>[0]> = {}) => new OciCli({ env, deadlineMs: 20_000, attemptTimeoutMs: 15_000, ...o });

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'oci-'));
  env = { ...process.env, PATH: `${BIN}:${process.env.PATH}`, OCI_STANDIN_ROOT: root };
  await oci().json(['os', 'bucket', 'create', '--name', 'backups', '--compartment-id', 'ocid1.compartment.oc1..x']);
});

describe('OciCli', () => {
  it('parses JSON and passes the auth mode and profile through', async () => {
    expect(await oci({ auth: 'instance_principal', profile: 'PROD' }).namespace()).toBe('standin-ns');
    const last = calls().at(-1);
    expect(last?.auth).toBe('instance_principal');
    expect(last?.argv).toEqual(['os', 'ns', 'get', '--auth', 'instance_principal', '--profile', 'PROD']);
  }, 30_000);

  it('put always says whether to overwrite: keep never prompts and never replaces', async () => {
    const f = join(root, 'a.txt');
    writeFileSync(f, 'first');
    await oci().putObject({ bucket: 'backups', name: 'a', file: f, ifExists: 'keep' });
    writeFileSync(f, 'second');
    await oci().putObject({ bucket: 'backups', name: 'a', file: f, ifExists: 'keep' });
    const out = join(root, 'out.txt');
    await oci().getObject({ bucket: 'backups', name: 'a', file: out });
    expect(readFileSync(out, 'utf8')).toBe('first');
    await oci().putObject({ bucket: 'backups', name: 'a', file: f, ifExists: 'overwrite' });
    await oci().getObject({ bucket: 'backups', name: 'a', file: out });
    expect(readFileSync(out, 'utf8')).toBe('second');
    expect(calls().filter((c) => c.argv[2] === 'put').map((c) => c.argv.find((a) => a === '--force' || a === '--no-overwrite'))).toEqual(['--no-overwrite', '--no-overwrite', '--force']);
  }, 60_000);

  it('retries 429 and 5xx, then succeeds', async () => {
    faults([{ match: 'os ns get', status: 429, code: 'TooManyRequests', times: 2 }]);
    expect(await oci().namespace()).toBe('standin-ns');
    expect(calls().filter((c) => c.argv[1] === 'ns')).toHaveLength(3);
  }, 60_000);

  it('gives up at the overall deadline, saying so', async () => {
    faults([{ match: 'os ns get', status: 503, code: 'ServiceUnavailable', times: 100 }]);
    await expect(oci({ deadlineMs: 3_000 }).namespace()).rejects.toThrow(/gave up after 3 s \(last: 503 ServiceUnavailable\)/);
  }, 60_000);

  it('does not retry a 404, and names the IAM cause', async () => {
    env.OCI_STANDIN_DENY = 'os object list';
    const err = await oci().listObjects({ bucket: 'backups' }).catch((e: unknown) => e as RunbookError);
    expect(err).toBeInstanceOf(RunbookError);
    expect((err as RunbookError).message).toMatch(/BucketNotFound/);
    expect((err as RunbookError).hint).toMatch(/IAM permission/);
    expect(calls().filter((c) => c.argv[2] === 'list')).toHaveLength(1);
  }, 30_000);

  it('maps 401 to a precondition error with an auth hint', async () => {
    env.OCI_STANDIN_DENY = 'auth:security_token';
    const err = await oci({ auth: 'security_token' }).namespace().catch((e: unknown) => e as RunbookError);
    expect((err as RunbookError).kind).toBe('precondition');
    expect((err as RunbookError).hint).toMatch(/security_token/);
  }, 30_000);

  it('a hanging call is cut at the attempt timeout and retried', async () => {
    faults([{ match: 'os ns get', hang_ms: 20_000, times: 1 }]);
    expect(await oci({ attemptTimeoutMs: 2_000 }).namespace()).toBe('standin-ns');
  }, 60_000);

  it('rejects an unknown auth mode before running anything', () => {
    expect(() => new OciCli({ auth: 'password' as never })).toThrow(/unknown OCI auth mode/);
    expect(() => new OciCli({ env: { OCI_CLI_AUTH: 'nope' } })).toThrow(/OCI_CLI_AUTH/);
  });

  it('parses ServiceError output and classifies retries', () => {
    const se = parseServiceError('ServiceError:\n{\n "code": "TooManyRequests",\n "message": "slow down",\n "status": 429\n}\n');
    expect(se).toEqual({ status: 429, code: 'TooManyRequests', message: 'slow down' });
    expect(isRetryable(se, false)).toBe(true);
    expect(isRetryable({ status: 409, code: 'Conflict', message: '' }, false)).toBe(false);
    expect(isRetryable(null, true)).toBe(true);
  });
});
