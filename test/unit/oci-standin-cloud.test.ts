// The OCI CLI stand-in's compute, load balancer, Vault and IAM commands: the real CLI's names,
// required options, JSON shapes and errors (oci-cli 3.89.3), or tests against it prove nothing.
import { execa } from 'execa';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { IDS, seedCloud } from '../standins/oci/cloud-seed.ts';
import { updateState } from '../standins/oci/cloud-state.ts';
import { standinBin } from './triviapay-world.ts';

let root: string;
let bin: string;
const oci = async (args: string[], input = '') => {
  const r = await execa(join(bin, 'oci'), args, { env: { PATH: process.env.PATH, OCI_STANDIN_ROOT: root }, extendEnv: false, reject: false, input, timeout: 30_000 });
  return { code: r.exitCode, out: String(r.stdout), err: String(r.stderr) };
};
const LB = ['--load-balancer-id', IDS.lb, '--backend-set-name', 'api-backend'];

beforeAll(async () => {
  bin = await standinBin();
  root = mkdtempSync(join(tmpdir(), 'oci-cloud-'));
  seedCloud(root, { size: 1, tag: 'A', port: 8000, intervalMs: 10_000, timeoutMs: 3000, retries: 3, msPerSecond: 10, workRequestMs: 50 });
  updateState(root, (s) => {
    s.instances['ocid1.instance.oc1.iad.one'] = { id: 'ocid1.instance.oc1.iad.one', poolId: IDS.pool, compartmentId: IDS.compartment, configId: IDS.config, displayName: 'inst-one', ip: '127.0.0.10', subnetId: IDS.subnet, image: 'A', state: 'Running', nextAt: 0, faultDomain: 'FAULT-DOMAIN-1', timeCreated: new Date().toISOString() };
    (s.lbs[IDS.lb]?.backendSets['api-backend'] as { backends: Record<string, unknown> }).backends['127.0.0.10:8000'] = { ipAddress: '127.0.0.10', port: 8000, weight: 3, backup: false, drain: false, offline: false, maxConnections: 300 };
  });
}, 60_000);

describe('oci stand-in: compute, load balancer, Vault, IAM', { timeout: 60_000 }, () => {
  it('list-instances: state in title case, --compartment-id required, an empty list prints nothing', async () => {
    const r = await oci(['compute-management', 'instance-pool', 'list-instances', '--instance-pool-id', IDS.pool, '--compartment-id', IDS.compartment]);
    const items = (JSON.parse(r.out) as { data: Record<string, unknown>[] }).data;
    expect(items[0]).toMatchObject({ state: 'Running', 'instance-configuration-id': IDS.config });
    expect(items[0]).not.toHaveProperty('lifecycle-state');
    expect((await oci(['compute-management', 'instance-pool', 'list-instances', '--instance-pool-id', IDS.pool])).err).toMatch(/Missing option\(s\) --compartment-id/);
    expect(await oci(['compute-management', 'instance-pool', 'list-instances', '--instance-pool-id', IDS.pool, '--compartment-id', 'ocid1.compartment.oc1..other'])).toMatchObject({ code: 0, out: '' });
  });

  it('instance-configuration create refuses metadata over 32,000 bytes the way the compute service does (400 InvalidParameter)', async () => {
    const details = (userData: string) => JSON.stringify({ instanceType: 'compute', launchDetails: { compartmentId: IDS.compartment, shape: 'VM.Standard.A1.Flex', metadata: { user_data: userData, triviapay_image_tag: 'B' } } });
    const create = (userData: string) => oci(['compute-management', 'instance-configuration', 'create', '--compartment-id', IDS.compartment, '--instance-details', details(userData)]);
    // 'user_data' (9) + 'triviapay_image_tag' (19) + 'B' (1) = 29 bytes besides the value.
    const over = await create('A'.repeat(32_000 - 29 + 1));
    expect(over.code).toBe(1);
    expect(over.err).toMatch(/^ServiceError:/);
    expect(JSON.parse(over.err.slice(over.err.indexOf('{')))).toMatchObject({ status: 400, code: 'InvalidParameter', message: 'Metadata size is 32001 bytes and cannot be larger than 32000 bytes.', operation_name: 'create_instance_configuration' });
    const at = await create('A'.repeat(32_000 - 29));
    expect(at.code, at.err).toBe(0);
    expect(JSON.parse(at.out)).toMatchObject({ data: { 'instance-details': { 'launch-details': { metadata: { triviapay_image_tag: 'B' } } } } });
  });

  it('secret-bundle get with --query and --raw-output prints only the base64 content (what first boot decodes)', async () => {
    const r = await oci(['secrets', 'secret-bundle', 'get', '--secret-id', IDS.appEnvSecret, '--stage', 'CURRENT', '--query', 'data."secret-bundle-content".content', '--raw-output']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(Buffer.from('CHANGEME').toString('base64'));
  });

  it('rejects unknown commands and options the way click does (exit 2)', async () => {
    expect(await oci(['lb', 'backend', 'drain', ...LB])).toMatchObject({ code: 2, err: expect.stringMatching(/No such command 'drain'/) as unknown });
    expect(await oci(['lb', 'backend-health', 'get', ...LB, '--backend-name', '127.0.0.10:8000', '--drain', 'true'])).toMatchObject({ code: 2, err: expect.stringMatching(/No such option: --drain/) as unknown });
    expect((await oci(['lb', 'backend', 'update', ...LB, '--backend-name', '127.0.0.10:8000', '--weight', '1', '--backup', 'maybe', '--drain', 'true', '--offline', 'false'])).err).toMatch(/'maybe' is not a valid boolean/);
  });

  it('lb backend update needs weight, backup, drain and offline, and replaces them (max-connections too)', async () => {
    expect((await oci(['lb', 'backend', 'update', ...LB, '--backend-name', '127.0.0.10:8000', '--drain', 'true'])).err).toMatch(/Missing option\(s\) --weight, --backup, --offline/);
    const r = await oci(['lb', 'backend', 'update', ...LB, '--backend-name', '127.0.0.10:8000', '--weight', '3', '--backup', 'false', '--drain', 'true', '--offline', 'false', '--wait-for-state', 'SUCCEEDED', '--wait-for-state', 'FAILED']);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain("Waiting until the work request has entered state: ('SUCCEEDED', 'FAILED')");
    expect(JSON.parse(r.out)).toMatchObject({ data: { 'lifecycle-state': 'SUCCEEDED', type: 'UpdateBackend' } });
    const b = JSON.parse((await oci(['lb', 'backend', 'get', ...LB, '--backend-name', '127.0.0.10:8000'])).out) as { data: Record<string, unknown> };
    expect(b.data).toMatchObject({ drain: true, weight: 3, 'max-connections': null });
    const noWait = JSON.parse((await oci(['lb', 'backend', 'update', ...LB, '--backend-name', '127.0.0.10:8000', '--weight', '3', '--backup', 'false', '--drain', 'false', '--offline', 'false'])).out) as Record<string, unknown>;
    expect(Object.keys(noWait)).toEqual(['opc-work-request-id']);
  });

  it('--wait-for-state that is never reached exits 2 after --max-wait-seconds and prints the original answer', async () => {
    const r = await oci(['lb', 'backend', 'update', ...LB, '--backend-name', '127.0.0.10:8000', '--weight', '1', '--backup', 'false', '--drain', 'false', '--offline', 'false', '--wait-for-state', 'FAILED', '--max-wait-seconds', '20']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('Failed to wait until the work request entered the specified state');
    expect(Object.keys(JSON.parse(r.out) as object)).toEqual(['opc-work-request-id']);
  });

  it('backend-health: UNKNOWN with no results before any probe; backend-set-health has no per-backend array', async () => {
    const h = JSON.parse((await oci(['lb', 'backend-health', 'get', ...LB, '--backend-name', '127.0.0.10:8000'])).out) as { data: Record<string, unknown> };
    expect(h.data).toEqual({ 'health-check-results': [], status: 'UNKNOWN' });
    const set = JSON.parse((await oci(['lb', 'backend-set-health', 'get', ...LB])).out) as { data: Record<string, unknown> };
    expect(Object.keys(set.data).sort()).toEqual(['critical-state-backend-names', 'status', 'total-backend-count', 'unknown-state-backend-names', 'warning-state-backend-names']);
    expect(set.data).toMatchObject({ status: 'UNKNOWN', 'unknown-state-backend-names': ['127.0.0.10:8000'] });
    const missing = await oci(['lb', 'backend-health', 'get', ...LB, '--backend-name', '10.9.9.9:8000']);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/^ServiceError:\n\{\n {4}"client_version"/);
  });

  it('lb backend delete, and a pool update that replaces tags, ask unless --force', async () => {
    expect(await oci(['lb', 'backend', 'delete', ...LB, '--backend-name', '127.0.0.10:8000'])).toMatchObject({ code: 1, err: 'Aborted!' });
    expect(await oci(['compute-management', 'instance-pool', 'update', '--instance-pool-id', IDS.pool, '--freeform-tags', '{"a":"b"}'])).toMatchObject({ code: 1, err: 'Aborted!' });
  });

  it('vault secret update-base64 --from-json file:// takes camelCase keys; secret-bundle get returns the new version', async () => {
    const f = join(root, 'secret.json');
    writeFileSync(f, JSON.stringify({ secretId: IDS.appEnvSecret, secretContentContent: Buffer.from('PORT=8000\n').toString('base64') }), { mode: 0o600 });
    const u = await oci(['vault', 'secret', 'update-base64', '--from-json', `file://${f}`]);
    expect(u.code, u.err).toBe(0);
    expect(JSON.parse(u.out)).toMatchObject({ data: { 'current-version-number': 2, 'lifecycle-state': 'UPDATING' } });
    expect(u.out).not.toContain(Buffer.from('PORT=8000\n').toString('base64'));
    const b = JSON.parse((await oci(['secrets', 'secret-bundle', 'get', '--secret-id', IDS.appEnvSecret])).out) as { data: Record<string, Record<string, unknown>> };
    expect(b.data['secret-bundle-content']).toEqual({ content: Buffer.from('PORT=8000\n').toString('base64'), 'content-type': 'BASE64' });
    expect((await oci(['vault', 'secret', 'update-base64', '--from-json', f])).code).toBe(2);
  });

  it('iam auth-token: the token only in the create answer, at most two per user', async () => {
    const user = ['--user-id', IDS.user];
    const a = JSON.parse((await oci(['iam', 'auth-token', 'create', ...user, '--description', 'one'])).out) as { data: Record<string, unknown> };
    expect(typeof a.data.token).toBe('string');
    await oci(['iam', 'auth-token', 'create', ...user, '--description', 'two']);
    const third = await oci(['iam', 'auth-token', 'create', ...user, '--description', 'three']);
    expect(third.code).toBe(1);
    const list = JSON.parse((await oci(['iam', 'auth-token', 'list', ...user])).out) as { data: Record<string, unknown>[] };
    expect(list.data.map((t) => t.token)).toEqual([null, null]);
    expect((await oci(['iam', 'auth-token', 'delete', ...user, '--auth-token-id', String(a.data.id), '--force'])).code).toBe(0);
  });
});
