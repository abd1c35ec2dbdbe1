// The VM harness itself: the image cache refuses partial or corrupt entries, a VM boots aarch64
// Debian 12 with cloud-init, SSH works with host-key checking on, forwards and extra disks work,
// and stopping leaves nothing behind. RUNBOOK_VM_TESTS=0 skips the VM part (not the cache checks).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootVm, ensureImage, stopAllVms, type Vm } from '../../lib/vm/vm.ts';

const script = join(import.meta.dirname, 'build-image.sh');
const vmTests = process.env.RUNBOOK_VM_TESTS !== '0';

describe('image cache entries', () => {
  const key = execFileSync('bash', [script, '--key']).toString().trim();
  let cache: string;
  let entry: string;
  const noBuild = () => spawnSync('bash', [script, '--no-build'], { env: { ...process.env, RUNBOOK_CACHE_DIR: cache }, encoding: 'utf8', timeout: 30_000 });

  beforeAll(() => {
    cache = mkdtempSync(join(tmpdir(), 'runbook-cache-'));
  });
  afterAll(() => rmSync(cache, { recursive: true, force: true }));
  // A small fake entry at the real key: three files and their checksums, like a finished build.
  function fakeEntry(): void {
    entry = join(cache, 'images', key);
    rmSync(entry, { recursive: true, force: true });
    mkdirSync(entry, { recursive: true });
    for (const f of ['disk.qcow2', 'vmlinuz', 'initrd.img']) writeFileSync(join(entry, f), `${f} contents\n`.repeat(100));
    writeFileSync(join(entry, 'SHA256SUMS'), execFileSync('sha256sum', ['disk.qcow2', 'vmlinuz', 'initrd.img'], { cwd: entry }));
  }

  it('the key is 16 hex digits', () => {
    expect(key).toMatch(/^[0-9a-f]{16}$/);
  });

  it('an intact entry is reused and its folder is the last stdout line', () => {
    fakeEntry();
    const r = noBuild();
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n').at(-1)).toBe(entry);
  });

  const corruptions: [string, () => void][] = [
    ['truncated SHA256SUMS', () => truncateSync(join(entry, 'SHA256SUMS'), 40)],
    ['missing SHA256SUMS (a build that never finished)', () => rmSync(join(entry, 'SHA256SUMS'))],
    ['a changed disk', () => writeFileSync(join(entry, 'disk.qcow2'), 'bit rot', { flag: 'a' })],
    ['a missing kernel', () => rmSync(join(entry, 'vmlinuz'))],
  ];
  for (const [what, corrupt] of corruptions) {
    it(`an entry with ${what} is deleted, not used`, () => {
      fakeEntry();
      corrupt();
      const r = noBuild();
      expect(r.status).toBe(3);
      expect(r.stderr).toMatch(/incomplete or corrupt/);
      expect(r.stdout).not.toContain(entry);
      expect(existsSync(entry)).toBe(false);
    });
  }
});

describe.skipIf(!vmTests)('ARM64 VM harness', () => {
  let vm: Vm;
  let bootMs = 0;
  beforeAll(async () => {
    await ensureImage();
    const t0 = Date.now();
    vm = await bootVm({
      name: 'harness',
      userData: '#cloud-config\n{}\n',
      vendorData: '#cloud-config\nwrite_files:\n  - path: /etc/vendor-marker\n    content: from vendor-data\n',
      extraDisks: [{ sizeMiB: 64 }],
      forwards: [{ guestPort: 8080 }],
    });
    bootMs = Date.now() - t0;
  }, 900_000);
  afterAll(stopAllVms, 60_000);

  it('boots aarch64 Debian 12 and finishes cloud-init', async () => {
    const t0 = Date.now();
    const status = await vm.waitForCloudInit();
    console.log(`boot to SSH ${(bootMs / 1000).toFixed(1)} s; cloud-init done ${((bootMs + Date.now() - t0) / 1000).toFixed(1)} s after qemu start`);
    expect(status).toMatch(/status: done/);
    expect((await vm.ssh(['uname', '-m'])).stdout.trim()).toBe('aarch64');
    expect((await vm.ssh(['cat', '/etc/debian_version'])).stdout).toMatch(/^12\./);
    expect((await vm.ssh(['cat', '/etc/vendor-marker'])).stdout).toBe('from vendor-data');
    // The harness's own seed is schema-clean, and sudo resolves the meta-data hostname quietly.
    expect((await vm.ssh(['sudo', '-n', 'grep', '-c', 'Invalid cloud-config', '/var/log/cloud-init.log'])).stdout.trim()).toBe('0');
    const sudo = await vm.ssh(['sudo', '-n', 'true']);
    expect([sudo.exitCode, sudo.stderr]).toEqual([0, '']);
  }, 900_000);

  it('the guest sees the host as the user-network gateway 10.0.2.2', async () => {
    expect((await vm.ssh(['sh', '-c', 'echo $SSH_CONNECTION'])).stdout).toMatch(/^10\.0\.2\.2 /);
  }, 60_000);

  it('refuses a host whose key does not match (host-key checking stays on)', async () => {
    const d = mkdtempSync(join(tmpdir(), 'kh-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(d, 'key')]);
    const pub = readFileSync(join(d, 'key.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(join(d, 'known_hosts'), `[127.0.0.1]:${vm.sshPort} ${pub}\n`);
    const args = vm.sshArgs().map((a) => (a.startsWith('UserKnownHostsFile=') ? `UserKnownHostsFile=${join(d, 'known_hosts')}` : a));
    const r = spawnSync('ssh', [...args, '-l', vm.sshUser, '127.0.0.1', 'true'], { encoding: 'utf8', timeout: 30_000 });
    rmSync(d, { recursive: true, force: true });
    expect(r.status).toBe(255);
    expect(r.stderr).toMatch(/host key/i);
  }, 60_000);

  it('extra disks appear as blank /dev/vdb', async () => {
    const r = await vm.ssh(['lsblk', '-bdno', 'SIZE,TYPE', '/dev/vdb']);
    expect(r.stdout.trim()).toBe(`${64 * 1024 * 1024} disk`);
    expect((await vm.ssh(['sudo', '-n', 'blkid', '/dev/vdb'])).exitCode).not.toBe(0); // no filesystem yet
  }, 60_000);

  it('a guest port is forwarded to 127.0.0.1', async () => {
    const port = vm.hostPorts[8080];
    expect(port).toBeGreaterThan(0);
    await vm.ssh(['sh', '-c', 'mkdir -p /tmp/www && echo forwarded > /tmp/www/x && cd /tmp/www && setsid nohup python3 -m http.server 8080 >/dev/null 2>&1 < /dev/null &']);
    let body = '';
    const end = Date.now() + 60_000;
    while (!body && Date.now() < end) {
      body = await fetch(`http://127.0.0.1:${port}/x`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.text(), () => '');
      if (!body) await new Promise((r) => setTimeout(r, 1_000));
    }
    expect(body.trim()).toBe('forwarded');
  }, 90_000);

  it('a second build-image.sh run reuses the cache in seconds', async () => {
    const img = await ensureImage();
    const t0 = Date.now();
    const out = execFileSync('bash', [script], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    const ms = Date.now() - t0;
    console.log(`cached image reuse ${(ms / 1000).toFixed(1)} s`);
    expect(out.trim().split('\n').at(-1)).toBe(img.dir);
    expect(ms).toBeLessThan(30_000);
  }, 60_000);

  it('reboots and answers again from a new boot', async () => {
    const before = await vm.bootId();
    await vm.reboot();
    const after = await vm.bootId();
    expect(after).not.toBe('');
    expect(after).not.toBe(before);
  }, 700_000);

  it('stop() ends qemu by its PID and removes the VM folder', async () => {
    const pid = vm.pid as number;
    const dir = vm.dir;
    await vm.stop();
    if (process.env.RUNBOOK_KEEP_VM === '1') return;
    expect(() => process.kill(pid, 0)).toThrow();
    expect(existsSync(dir)).toBe(false);
  }, 60_000);
});
