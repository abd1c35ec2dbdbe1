// EventfoldDB on a real ARM64 VM, the PRD's acceptance criteria end to end: fresh VM whose
// first boot alone (cloud-init, nobody logged in) brings up a running, firewalled, backed-up
// server -> the same runbooks over SSH change nothing -> append -> backup -> append ->
// incremental backup uploads only the new bytes -> disk loss -> restore -> ReadAll identical ->
// kill -9 -> reboot -> firewall -> a bad release rolls back -> TLS and bearer auth turned on. The server is the test stand-in; the
// OCI CLI is the test stand-in, put on the image by the vendor-data (where a real image would
// ship the real CLI) with the artifacts bucket already holding the runbook bundle and release.
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../lib/core/wait.ts';
import { EventfoldClient, type Recorded } from '../../runbooks/eventfold-db/protocol/client.ts';
import { mintToken } from '../../runbooks/eventfold-db/protocol/jwt.ts';
import { ociStandinVendorData } from '../../lib/vm/oci-standin-vendor-data.ts';
import { selfSigned } from '../unit/tls-certs.ts';
import { bootVm, testKey, type Vm } from '../../lib/vm/vm.ts';
import { ROOT, envFile, explain, runOn, runbook } from './runbook-cli.ts';

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const work = mkdtempSync(join(tmpdir(), 'ef-releases-'));
const release = (name: string, content: Buffer | string) => {
  const p = join(work, name);
  writeFileSync(p, content, { mode: 0o755 });
  return { file: p, sha: sha(p) };
};
const standin = readFileSync(join(ROOT, 'dist/standins/eventfold-db'));
const v1 = release('v1', standin);
const v2 = release('v2', Buffer.concat([standin, Buffer.from('\n// release 2\n')]));
const broken = release('broken', '#!/bin/sh\necho "eventfold_db: fatal: cannot start" >&2\nexit 1\n');
const bundle = join(ROOT, 'dist/runbook-bundle.tar.gz');

const BUCKET = 'eventfold-backups';
const ARTIFACTS = 'eventfold-artifacts';
const V1_OBJECT = 'eventfold-db/1.0.0/eventfold-db';
const baseVars = () => ({ ADMIN_USER: 'admin', ADMIN_SSH_KEYS: testKey().publicKey, OPERATOR_CIDRS: '10.0.2.2/32', SWAP_SIZE_MB: '0' });
const efVars = (extra: Record<string, string>) => ({
  // Forwarded connections reach the guest from the user-network gateway: the app subnet
  // admits it, the monitoring subnet does not.
  APP_CIDRS: '10.0.2.2/32',
  MONITORING_CIDRS: '192.0.2.0/24',
  BACKUP_BUCKET: BUCKET,
  BACKUP_PREFIX: 'eventfold/prd016',
  // The test starts each backup itself; a timer firing in between would add runs it did not count.
  BACKUP_SCHEDULE: '*-06-15 03:00:00',
  ...extra,
});
const efEnv = (r: { file: string; sha: string }, version: string, extra: Record<string, string> = {}) =>
  envFile(efVars({ RELEASE_FILE: r.file, RELEASE_VERSION: version, RELEASE_SHA256: r.sha, ...extra }));
/** What first boot deploys: release 1.0.0 from the artifacts bucket. */
const objectRelease = { RELEASE_BUCKET: ARTIFACTS, RELEASE_OBJECT: V1_OBJECT, RELEASE_VERSION: '1.0.0', RELEASE_SHA256: v1.sha };

/** The OCI CLI stand-in on the image, the artifacts bucket already holding the runbook bundle and release 1.0.0. */
function ociVendorData(): string {
  return ociStandinVendorData(ROOT, (oci) => {
    oci(['os', 'bucket', 'create', '--name', ARTIFACTS, '--compartment-id', 'ocid1.compartment.oc1..test']);
    oci(['os', 'object', 'put', '--bucket-name', ARTIFACTS, '--name', 'runbook/runbook-bundle.tar.gz', '--file', bundle, '--no-overwrite']);
    oci(['os', 'object', 'put', '--bucket-name', ARTIFACTS, '--name', V1_OBJECT, '--file', v1.file, '--no-overwrite']);
  });
}

describe('EventfoldDB on an ARM64 VM', () => {
  let vm: Vm;
  let client: EventfoldClient;
  const env1 = efEnv(v1, '1.0.0');
  let beforeLoss: Recorded[] = [];
  const stream = randomUUID();
  const as = (argv: string[]) => vm.ssh(['sudo', 'runuser', '-u', 'eventfold', '--', 'env', 'HOME=/var/lib/eventfold-backup', ...argv]);
  const append = async (n: number) => {
    for (let i = 0; i < n; i++) await client.append(stream, { any: {} }, [{ event_id: randomUUID(), event_type: 'Ledger.Posted', payload: Buffer.from(`entry ${i}`) }]);
  };

  beforeAll(async () => {
    const bootEnv = envFile({ ...baseVars(), ...efVars(objectRelease), RUNBOOK_BUNDLE_BUCKET: ARTIFACTS, RUNBOOK_BUNDLE_OBJECT: 'runbook/runbook-bundle.tar.gz', RUNBOOK_BUNDLE_SHA256: sha(bundle), OCI_CLI_AUTH: 'instance_principal' });
    const ud = await runbook(['user-data', 'eventfold-db', '--env', bootEnv]);
    expect(ud.exitCode, ud.stderr).toBe(0);
    expect(Buffer.byteLength(ud.stdout)).toBeLessThan(32_000);
    vm = await bootVm({ name: 'eventfold', userData: ud.stdout, vendorData: ociVendorData(), sshUser: 'admin', extraDisks: [{ sizeMiB: 512 }], forwards: [2113, 9090] });
    await vm.waitForCloudInit();
    client = new EventfoldClient(`127.0.0.1:${vm.hostPorts[2113]}`, { deadlineMs: 10_000 });
  }, 1_200_000);

  afterAll(async () => {
    client?.close();
    await vm?.stop();
  });

  it('first boot alone brings up EventfoldDB on the block volume, firewalled, with the backup timer', async () => {
    expect((await vm.ssh(['systemctl', 'is-active', 'eventfold-db.service', 'eventfold-backup.timer'])).stdout.trim().split('\n')).toEqual(['active', 'active']);
    expect((await vm.ssh(['findmnt', '-n', '-o', 'SOURCE,FSTYPE', '/data'])).stdout.trim()).toBe('/dev/vdb ext4');
    expect((await vm.ssh(['grep', '-c', '^UUID=.* /data ext4', '/etc/fstab'])).stdout.trim()).toBe('1');
    expect((await vm.ssh(['readlink', '/opt/eventfold-db/current'])).stdout.trim()).toBe('/opt/eventfold-db/releases/1.0.0');
    expect((await vm.ssh(['sudo', 'nft', 'list', 'chain', 'inet', 'runbook', 'input'])).stdout).toMatch(/policy drop/);
    // The release came from the artifacts bucket, fetched by the host with its own identity.
    const calls = (await vm.ssh(['sudo', 'cat', '/root/.oci-standin/calls.log'])).stdout;
    const fetched = calls.trim().split('\n').map((l) => JSON.parse(l) as { argv: string[]; auth: string }).filter((c) => c.argv.includes(V1_OBJECT));
    expect(fetched.map((c) => [c.argv.slice(0, 3).join(' '), c.auth])).toEqual([['os object get', 'instance_principal']]);
    const events = (await vm.ssh(['sudo', 'cat', '/var/log/runbook/bootstrap.jsonl'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; ok?: boolean; runbook?: string });
    expect(events.filter((e) => e.type === 'run-start').map((e) => e.runbook)).toEqual(['base-host', 'eventfold-db']);
    expect(events.filter((e) => e.type === 'run-end').map((e) => e.ok)).toEqual([true, true]);
  }, 300_000);

  it('the same runbooks over SSH change nothing, and a dry-run plans no write', async () => {
    const base = await runOn(vm, 'base-host', envFile(baseVars()), [], 'admin');
    expect(base.exitCode, explain(base)).toBe(0);
    expect(base.of('step-changed')).toEqual([]);
    const env = envFile(efVars(objectRelease));
    const r = await runOn(vm, 'eventfold-db', env, [], 'admin');
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.of('step-changed')).toEqual([]);
    const d = await runOn(vm, 'eventfold-db', efEnv(v1, '1.0.0'), ['--dry-run'], 'admin');
    expect(d.exitCode, explain(d)).toBe(0);
    expect(d.of('write-planned')).toEqual([]);
  }, 600_000);

  it('the firewall admits gRPC from the app subnet and refuses metrics from outside the monitoring subnet', async () => {
    expect(await client.health()).toBe('SERVING');
    const metrics = await fetch(`http://127.0.0.1:${vm.hostPorts[9090]}/metrics`, { signal: AbortSignal.timeout(5_000) }).then(
      () => 'answered',
      () => 'refused',
    );
    expect(metrics).toBe('refused');
    expect((await vm.ssh(['sudo', 'nft', 'list', 'chain', 'inet', 'runbook', 'services'])).stdout).toMatch(/tcp dport 2113 ip saddr @eventfold_app_v4 accept/);
  }, 120_000);

  it('backs up hot, silently, then uploads only what was appended', async () => {
    await append(30);
    expect((await vm.ssh(['sudo', 'install', '-d', '-o', 'eventfold', '-g', 'eventfold', '-m', '0700', '/var/lib/eventfold-backup'])).exitCode).toBe(0);
    // No bucket yet: the timer's run fails loudly, with one line in the journal.
    const errLines = async () => (await vm.ssh(['sudo', 'journalctl', '-u', 'eventfold-backup.service', '--no-pager', '-o', 'cat'])).stdout.split('\n').filter((l) => l.startsWith('eventfold-tools:'));
    const failed = await vm.ssh(['sudo', 'systemctl', 'start', 'eventfold-backup.service'], { timeoutMs: 300_000 });
    expect(failed.exitCode).not.toBe(0);
    expect((await vm.ssh(['systemctl', 'is-failed', 'eventfold-backup.service'])).stdout.trim()).toBe('failed');
    const firstErr = await errLines();
    expect(firstErr).toHaveLength(1);
    expect(firstErr[0]).toMatch(/NotFound|not found|404/i);
    expect((await as(['oci', 'os', 'bucket', 'create', '--name', BUCKET, '--compartment-id', 'ocid1.compartment.oc1..test'])).exitCode).toBe(0);
    const run1 = await vm.ssh(['sudo', 'systemctl', 'start', 'eventfold-backup.service'], { timeoutMs: 300_000 });
    expect(run1.exitCode, run1.stderr).toBe(0);
    const size1 = Number((await vm.ssh(['sudo', 'stat', '-c', '%s', '/data/eventfold.log'])).stdout);
    await append(12);
    const size2 = Number((await vm.ssh(['sudo', 'stat', '-c', '%s', '/data/eventfold.log'])).stdout);
    expect((await vm.ssh(['sudo', 'systemctl', 'start', 'eventfold-backup.service'], { timeoutMs: 300_000 })).exitCode).toBe(0);
    const list = JSON.parse((await as(['oci', 'os', 'object', 'list', '--bucket-name', BUCKET, '--all'])).stdout) as { data: { name: string; size: number }[] };
    const newest = list.data.map((o) => o.name).filter((n) => n.includes('/manifests/')).sort().at(-1) as string;
    const manifest = JSON.parse((await as(['oci', 'os', 'object', 'get', '--bucket-name', BUCKET, '--name', newest, '--file', '-'])).stdout) as { host: string; segments: { size: number; storedSize: number }[] };
    // Log bytes per segment: the whole log, then exactly what was appended; stored no larger.
    expect(manifest.segments.map((s) => s.size)).toEqual([size1, size2 - size1]);
    for (const s of manifest.segments) expect(s.storedSize).toBeLessThanOrEqual(s.size);
    expect(newest).toContain(`.${manifest.host}/manifests/`);
    // Silence means success: the two good runs added nothing to the journal.
    expect(await errLines()).toEqual(firstErr);
    beforeLoss = await client.readEverything();
    expect(beforeLoss).toHaveLength(42);
  }, 600_000);

  it('after losing the log, a restore brings back the same events in the same order', async () => {
    expect(beforeLoss).toHaveLength(42);
    await vm.ssh(['sudo', 'systemctl', 'stop', 'eventfold-db.service']);
    await vm.ssh(['sudo', 'rm', '-f', '/data/eventfold.log']);
    const r = await runOn(vm, 'eventfold-db.restore', env1, ['--yes'], 'admin');
    expect(r.exitCode, explain(r)).toBe(0);
    const after = await client.readEverything();
    expect(after.map((e) => [e.global_position, e.event_id])).toEqual(beforeLoss.map((e) => [e.global_position, e.event_id]));
  }, 600_000);

  it('a corrupt backup object aborts the restore and leaves the server as it was', async () => {
    const objects = '/var/lib/eventfold-backup/.oci-standin/buckets/eventfold-backups/objects';
    const seg = (await vm.ssh(['sudo', 'sh', '-c', `ls ${objects} | grep segments | grep -v meta | tail -n 1`])).stdout.trim();
    expect(seg).not.toBe('');
    expect((await vm.ssh(['sudo', 'dd', 'if=/dev/zero', `of=${objects}/${seg}`, 'bs=1', 'count=8', 'seek=40', 'conv=notrunc'])).exitCode).toBe(0);
    const r = await runOn(vm, 'eventfold-db.restore', env1, ['--yes'], 'admin');
    expect(r.exitCode, explain(r)).toBe(1);
    expect(r.stdout).toMatch(/is corrupt/);
    expect((await vm.ssh(['systemctl', 'is-active', 'eventfold-db.service'])).stdout.trim()).toBe('active');
    expect((await client.readEverything()).length).toBe(42);
  }, 600_000);

  it('smoke: health, ReadAll under 2 s, metrics, journal, and kill -9 restarts within 10 s', async () => {
    const r = await runOn(vm, 'eventfold-db.smoke', env1, ['--yes'], 'admin');
    expect(r.exitCode, explain(r)).toBe(0);
    expect(Number((await vm.ssh(['systemctl', 'show', '-p', 'NRestarts', '--value', 'eventfold-db.service'])).stdout)).toBeGreaterThan(0);
  }, 600_000);

  it('a reboot keeps /data and the service', async () => {
    await vm.reboot();
    // The fstab line has nofail, so SSH may answer before /data is mounted on a busy machine: wait, bounded.
    let fstype = '';
    for (let i = 0; i < 45 && fstype !== 'ext4'; i++) {
      fstype = (await vm.ssh(['findmnt', '-n', '-o', 'FSTYPE', '/data'])).stdout.trim();
      if (fstype !== 'ext4') await new Promise((res) => setTimeout(res, 2_000));
    }
    expect(fstype).toBe('ext4');
    for (let i = 0; i < 30; i++) {
      if ((await vm.ssh(['systemctl', 'is-active', 'eventfold-db.service'])).stdout.trim() === 'active') break;
      await new Promise((res) => setTimeout(res, 2_000));
    }
    expect((await vm.ssh(['systemctl', 'is-active', 'eventfold-db.service'])).stdout.trim()).toBe('active');
    // Type=exec: "active" comes before the server listens; health says when it serves.
    const c = new EventfoldClient(`127.0.0.1:${vm.hostPorts[2113]}`, { deadlineMs: 10_000 });
    await waitFor(async () => c.health().then((h) => (h === 'SERVING' ? { done: true, value: h } : { done: false, reason: h }), (e: Error) => ({ done: false, reason: e.message })), { what: 'health after reboot', deadlineMs: 120_000, initialDelayMs: 1_000 });
    expect((await c.readEverything()).length).toBe(42);
    c.close();
  }, 600_000);

  it('a bad release rolls back to the previous one by itself', async () => {
    const r = await runOn(vm, 'eventfold-db', efEnv(broken, '1.1.0-broken'), ['--only', 'deploy.release'], 'admin');
    expect(r.exitCode, explain(r)).toBe(1);
    expect(r.stdout).toMatch(/did not become healthy; rolled back to 1\.0\.0/);
    expect((await vm.ssh(['readlink', '/opt/eventfold-db/current'])).stdout.trim()).toBe('/opt/eventfold-db/releases/1.0.0');
    expect(await client.health()).toBe('SERVING');
  }, 600_000);

  it('deploys a new release, and rollback returns to the previous one', async () => {
    const up = await runOn(vm, 'eventfold-db', efEnv(v2, '2.0.0'), ['--only', 'deploy.release'], 'admin');
    expect(up.exitCode, explain(up)).toBe(0);
    expect((await vm.ssh(['readlink', '/opt/eventfold-db/current'])).stdout.trim()).toBe('/opt/eventfold-db/releases/2.0.0');
    const back = await runOn(vm, 'eventfold-db.rollback', efEnv(v2, '2.0.0', { ROLLBACK_TO: '1.0.0' }), ['--yes'], 'admin');
    expect(back.exitCode, explain(back)).toBe(0);
    expect((await vm.ssh(['readlink', '/opt/eventfold-db/current'])).stdout.trim()).toBe('/opt/eventfold-db/releases/1.0.0');
    expect((await client.readEverything()).length).toBe(42);
  }, 600_000);

  it('turning on TLS and bearer auth restarts the server with them; the host checks still pass; a bad key is refused first', async () => {
    const pki = await selfSigned('eventfold.internal');
    const jwt = 'jwt-secret-for-the-vm-test-0123456789abcdef';
    const tlsVars = { TLS_CERT_FILE: pki.cert, TLS_KEY_FILE: pki.key, TLS_SERVER_NAME: 'eventfold.internal', EVENTFOLD_JWT_SECRET: jwt };
    const on = await runOn(vm, 'eventfold-db', efEnv(v1, '1.0.0', tlsVars), [], 'admin');
    expect(on.exitCode, explain(on)).toBe(0);
    expect(on.stdout).not.toContain(jwt);
    expect(on.of('step-changed').map((e) => e.id)).toEqual(['install.config']);
    expect((await vm.ssh(['sudo', 'stat', '-c', '%a %U:%G', '/etc/eventfold-db/tls/server.key'])).stdout.trim()).toBe('640 root:eventfold');
    // The runbook's own checks (health, ReadAll, metrics, kill -9) now go over TLS with a token.
    const smoke = await runOn(vm, 'eventfold-db.smoke', efEnv(v1, '1.0.0', tlsVars), ['--yes'], 'admin');
    expect(smoke.exitCode, explain(smoke)).toBe(0);
    const addr = `127.0.0.1:${vm.hostPorts[2113]}`;
    const tls = { ca: readFileSync(pki.cert), serverName: 'eventfold.internal' };
    const secure = new EventfoldClient(addr, { deadlineMs: 10_000, tls, token: mintToken(jwt) });
    expect((await secure.readEverything()).length).toBe(42);
    const noToken = new EventfoldClient(addr, { deadlineMs: 10_000, tls });
    await expect(noToken.readEverything()).rejects.toMatchObject({ code: 16 });
    await expect(client.health()).rejects.toThrow();
    // A key that is not the certificate's is refused before the host changes.
    const other = await selfSigned('eventfold.internal');
    const bad = await runOn(vm, 'eventfold-db', efEnv(v1, '1.0.0', { ...tlsVars, TLS_KEY_FILE: other.key }), [], 'admin');
    expect(bad.exitCode, explain(bad)).toBe(3);
    expect(bad.stdout + bad.stderr).toMatch(/is not the key of the certificate/);
    expect(await secure.health()).toBe('SERVING');
    // A re-run with the good pair changes nothing.
    const again = await runOn(vm, 'eventfold-db', efEnv(v1, '1.0.0', tlsVars), ['--dry-run'], 'admin');
    expect(again.exitCode, explain(again)).toBe(0);
    expect(again.of('write-planned')).toEqual([]);
    [secure, noToken].forEach((c) => c.close());
    // Leaving the secret out does not silently turn bearer auth off: that takes an explicit choice.
    const dropped = await runOn(vm, 'eventfold-db', efEnv(v1, '1.0.0'), [], 'admin');
    expect(dropped.exitCode, explain(dropped)).toBe(4);
    expect(dropped.stdout + dropped.stderr).toMatch(/sets EVENTFOLD_JWT_SECRET, which this run's config does not/);
    // Back to plaintext: the server restarts without TLS, and only then is the old pair removed.
    const off = await runOn(vm, 'eventfold-db', efEnv(v1, '1.0.0', { BEARER_AUTH_OFF: 'yes' }), [], 'admin');
    expect(off.exitCode, explain(off)).toBe(0);
    expect(off.of('step-changed').map((e) => e.id)).toEqual(['install.config', 'install.tls-off']);
    expect((await vm.ssh(['sudo', 'test', '-e', '/etc/eventfold-db/tls'])).exitCode).toBe(1);
    // A fresh plaintext client: the shared one failed against TLS above and may still be in its
    // reconnect backoff. The host already proved health; this waits only for the forwarded port.
    const plain = new EventfoldClient(addr, { deadlineMs: 10_000 });
    await waitFor(async () => plain.health().then((h) => (h === 'SERVING' ? { done: true, value: h } : { done: false, reason: h }), (e: Error) => ({ done: false, reason: e.message })), { what: 'plaintext health after TLS off', deadlineMs: 60_000, initialDelayMs: 1_000 });
    expect((await plain.readEverything()).length).toBe(42);
    plain.close();
  }, 900_000);
});
