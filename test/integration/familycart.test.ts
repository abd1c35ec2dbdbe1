// FamilyCart on two ARM64 VMs of 1 GiB each, the sequence end to end: both hosts by one
// command (`runbook run familycart --target stateful=...,app=...`, each host's private address
// learned) -> the allowlist from the stand-in Cloudflare answer -> smoke from an allowed source
// passes; a refused source reaches neither nginx nor a port Docker published; a forged
// CF-Connecting-IP from outside the list is not trusted -> the Redis password in no process's argv
// -> data written through the backend -> backup -> a deploy whose /health fails rolls itself back
// -> an amd64 image refused before anything restarts -> bad Cloudflare answers keep the last good
// list -> the stateful VM destroyed, a new one restored from the bucket -> data equal, smoke green.
//
// Real here: Docker, PostgreSQL and Redis (test images built from Debian packages), nginx,
// nftables, systemd, the registry the deploys log in to and pull from. Stand-ins (test/standins):
// the FamilyCart backend and frontend, the OCI CLI (its store on the stateful host is the bucket,
// copied to the new host as the same bucket seen from a new host), and Cloudflare's ranges API
// (a static file server on the app host answering at CF_IPS_URL).
//
// Sources: the test process reaches the app host through QEMU's forwards, so it arrives from the
// user network's gateway, 10.0.2.2; the stand-in answer lists it, so it is "Cloudflare". The
// stateful VM reaches the app host over the private link from 10.77.0.10 (not listed: refused)
// and from a second address, 10.77.0.40 (listed; outside PRIVATE_SUBNET, 10.77.0.0/27).
//
// Deviations from the issue: both VMs start from the docker-host snapshot (1 GiB) rather than a
// cold first boot, and the runbooks run over SSH: the first boot through each role's user-data
// is checked offline (cloud-init schema), not booted, to keep inside CI's time.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Link, createLink } from '../vm/link.ts';
import type { Snapshot } from '../vm/snapshot.ts';
import { type Vm, stopAllVms } from '../../lib/vm/vm.ts';
import { sudo } from '../containers/vm-docker.ts';
import { BUCKET, EDGE, HOSTS, baseValues, PG_CANARY, PRIVATE_SUBNET, REDIS_CANARY, SHA, STORE, TOKEN, appHost, cfAnswer, combinedSshConfig, familycartSnapshot, serveCf, statefulHost, systemEnv } from './familycart-host.ts';
import { type CliRun, envFile, explain, runbook } from './runbook-cli.ts';

const LONG = 40 * 60_000;
// Opt-in (RUNBOOK_FAMILYCART_VM_TEST=1) until it passes here and fits CI's time.
const runIt = process.env.RUNBOOK_VM_TESTS !== '0' && process.env.RUNBOOK_FAMILYCART_VM_TEST === '1';
const APP_ADDR = `10.77.0.${HOSTS.app}`;

describe.skipIf(!runIt)('FamilyCart on two ARM64 VMs', { timeout: LONG + 5 * 60_000 }, () => {
  let link: Link;
  let snap: Snapshot;
  let stateful: Vm;
  let app: Vm;
  let sshConfig: string;
  let env: string;
  let up = false;
  const needUp = () => {
    if (!up) throw new Error('the bring-up did not pass (see the test before); nothing to check');
  };
  const targets = () => `stateful=${stateful.target()},app=${app.target()}`;
  const system = (envFiles: string[], extra: string[] = []) =>
    runbook(['run', 'familycart', '--target', targets(), '--ssh-config', sshConfig, ...envFiles.flatMap((e) => ['--env', e]), '--json', '--yes', ...extra], { timeoutMs: LONG });
  const on = (vm: Vm, name: string, envFiles: string[], extra: string[] = []) =>
    runbook(['run', name, '--target', vm.target(), '--ssh-config', vm.sshConfigPath, ...envFiles.flatMap((e) => ['--env', e]), '--json', '--yes', ...extra], { timeoutMs: LONG });
  const port80 = () => app.hostPorts[80] as number;
  const smokeEnv = () => envFile({ PUBLIC_URL: 'http://familycart.test', SMOKE_DATA_PATH: '/api/v1/ready', CHECK_CONNECT_TO: `127.0.0.1:${port80()}`, CHECK_TIMEOUT_SECONDS: '30' });
  const smoke = () => runbook(['run', 'familycart.smoke', '--target', 'local', '--env', smokeEnv(), '--json', '--yes'], { timeoutMs: 5 * 60_000 });
  /** An HTTP request from this process to the app host's nginx (source 10.0.2.2, which the stand-in answer lists). */
  const viaEdge = async (path: string, init: RequestInit = {}) => {
    const r = await fetch(`http://127.0.0.1:${port80()}${path}`, { ...init, headers: { host: 'familycart.test', ...(init.headers as Record<string, string>) }, signal: AbortSignal.timeout(30_000) });
    return { status: r.status, body: await r.text() };
  };
  /** curl from the stateful VM to the app host over the link: the HTTP code, or "refused"/"timeout" (exit code). */
  const fromStateful = async (url: string, o: { source?: string; headers?: string[] } = {}) => {
    const r = await stateful.ssh(['curl', '-sS', '-m', '8', '-o', '/dev/null', '-w', '%{http_code}', ...(o.source ? ['--interface', o.source] : []), ...(o.headers ?? []).flatMap((h) => ['-H', h]), url], { timeoutMs: 30_000 });
    return r.exitCode === 0 ? r.stdout.trim() : `curl exit ${r.exitCode}`;
  };
  const cfSet = async () => sudo(app, ['nft', 'list', 'set', 'inet', 'runbook', 'cf_v4']);
  const deployState = async () => JSON.parse(await sudo(app, ['cat', '/var/lib/familycart/deploy.json'])) as { current?: string; previous?: string };

  beforeAll(async () => {
    link = await createLink('familycart');
    snap = await familycartSnapshot();
    stateful = await statefulHost(snap, link, 'fc-stateful');
    app = await appHost(snap, link);
    sshConfig = combinedSshConfig(mkdtempSync(join(tmpdir(), 'familycart-ssh-')), [stateful, app]);
    env = await systemEnv(app);
    // The edge address on the stateful VM's link interface (the one holding 10.77.0.10).
    await sudo(stateful, ['sh', '-c', `ip addr add ${EDGE}/24 dev "$(ip -o -4 addr show to ${PRIVATE_SUBNET} | awk '{print $2; exit}')"`]);
    await sudo(stateful, ['oci', 'os', 'bucket', 'create', '--name', BUCKET, '--compartment-id', 'ocid1.compartment.oc1..test']);
  }, 60 * 60_000);

  afterAll(async () => {
    await stopAllVms();
    link?.close();
  });

  it('--dry-run shows both hosts\' plans, learning each private address first, and changes nothing', async () => {
    const r = await system([env], ['--dry-run']);
    expect(r.exitCode, explain(r)).toBe(0);
    const out = `${r.stdout}\n${r.stderr}`;
    for (const s of ['stateful.up', 'app.deploy', 'app.allowlist', 'base.nftables']) expect(out).toContain(s);
    expect(out).toContain(`10.77.0.${HOSTS.stateful}`);
    expect((await stateful.ssh(['test', '-e', '/opt/familycart/stateful.yaml'])).exitCode).not.toBe(0);
  });

  it('one command brings up both hosts: base-host, the stateful host, then the app host at SHA A', async () => {
    const r = await system([env]);
    expect(r.exitCode, explain(r)).toBe(0);
    expect((await deployState()).current).toBe(SHA.good);
    // PostgreSQL and Redis published on the private address only.
    const ss = await sudo(stateful, ['ss', '-Hltn']);
    expect(ss).toMatch(new RegExp(`10\\.77\\.0\\.${HOSTS.stateful}:5432`));
    expect(ss).not.toMatch(/0\.0\.0\.0:(5432|6379)/);
    // Docker's json-file rotation merged into daemon.json on both hosts.
    for (const vm of [stateful, app]) expect(JSON.parse(await sudo(vm, ['cat', '/etc/docker/daemon.json']))['log-opts']).toMatchObject({ 'max-size': '10m' });
    up = true;
  });

  it('the daily refresh loads the stand-in answer into the sets; smoke from an allowed source passes', async () => {
    needUp();
    await sudo(app, ['systemctl', 'start', 'cf-allowlist.service'], { timeoutMs: 180_000 });
    const set = await cfSet();
    expect(set).toContain('10.0.2.2');
    expect(set).toContain(EDGE);
    expect(set).toContain('173.245.48.0/20');
    const r = await smoke();
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.of('log').map((e) => e.message).filter((l) => l.startsWith('ok  '))).toHaveLength(3);
  });

  it('a source outside the list reaches neither nginx nor a port Docker published; a listed one reaches both', async () => {
    needUp();
    // A port Docker publishes on every address (443 -> the frontend stand-in's 3000).
    await sudo(app, ['docker', 'run', '-d', '--name', 'published', '-p', '443:3000', 'familycart-standin/frontend:good']);
    expect(await fromStateful(`http://${APP_ADDR}/`, { source: EDGE })).toBe('200');
    expect(await fromStateful(`http://${APP_ADDR}:443/`, { source: EDGE })).toBe('200');
    expect(await fromStateful(`http://${APP_ADDR}/`)).toMatch(/^curl exit (7|28)$/);
    expect(await fromStateful(`http://${APP_ADDR}:443/`)).toMatch(/^curl exit (7|28)$/);
    const direct = await fetch(`http://127.0.0.1:${app.hostPorts[443]}/`, { signal: AbortSignal.timeout(30_000) });
    expect(direct.status).toBe(200);
    await sudo(app, ['docker', 'rm', '-f', 'published']);
  });

  it('nginx trusts CF-Connecting-IP only from a listed source', async () => {
    needUp();
    const listed = await viaEdge('/api/v1/whoami', { headers: { 'cf-connecting-ip': '203.0.113.7' } });
    expect(listed.status).toBe(200);
    expect(JSON.parse(listed.body).ip).toBe('203.0.113.7');
    // From the host itself (127.0.0.1, not in the list): the header is ignored.
    const forged = await sudo(app, ['curl', '-sS', '-m', '10', '-H', 'Host: familycart.test', '-H', 'CF-Connecting-IP: 203.0.113.7', '-H', 'X-Forwarded-For: 203.0.113.8', 'http://127.0.0.1/api/v1/whoami']);
    expect(JSON.parse(forged).ip).toBe('127.0.0.1');
  });

  it('the Redis and PostgreSQL passwords and the registry token are in no process\'s argv on either host', async () => {
    needUp();
    for (const vm of [stateful, app]) {
      const ps = await sudo(vm, ['ps', '-eww', '-o', 'args']);
      for (const s of [REDIS_CANARY, PG_CANARY, TOKEN.reveal()]) expect(ps.includes(s), `${vm.name}: ${s} in ps`).toBe(false);
    }
  });

  let items = 0;
  it('data written through the backend; the backup is silent and uploads the dump and its manifest', async () => {
    needUp();
    for (const name of ['milk', 'bread', 'eggs', 'apples', 'coffee']) expect((await viaEdge('/api/v1/items', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) })).status).toBe(201);
    items = (JSON.parse((await viaEdge('/api/v1/items')).body) as unknown[]).length;
    expect(items).toBe(5);
    const r = await on(stateful, 'familycart.backup', [env, envFile({ PRIVATE_IP: `10.77.0.${HOSTS.stateful}`, APP_CIDRS: `10.77.0.${HOSTS.app}/32` })]);
    expect(r.exitCode, explain(r)).toBe(0);
    const list = await sudo(stateful, ['oci', 'os', 'object', 'list', '--bucket-name', BUCKET, '--prefix', 'familycart/test/', '--all']);
    expect(list).toMatch(/familycart_\d{8}T\d{6}Z\.dump/);
    expect(list).toMatch(/familycart_\d{8}T\d{6}Z\.json/);
    // Silent on success: the script wrote nothing (its lines carry SyslogIdentifier=familycart-backup).
    expect((await sudo(stateful, ['journalctl', '-t', 'familycart-backup', '-o', 'cat', '--no-pager'])).trim()).toBe('');
  });

  it('a SHA whose /health fails rolls itself back to the live one, which stays healthy', async () => {
    needUp();
    // A /health that answers 503 is waited on until the deadline: a short one for this deploy.
    const r = await system([env, envFile({ FAMILYCART_SHA: SHA.broken, HEALTH_DEADLINE_SECONDS: '180' })], ['--from', 'app/familycart.app']);
    expect(r.exitCode, explain(r)).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`).toContain(`rolled back to ${SHA.good}`);
    expect((await deployState()).current).toBe(SHA.good);
    const s = await smoke();
    expect(s.exitCode, explain(s)).toBe(0);
  });

  it('an image that is not linux/arm64 is refused before anything restarts', async () => {
    needUp();
    const before = await sudo(app, ['docker', 'inspect', '-f', '{{.Id}}', 'familycart-app-backend-1']);
    const r = await system([env, envFile({ FAMILYCART_SHA: SHA.amd64 })], ['--from', 'app/familycart.app']);
    expect(r.exitCode, explain(r)).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`).toMatch(/not linux\/arm64/);
    expect(await sudo(app, ['docker', 'inspect', '-f', '{{.Id}}', 'familycart-app-backend-1'])).toBe(before);
    expect((await deployState()).current).toBe(SHA.good);
  });

  it('bad Cloudflare answers are refused, each with one journal line, and the last good list stays loaded', async () => {
    needUp();
    const good = await cfSet();
    const world = cfAnswer(['0.0.0.0/0']);
    const bad: [string, string | null][] = [
      ['HTTP 404', null],
      ['not JSON', '<html>502 Bad Gateway</html>'],
      ['success false', JSON.stringify({ ...cfAnswer(), success: false })],
      ['empty v4 list', JSON.stringify({ ...cfAnswer(), result: { ipv4_cidrs: [], ipv6_cidrs: ['2400:cb00::/32'] } })],
      ['the whole world', JSON.stringify(world)],
      ['not a CIDR', JSON.stringify(cfAnswer(['10.0.0.300/32']))],
      ['half the list replaced', JSON.stringify({ ...cfAnswer(), result: { ...(cfAnswer().result as object), ipv4_cidrs: ['198.51.100.0/24', '203.0.113.0/24', '192.0.2.0/24'] } })],
    ];
    for (const [why, body] of bad) {
      await serveCf(app, body);
      const cursor = /-- cursor: (\S+)/.exec(await sudo(app, ['journalctl', '-n', '0', '--show-cursor', '--no-pager']))?.[1] as string;
      const r = await app.ssh(['sudo', '-n', 'systemctl', 'start', 'cf-allowlist.service'], { timeoutMs: 180_000 });
      expect(r.exitCode, `${why}: the refresh should fail`).not.toBe(0);
      // The tool's own lines (SyslogIdentifier=cf-allowlist), not systemd's: exactly one, saying why.
      // journald reads a unit's output stream on its own time, so the line may land after
      // `systemctl start` returned: wait for it (bounded), then a moment for any second line.
      const read = async () => (await sudo(app, ['journalctl', '-t', 'cf-allowlist', '--after-cursor', cursor, '-o', 'cat', '--no-pager'])).trim().split('\n').filter(Boolean);
      for (let t = Date.now(); (await read()).length === 0 && Date.now() - t < 30_000; ) await new Promise((res) => setTimeout(res, 1_000));
      await new Promise((res) => setTimeout(res, 2_000));
      const journal = await read();
      expect(journal, why).toHaveLength(1);
      expect(journal[0], why).toMatch(/^cf-allowlist: /);
      expect(await cfSet(), why).toBe(good);
    }
    // The last good answer again: loaded, the smoke passes.
    await serveCf(app, JSON.stringify(cfAnswer()));
    await sudo(app, ['systemctl', 'start', 'cf-allowlist.service'], { timeoutMs: 180_000 });
    expect(await cfSet()).toBe(good);
  });

  it('the stateful VM destroyed; a new one restored from the bucket holds the same data; smoke passes', async () => {
    needUp();
    const store = execFileSync('ssh', [...stateful.sshArgs(), '-l', stateful.sshUser, '127.0.0.1', `sudo -n tar -C ${STORE} -cf - .`], { maxBuffer: 512 << 20 });
    await stateful.stop();
    const second = await statefulHost(snap, link, 'fc-stateful2');
    stateful = second;
    execFileSync('ssh', [...second.sshArgs(), '-l', second.sshUser, '127.0.0.1', `sudo -n sh -c 'rm -rf ${STORE} && install -d -m 0700 ${STORE} && tar -C ${STORE} -xf -'`], { input: store });
    await sudo(second, ['sh', '-c', `ip addr add ${EDGE}/24 dev "$(ip -o -4 addr show to ${PRIVATE_SUBNET} | awk '{print $2; exit}')"`]);
    sshConfig = combinedSshConfig(mkdtempSync(join(tmpdir(), 'familycart-ssh-')), [second, app]);
    const stOnly = envFile({ PRIVATE_IP: `10.77.0.${HOSTS.stateful}`, APP_CIDRS: `10.77.0.${HOSTS.app}/32` });
    const base = envFile(await baseValues(second));
    for (const rb of ['base-host', 'familycart.stateful', 'familycart.restore']) {
      const r = await on(second, rb, rb === 'base-host' ? [base] : [env, stOnly]);
      expect(r.exitCode, `${rb}: ${explain(r)}`).toBe(0);
    }
    const after = JSON.parse((await viaEdge('/api/v1/items')).body) as { name: string }[];
    expect(after.map((i) => i.name)).toEqual(['milk', 'bread', 'eggs', 'apples', 'coffee']);
    const s = await smoke();
    expect(s.exitCode, explain(s)).toBe(0);
  });
});

