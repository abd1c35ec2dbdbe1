// VM snapshots and private links: the snapshot cache refuses partial or corrupt entries; a
// restored VM has the right clock, its own hostname, the pinned host key and the operator key;
// two restores of one snapshot are independent, reach each other over their private link and
// nothing outside it. RUNBOOK_VM_TESTS=0 skips the VM part (not the cache checks).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLink, type Link } from './link.ts';
import { FRESH_HOST, ensureSnapshot, restoreVm, type Snapshot, type SnapshotSpec, snapshotKey } from './snapshot.ts';
import { stopAllVms, type Vm } from '../../lib/vm/vm.ts';

const vmTests = process.env.RUNBOOK_VM_TESTS !== '0';
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

describe('snapshot cache entries', () => {
  const spec: SnapshotSpec = { name: 'cache-check', vm: { userData: '#cloud-config\n{}\n' }, inputs: ['fake'] };
  let cache: string;
  let entry: string;
  const saved = process.env.RUNBOOK_CACHE_DIR;

  beforeAll(async () => {
    cache = mkdtempSync(join(tmpdir(), 'runbook-cache-'));
    process.env.RUNBOOK_CACHE_DIR = cache;
    entry = join(cache, 'snapshots', await snapshotKey(spec));
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.RUNBOOK_CACHE_DIR;
    else process.env.RUNBOOK_CACHE_DIR = saved;
    rmSync(cache, { recursive: true, force: true });
  });
  // A small fake entry at the real key: the files of a finished build and their checksums.
  function fakeEntry(): void {
    rmSync(entry, { recursive: true, force: true });
    mkdirSync(entry, { recursive: true });
    const files = ['state', 'root.qcow2', 'seed.iso', 'host_key', 'host_key.pub', 'operator_key', 'operator_key.pub'];
    for (const f of files) writeFileSync(join(entry, f), `${f} contents\n`.repeat(100));
    writeFileSync(join(entry, 'snapshot.json'), JSON.stringify({ key: 'fake', name: 'cache-check', sshUser: 'debian', disks: [] }));
    writeFileSync(join(entry, 'SHA256SUMS'), execFileSync('sha256sum', [...files, 'snapshot.json'], { cwd: entry }));
  }

  it('the key is 16 hex digits and follows the inputs', async () => {
    expect(await snapshotKey(spec)).toMatch(/^[0-9a-f]{16}$/);
    expect(await snapshotKey({ ...spec, inputs: ['other'] })).not.toBe(await snapshotKey(spec));
    expect(await snapshotKey({ ...spec, vm: { ...spec.vm, memoryMiB: 1024 } })).not.toBe(await snapshotKey(spec));
  });

  it('an intact entry is used as it is', async () => {
    fakeEntry();
    const snap = await ensureSnapshot(spec, { build: false });
    expect(snap.dir).toBe(entry);
    expect(snap.operatorKey.publicKey).toMatch(/^operator_key.pub contents/);
  });

  const corruptions: [string, () => void][] = [
    ['truncated SHA256SUMS', () => truncateSync(join(entry, 'SHA256SUMS'), 40)],
    ['missing SHA256SUMS (a build that never finished)', () => rmSync(join(entry, 'SHA256SUMS'))],
    ['a changed state file', () => writeFileSync(join(entry, 'state'), 'bit rot', { flag: 'a' })],
    ['a missing overlay', () => rmSync(join(entry, 'root.qcow2'))],
  ];
  for (const [what, corrupt] of corruptions) {
    it(`an entry with ${what} is deleted, not used (and would be rebuilt)`, async () => {
      fakeEntry();
      corrupt();
      await expect(ensureSnapshot(spec, { build: false })).rejects.toThrow(/no intact snapshot/);
      expect(existsSync(entry)).toBe(false);
    });
  }
});

describe.skipIf(!vmTests)('VMs restored from a snapshot, on a private link', () => {
  let snap: Snapshot;
  let link: Link;
  let a: Vm;
  let b: Vm;
  beforeAll(async () => {
    let t = Date.now();
    snap = await ensureSnapshot(FRESH_HOST);
    console.log(`snapshot ready in ${s(Date.now() - t)} (built in ${snap.meta.buildSeconds} s when it was made)`);
    link = await createLink('selftest');
    t = Date.now();
    a = await restoreVm(snap, { name: 'snap-a', link: link.host(11), forwards: [8080] });
    console.log(`restore to SSH, clock, hostname and link: ${s(Date.now() - t)}`);
    b = await restoreVm(snap, { name: 'snap-b', link: link.host(12) });
  }, 1_200_000);
  afterAll(async () => {
    await stopAllVms();
    link?.close();
  }, 60_000);

  it('answers SSH with the pinned host key and the operator key, and has its own hostname', async () => {
    expect((await a.ssh(['cat', '/etc/test-snapshot'])).stdout.trim()).toBe('fresh-host'); // from prepare()
    expect((await a.ssh(['hostname'])).stdout.trim()).toBe('snap-a');
    expect((await b.ssh(['hostname'])).stdout.trim()).toBe('snap-b');
    expect((await a.ssh(['cloud-init', 'status'])).stdout).toMatch(/status: done/); // not run again
    const sudo = await a.ssh(['sudo', '-n', 'true']); // resolves its new hostname quietly
    expect([sudo.exitCode, sudo.stderr]).toEqual([0, '']);
    expect(a.keyPath).toBe(snap.operatorKey.privatePath);
  }, 240_000);

  it('has the host clock, not the snapshot time (within 2 s)', async () => {
    const before = Date.now();
    const r = await a.ssh(['date', '+%s.%N']);
    const after = Date.now();
    const guest = Number(r.stdout.trim()) * 1000;
    console.log(`guest clock off by ${((guest - (before + after) / 2) / 1000).toFixed(2)} s (ssh call ${s(after - before)}); snapshot saved ${s(before - snap.meta.savedAt)} ago`);
    expect(guest).toBeGreaterThan(before - 2_000);
    expect(guest).toBeLessThan(after + 2_000);
  }, 60_000);

  it('two restores are independent: a file written in one is absent in the other', async () => {
    expect((await a.ssh(['sh', '-c', 'echo only-a > ~/only-here && sync'])).exitCode).toBe(0);
    expect((await a.ssh(['cat', 'only-here'])).stdout.trim()).toBe('only-a');
    expect((await b.ssh(['test', '-e', 'only-here'])).exitCode).toBe(1);
  }, 120_000);

  it('reach each other over the private link, both ways', async () => {
    expect(a.linkAddress).toBe('10.77.0.11');
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      await to.ssh(['sh', '-c', 'cd /etc && setsid nohup python3 -m http.server 7070 >/dev/null 2>&1 < /dev/null &']);
      let code = -1;
      for (let i = 0; i < 10 && code !== 0; i++) {
        code = (await from.ssh(['curl', '-sS', '--max-time', '5', '-o', '/dev/null', `http://${to.linkAddress}:7070/hostname`])).exitCode;
      }
      expect(code, `${from.name} -> ${to.linkAddress}`).toBe(0);
    }
    const nd = await a.ssh(['ip', 'neigh', 'show', '10.77.0.12']);
    expect(nd.stdout).toContain('52:54:00:4d:00:0c'); // b's own MAC, not the snapshot's
  }, 300_000);

  it('cannot reach anything outside the link: the host and other addresses fail', async () => {
    // A listener on the host's 127.0.0.1: user networking (restrict=on) must not let the guest in.
    let hits = 0;
    const server: Server = createServer((c) => {
      hits++;
      c.destroy();
    });
    const port = await new Promise<number>((res) => server.listen(0, '127.0.0.1', () => res((server.address() as { port: number }).port)));
    try {
      for (const url of [`http://10.0.2.2:${port}/`, 'http://10.77.0.1:80/', 'http://10.77.0.99:7070/']) {
        const r = await a.ssh(['curl', '-sS', '--max-time', '5', '-o', '/dev/null', url]);
        expect(r.exitCode, url).not.toBe(0);
      }
      const routes = (await a.ssh(['ip', '-4', 'route', 'show', 'dev', 'link0'])).stdout;
      expect(routes.trim()).toBe('10.77.0.0/24 proto kernel scope link src 10.77.0.11');
    } finally {
      server.close();
    }
    expect(hits).toBe(0);
  }, 120_000);

  it('a forwarded port of a restored VM reaches the guest from 127.0.0.1', async () => {
    await a.ssh(['sh', '-c', 'cd /etc && setsid nohup python3 -m http.server 8080 >/dev/null 2>&1 < /dev/null &']);
    let body = '';
    for (let i = 0; i < 30 && !body; i++) {
      body = await fetch(`http://127.0.0.1:${a.hostPorts[8080]}/test-snapshot`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.text(), () => '');
      if (!body) await new Promise((r) => setTimeout(r, 1_000));
    }
    expect(body.trim()).toBe('fresh-host');
  }, 90_000);
});
