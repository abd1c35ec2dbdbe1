// Gratonite on a real ARM64 VM, the sequence end to end: a fresh host -> weak secrets
// refused, nothing started -> generated secrets -> base-host, then the bring-up in order, each
// gate seen passing -> the smoke checklist green from outside the host -> what a second host on
// the private link can and cannot reach -> a broken API tag stopped at its gate -> rollback
// (refused across migrations not marked compatible, then allowed) -> smoke green again -> reboot
// -> everything back in order.
//
// Real here: Docker, PostgreSQL and Redis (the test images built from Debian packages), Caddy with
// its local CA (the test makes the CA, so the checks can trust it before Caddy starts), coturn, the
// registry the deploys pull from, nftables, systemd. Stand-ins (test/standins): the Gratonite API
// and web, and MinIO's server and client. LiveKit is left disabled (no image of it can be built
// here), so the voice half of the last check is not exercised.
//
// The checks run on this machine, outside the VM: QEMU forwards 127.0.0.1 ports to the VM's 443
// and 3478 (TCP and UDP), so they arrive from the user network's gateway as from the internet.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Link, createLink } from '../vm/link.ts';
import { restoreVm } from '../vm/snapshot.ts';
import { type Vm, stopAllVms } from '../../lib/vm/vm.ts';
import { dockerHostSnapshot } from '../containers/docker-host.ts';
import { sudo } from '../containers/vm-docker.ts';
import { DOMAIN, type GratoniteHost, HOST_ADDR, REGISTRY, gratoniteHost } from './gratonite-host.ts';
import { type CliRun, envFile, explain, runbook } from './runbook-cli.ts';

const LONG = 30 * 60_000;
// Opt-in (RUNBOOK_GRATONITE_VM_TEST=1) until it passes here and fits CI's time. Its last run
// (beside the central-db VM test, load about 5) passed the refusals, the generated secrets,
// base-host and the whole bring-up with every gate and an unchanged re-run (26 min), the private
// link's open and closed ports, the broken tag stopped at its gate, and the rollback itself. It
// failed on two things: the smoke's TURN check got no UDP answer through QEMU's UDP forward (every
// other smoke check passed), and after the reboot the API container stayed "unhealthy" in Docker's
// eyes (its healthcheck starts Node, which outlived even a 30 s timeout on that loaded VM) while
// /health answered. Both are still to be looked at.
const runIt = process.env.RUNBOOK_VM_TESTS !== '0' && process.env.RUNBOOK_GRATONITE_VM_TEST === '1';
const lines = (r: CliRun) => r.of('log').map((e) => e.message);
const smokeLines = (r: CliRun) => lines(r).filter((l) => /^(ok  |FAIL) /.test(l));

describe.skipIf(!runIt)('Gratonite on an ARM64 VM', () => {
  let link: Link;
  let host: GratoniteHost;
  let vm: Vm;
  let client: Vm;
  let secretsFile: string;
  // Each later test needs the bring-up: without it they fail at once instead of waiting out their bounds.
  let up = false;
  const needUp = () => {
    if (!up) throw new Error('the bring-up did not pass (see the test before); nothing to check');
  };
  const site = (extra?: Record<string, string>) => host.site(extra);
  const run = (name: string, env: string[], extra: string[] = [], timeoutMs = LONG) => host.run(name, env, extra, timeoutMs);

  beforeAll(async () => {
    link = await createLink('gratonite');
    host = await gratoniteHost('gratonite', link);
    vm = host.vm;
    client = await restoreVm((await dockerHostSnapshot()).snapshot, { name: 'outside', link: link.host(22) });
  }, 60 * 60_000);

  afterAll(async () => {
    await stopAllVms();
    link?.close();
  });

  it('refuses weak and missing secrets before anything is written or started', async () => {
    const weak = envFile({ JWT_SECRET: 'dev-secret-change-me-in-production-please-now', ENCRYPTION_KEY: '0123456789abcdef0123456789abcdef', POSTGRES_PASSWORD: 'gratonite123' });
    const r = await run('gratonite', [site(), weak], [], 5 * 60_000);
    expect(r.exitCode, explain(r)).toBe(3);
    const said = r.stdout + r.stderr;
    for (const k of ['JWT_SECRET', 'ENCRYPTION_KEY', 'POSTGRES_PASSWORD', 'MINIO_SECRET_KEY']) expect(said).toContain(k);
    expect(said).not.toMatch(/dev-secret-change-me|gratonite123/);
    expect(said).not.toMatch(/unknown variable/);
    const left = await sudo(vm, ['sh', '-c', 'ls -A /opt/gratonite 2>/dev/null | wc -l; docker ps -aq | wc -l']);
    expect(left.trim().split('\n')).toEqual(['0', '0']);
  }, 10 * 60_000);

  it('generates every secret into a new mode-600 file without printing one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gratonite-secrets-'));
    secretsFile = join(dir, 'secrets.env');
    const r = await runbook(['run', 'gratonite.secrets', '--target', 'local', '--env', envFile({ GENERATE_INTO: secretsFile }), '--json']);
    expect(r.exitCode, explain(r)).toBe(0);
    const text = readFileSync(secretsFile, 'utf8');
    const jwt = /^JWT_SECRET=(.+)$/m.exec(text)?.[1] ?? '';
    expect(jwt.length).toBeGreaterThanOrEqual(64);
    expect(r.stdout + r.stderr).not.toContain(jwt);
  });

  it('base-host, then the bring-up in order: each gate passes, the deploy is recorded', async () => {
    const b = await run('base-host', [host.baseEnv]);
    expect(b.exitCode, explain(b)).toBe(0);
    const r = await run('gratonite', [site(), secretsFile]);
    expect(r.exitCode, explain(r)).toBe(0);
    const order = r.events.flatMap((e) => (e.type === 'step-changed' || e.type === 'step-unchanged' ? [e.id] : [])).filter((id) => /^gratonite\.(stateful|migrate|api|web|websocket|upload|record)$/.test(id));
    expect(order).toEqual(['gratonite.stateful', 'gratonite.migrate', 'gratonite.api', 'gratonite.web', 'gratonite.websocket', 'gratonite.upload', 'gratonite.record']);
    // The deploy pulled its tag from the registry; the env files are mode 600 and no secret is in argv or the log.
    const st = await sudo(vm, ['sh', '-c', 'stat -c "%n %a" /opt/gratonite/api.env /opt/gratonite/stateful.env; docker image inspect --format "{{.Os}}/{{.Architecture}}" 127.0.0.1:5000/gratonite/api:v1']);
    expect(st.trim().split('\n')).toEqual(['/opt/gratonite/api.env 600', '/opt/gratonite/stateful.env 600', 'linux/arm64']);
    const jwt = /^JWT_SECRET=(.+)$/m.exec(readFileSync(secretsFile, 'utf8'))?.[1] ?? '';
    expect(r.stdout + r.stderr).not.toContain(jwt);
    const again = await run('gratonite', [site(), secretsFile]);
    expect(again.exitCode, explain(again)).toBe(0);
    expect(again.of('run-end')[0]?.changed, explain(again)).toBe(0);
    up = true;
  }, 2 * LONG);

  it('the smoke checklist passes from outside the host, one line per check', async () => {
    needUp();
    const r = await run('gratonite.smoke', [site(), secretsFile], [], 10 * 60_000);
    expect(r.exitCode, explain(r)).toBe(0);
    const got = smokeLines(r);
    for (const name of ['health', 'register-login', 'realtime', 'attachment', 'public-file', 'turn-voice']) expect(got.some((l) => l.startsWith(`ok   ${name}:`)), got.join('\n')).toBe(true);
  }, 15 * 60_000);

  it('from a second host on the private link: 80 and 443 open (HTTP redirects to HTTPS), SSH, the API, the web and the databases not', async () => {
    needUp();
    const probe = async (port: number) => (await client.ssh(['nc', '-z', '-w', '3', HOST_ADDR, String(port)], { timeoutMs: 30_000 })).exitCode === 0;
    const open: Record<number, boolean> = {};
    for (const p of [80, 443, 3478, 22, 4000, 8080, 5432, 6379, 9000]) open[p] = await probe(p);
    expect(open).toEqual({ 80: true, 443: true, 3478: true, 22: false, 4000: false, 8080: false, 5432: false, 6379: false, 9000: false });
    const redirect = await client.ssh(['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code} %{redirect_url}', '--resolve', `app.${DOMAIN}:80:${HOST_ADDR}`, `http://app.${DOMAIN}/x`], { timeoutMs: 60_000 });
    expect(redirect.stdout.trim()).toBe(`308 https://app.${DOMAIN}/x`);
  }, 5 * 60_000);

  it('a broken API tag stops at its gate: the web is not touched, nothing is recorded', async () => {
    needUp();
    const r = await run('gratonite', [site({ GRATONITE_TAG: 'v2', MIGRATIONS_BACKWARD_COMPATIBLE: 'no', HEALTH_DEADLINE_SECONDS: '90' }), secretsFile]);
    expect(r.exitCode, explain(r)).toBe(1);
    expect(r.of('run-end')[0]?.error?.message).toMatch(/gate 3 \(API v2 \/health status ok; the web was not started\).*503/);
    const images = await sudo(vm, ['docker', 'ps', '--format', '{{.Names}} {{.Image}}', '--filter', 'name=gratonite-web-1']);
    expect(images.trim()).toBe(`gratonite-web-1 ${REGISTRY}/gratonite/web:v1`);
    const deploys = JSON.parse(await sudo(vm, ['cat', '/var/lib/gratonite/deploys.json'])) as { deploys: { tag: string }[] };
    expect(deploys.deploys.map((d) => d.tag)).toEqual(['v1']);
  }, LONG);

  it('rollback refuses to cross migrations not marked compatible, then goes back when told to, and the smoke passes again', async () => {
    needUp();
    const refused = await run('gratonite.rollback', [site(), secretsFile]);
    expect(refused.exitCode, explain(refused)).not.toBe(0);
    expect(refused.stderr + refused.stdout).toMatch(/backward compatible/);
    const r = await run('gratonite.rollback', [site({ ROLLBACK_ACROSS_MIGRATIONS: 'yes' }), secretsFile]);
    expect(r.exitCode, explain(r)).toBe(0);
    expect(smokeLines(r).filter((l) => l.startsWith('ok   '))).toHaveLength(6);
    const api = await sudo(vm, ['docker', 'ps', '--format', '{{.Image}}', '--filter', 'name=gratonite-api-1']);
    expect(api.trim()).toBe(`${REGISTRY}/gratonite/api:v1`);
  }, LONG);

  it('after a reboot everything comes back: containers healthy, Caddy and coturn up, the smoke green', async () => {
    needUp();
    await vm.reboot();
    const deadline = Date.now() + 15 * 60_000;
    let seen = '';
    for (;;) {
      seen = await sudo(vm, ['sh', '-c', 'docker ps --format "{{.Names}} {{.Status}}" | sort; systemctl is-active caddy coturn']).catch((e: Error) => e.message);
      if (/gratonite-postgres-1 Up.*\(healthy\)/.test(seen) && /gratonite-api-1 Up.*\(healthy\)/.test(seen) && /gratonite-web-1 Up/.test(seen) && !/inactive|failed|activating/.test(seen)) break;
      if (Date.now() > deadline) throw new Error(`not back within 15 min after the reboot:\n${seen}`);
      await new Promise((res) => setTimeout(res, 10_000));
    }
    const r = await run('gratonite.smoke', [site(), secretsFile], [], 10 * 60_000);
    expect(r.exitCode, explain(r)).toBe(0);
  }, 30 * 60_000);
});
