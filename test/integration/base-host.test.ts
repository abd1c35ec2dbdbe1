// base-host on a real ARM64 VM: converge over SSH, re-run unchanged, dry-run without writes,
// refusals that keep the host reachable, and the same state reached by cloud-init on first boot.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootVm, testKey, type Vm } from '../../lib/vm/vm.ts';
import { brokenAssets, envFile, explain, runOn, runbook } from './runbook-cli.ts';

const GUEST_HTTP = 8080;
const baseEnv = () => ({
  ADMIN_USER: 'admin',
  ADMIN_SSH_KEYS: testKey().publicKey,
  // The guest sees the host's forwarded connections coming from the user-network gateway.
  OPERATOR_CIDRS: '10.0.2.2/32',
  SWAP_SIZE_MB: '128',
  JOURNAL_MAX_USE: '200M',
});

/** Whether an HTTP request through the forwarded port gets an answer from the guest. */
function httpAnswers(port: number, timeoutMs = 6_000): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ host: '127.0.0.1', port });
    let data = '';
    const done = (v: boolean) => {
      s.destroy();
      res(v);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.on('connect', () => s.write('GET / HTTP/1.0\r\n\r\n'));
    s.on('data', (d) => {
      data += d.toString();
      if (data.startsWith('HTTP/')) done(true);
    });
    s.on('error', () => done(false));
    s.on('close', () => done(data.startsWith('HTTP/')));
  });
}

describe('base-host over SSH on a fresh ARM64 VM', () => {
  let vm: Vm;
  const env = envFile(baseEnv());

  beforeAll(async () => {
    vm = await bootVm({ name: 'base-ssh', userData: '#cloud-config\n{}\n', forwards: [GUEST_HTTP] });
    await vm.waitForCloudInit();
    // A service the firewall must hide: reachable before the runbook, refused after.
    await vm.ssh(['sudo', 'systemd-run', '--unit=probe-http', 'python3', '-m', 'http.server', String(GUEST_HTTP)]);
    // Python takes seconds to start under emulation: wait (bounded) until it listens in the guest.
    const listening = await vm.ssh(
      ['sh', '-c', `for i in $(seq 1 120); do ss -Hltn 'sport = :${GUEST_HTTP}' | grep -q . && exit 0; sleep 0.5; done; exit 1`],
      { timeoutMs: 90_000 },
    );
    if (listening.exitCode !== 0) throw new Error(`probe-http never listened on ${GUEST_HTTP} in the guest within 60 s`);
  }, 900_000);

  afterAll(async () => {
    await vm?.stop();
  });

  it('is aarch64 and serves the probe port before the firewall', async () => {
    expect((await vm.ssh(['uname', '-m'])).stdout.trim()).toBe('aarch64');
    let ok = false;
    for (let i = 0; i < 10 && !ok; i++) {
      ok = await httpAnswers(vm.hostPorts[GUEST_HTTP] as number, 3_000);
      if (!ok) await new Promise((r) => setTimeout(r, 1_000));
    }
    expect(ok).toBe(true);
  }, 120_000);

  it('refuses rules that would lock the operator out, and the host stays reachable', async () => {
    const locked = envFile({ ...baseEnv(), OPERATOR_CIDRS: '192.0.2.0/24' });
    const r = await runOn(vm, 'base-host', locked, ['--yes']);
    expect(r.exitCode, explain(r)).toBe(4);
    expect(r.stdout).toMatch(/would lock you out/);
    expect((await vm.ssh(['true'])).exitCode).toBe(0);
    expect((await vm.ssh(['sudo', 'nft', 'list', 'table', 'inet', 'runbook'])).exitCode).not.toBe(0);
  }, 600_000);

  it('converges the host (first run)', async () => {
    const r = await runOn(vm, 'base-host', env, ['--yes']);
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.of('step-changed').map((e) => e.id)).toContain('base.nftables');
    expect(r.of('step-failed')).toEqual([]);
  }, 900_000);

  it('the admin logs in with the key; root and passwords are refused', async () => {
    expect((await vm.ssh(['sudo', '-n', 'true'], { user: 'admin' })).exitCode).toBe(0);
    expect((await vm.ssh(['true'], { user: 'root' })).exitCode).toBe(255);
    const t = (await vm.ssh(['sudo', 'sshd', '-T'], { user: 'admin' })).stdout;
    expect(t).toMatch(/^permitrootlogin no$/m);
    expect(t).toMatch(/^passwordauthentication no$/m);
  }, 120_000);

  it('the firewall admits SSH from the operator address and refuses everything else', async () => {
    expect(await httpAnswers(vm.hostPorts[GUEST_HTTP] as number)).toBe(false);
    expect((await vm.ssh(['true'], { user: 'admin' })).exitCode).toBe(0);
    const rules = (await vm.ssh(['sudo', 'nft', 'list', 'table', 'inet', 'runbook'], { user: 'admin' })).stdout;
    expect(rules).toMatch(/policy drop/);
    expect(rules).toMatch(/10\.0\.2\.2/);
  }, 120_000);

  it('swap, journald and unattended upgrades are in place', async () => {
    const swaps = (await vm.ssh(['cat', '/proc/swaps'], { user: 'admin' })).stdout;
    expect(swaps).toMatch(/^\/swapfile\s+file\s+131068\s/m);
    expect((await vm.ssh(['systemd-analyze', 'cat-config', 'systemd/journald.conf'], { user: 'admin' })).stdout).toMatch(/SystemMaxUse=200M/);
    expect((await vm.ssh(['apt-config', 'dump', 'APT::Periodic::Unattended-Upgrade'], { user: 'admin' })).stdout).toMatch(/"1"/);
  }, 120_000);

  it('a re-run changes nothing and says why for every step', async () => {
    const r = await runOn(vm, 'base-host', env, [], 'admin');
    expect(r.exitCode, explain(r)).toBe(0);
    const unchanged = r.of('step-unchanged');
    expect(unchanged).toHaveLength(8);
    expect(unchanged.every((e) => e.reason.length > 0)).toBe(true);
    expect(r.of('step-changed')).toEqual([]);
  }, 600_000);

  it('--dry-run on the converged host plans zero writes', async () => {
    const r = await runOn(vm, 'base-host', env, ['--dry-run'], 'admin');
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.of('write-planned')).toEqual([]);
    expect(r.of('step-unchanged')).toHaveLength(8);
  }, 600_000);

  it('a broken ruleset is rejected before anything is written, and SSH stays reachable', async () => {
    const assets = brokenAssets('nftables/base-host.nft', 'table inet runbook {\n\tchain input {\n\t\ttcp dport 22 ip saddr 10.0.2.2/40 accept\n\t}\n}\n');
    const r = await runOn(vm, 'base-host', env, ['--only', 'base.nftables', '--yes'], 'admin', { RUNBOOK_ASSETS_DIR: assets });
    expect(r.exitCode, explain(r)).toBe(1);
    expect(r.stdout).toMatch(/nft rejected the ruleset; nothing was changed/);
    expect((await vm.ssh(['true'], { user: 'admin' })).exitCode).toBe(0);
    const after = await runOn(vm, 'base-host', env, ['--only', 'base.nftables'], 'admin');
    expect(after.of('step-unchanged').map((e) => e.id)).toEqual(['base.nftables']);
  }, 600_000);

  it('keeps an audit trail on the host', async () => {
    const log = (await vm.ssh(['sudo', 'cat', '/var/log/runbook/audit.jsonl'], { user: 'admin' })).stdout.trim().split('\n').map((l) => JSON.parse(l) as { step: string; result: string; runbook: string });
    expect(log.some((l) => l.step === 'base.nftables' && l.result === 'changed')).toBe(true);
    expect(log.some((l) => l.step === 'base.nftables' && l.result === 'failed')).toBe(true);
    expect((await vm.ssh(['sudo', 'test', '-e', '/var/lib/runbook/run.lock'], { user: 'admin' })).exitCode).toBe(1);
  }, 60_000);
});

describe('base-host from cloud-init on first boot reaches the same state', () => {
  let vm: Vm;
  const env = envFile(baseEnv());

  beforeAll(async () => {
    const ud = await runbook(['user-data', 'base-host', '--env', env]);
    expect(ud.exitCode, ud.stderr).toBe(0);
    vm = await bootVm({ name: 'base-ci', userData: ud.stdout, sshUser: 'admin' });
    await vm.waitForCloudInit();
  }, 900_000);

  afterAll(async () => {
    await vm?.stop();
  });

  it('the runbook over SSH finds every step already done', async () => {
    const r = await runOn(vm, 'base-host', env, [], 'admin');
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.of('step-changed').map((e) => e.id)).toEqual([]);
    expect(r.of('step-unchanged')).toHaveLength(8);
  }, 600_000);
});
