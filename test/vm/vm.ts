// The ARM64 test host: boots the cached Debian 12 arm64 image under qemu-system-aarch64 with a
// NoCloud seed, forwards SSH (and chosen ports) from 127.0.0.1 only, user networking restricted.
import { execa } from 'execa';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { shJoin } from '../../lib/core/quote.ts';
import { waitFor } from '../../lib/core/wait.ts';

const HERE = new URL('.', import.meta.url).pathname;
const ROOT = resolve(HERE, '../..');

export interface Image {
  dir: string;
  disk: string;
  kernel: string;
  initrd: string;
}

export interface VmOptions {
  /** The project's own user-data (rendered), as the first boot sees it. */
  userData: string;
  name?: string;
  memoryMiB?: number;
  /** Blank disks attached after the root disk (/dev/vdb, /dev/vdc, ...), like OCI block volumes. */
  extraDisks?: { sizeMiB: number }[];
  /** Guest TCP ports to forward from 127.0.0.1. */
  forwards?: number[];
  /** The user the harness logs in as by default. */
  sshUser?: string;
}

export interface SshResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

let imagePromise: Promise<Image> | undefined;

/** Builds the image once per process (or reuses the verified cache entry). */
export function ensureImage(): Promise<Image> {
  imagePromise ??= (async () => {
    const r = await execa('bash', [join(HERE, 'build-image.sh')], { stderr: 'inherit', timeout: 40 * 60_000 });
    const dir = String(r.stdout).trim().split('\n').at(-1) as string;
    return { dir, disk: join(dir, 'disk.qcow2'), kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img') };
  })();
  return imagePromise;
}

let keyDir: string | undefined;
/** The operator key pair of this test run (ed25519, no passphrase). */
export function testKey(): { privatePath: string; publicKey: string } {
  if (!keyDir) {
    keyDir = mkdtempSync(join(tmpdir(), 'runbook-key-'));
    execaSyncKeygen(join(keyDir, 'id_ed25519'), 'operator@runbook-tests');
  }
  return { privatePath: join(keyDir, 'id_ed25519'), publicKey: readFileSync(join(keyDir, 'id_ed25519.pub'), 'utf8').trim() };
}

function execaSyncKeygen(path: string, comment: string): void {
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
}
import { spawnSync } from 'node:child_process';

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => res(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of running) if (c.pid) try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ }
});

export class Vm {
  readonly hostPorts: Record<number, number> = {};
  sshPort = 0;
  readonly keyPath: string;
  readonly knownHostsPath: string;
  readonly sshConfigPath: string;
  #child: ChildProcess | undefined;
  #exited = false;

  constructor(readonly dir: string, readonly sshUser: string) {
    this.keyPath = testKey().privatePath;
    this.knownHostsPath = join(dir, 'known_hosts');
    this.sshConfigPath = join(dir, 'ssh_config');
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** ssh options for the harness and, through --ssh-config, for the runbook CLI. */
  sshArgs(user = this.sshUser): string[] {
    return ['-F', this.sshConfigPath, '-p', String(this.sshPort), '-l', user, '127.0.0.1'];
  }

  target(user = this.sshUser): string {
    return `ssh://${user}@127.0.0.1:${this.sshPort}`;
  }

  async ssh(argv: string[], o: { input?: string; timeoutMs?: number; user?: string } = {}): Promise<SshResult> {
    const r = await execa('ssh', [...this.sshArgs(o.user), shJoin(argv)], { input: o.input ?? '', reject: false, timeout: o.timeoutMs ?? 120_000 });
    return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? 255 };
  }

  async waitForSsh(deadlineMs = 300_000, user = this.sshUser): Promise<void> {
    await waitFor(
      async () => {
        if (this.#exited) return { done: false, retryable: false, reason: `qemu exited; console:\n${this.console(40)}` };
        const r = await this.ssh(['true'], { timeoutMs: 20_000, user });
        return r.exitCode === 0 ? { done: true, value: undefined } : { done: false, reason: r.stderr.trim().split('\n').at(-1) ?? `exit ${r.exitCode}` };
      },
      { what: `SSH on 127.0.0.1:${this.sshPort}`, deadlineMs, initialDelayMs: 2_000, maxDelayMs: 5_000 },
    );
  }

  /** Waits for cloud-init to finish; throws with diagnostics when it reports an error. */
  async waitForCloudInit(deadlineMs = 600_000): Promise<string> {
    const r = await this.ssh(['cloud-init', 'status', '--wait', '--long'], { timeoutMs: deadlineMs });
    if (r.exitCode !== 0 || !/status: done/.test(r.stdout)) {
      throw new Error(`cloud-init did not finish cleanly (exit ${r.exitCode}):\n${r.stdout}\n${r.stderr}\n${await this.diagnostics()}`);
    }
    return r.stdout;
  }

  async bootId(): Promise<string> {
    return (await this.ssh(['cat', '/proc/sys/kernel/random/boot_id'], { timeoutMs: 20_000 })).stdout.trim();
  }

  async reboot(deadlineMs = 300_000): Promise<void> {
    const before = await this.bootId();
    await this.ssh(['sudo', 'systemctl', 'reboot'], { timeoutMs: 20_000 });
    await waitFor(
      async () => {
        const r = await this.ssh(['cat', '/proc/sys/kernel/random/boot_id'], { timeoutMs: 15_000 });
        return r.exitCode === 0 && r.stdout.trim() && r.stdout.trim() !== before ? { done: true, value: undefined } : { done: false, reason: 'still the old boot' };
      },
      { what: 'reboot', deadlineMs, initialDelayMs: 5_000, maxDelayMs: 5_000 },
    );
  }

  console(lines = 80): string {
    const p = join(this.dir, 'console.log');
    return existsSync(p) ? readFileSync(p, 'utf8').split('\n').slice(-lines).join('\n') : '(no console output)';
  }

  /** Serial console tail, journal of this boot and cloud-init's logs, for a failed test. */
  async diagnostics(): Promise<string> {
    const parts = [`--- serial console (tail)\n${this.console()}`];
    if (!this.#exited) {
      for (const argv of [['sudo', 'journalctl', '-b', '--no-pager', '-n', '150'], ['sudo', 'tail', '-n', '60', '/var/log/cloud-init.log'], ['sudo', 'tail', '-n', '60', '/var/log/cloud-init-output.log']]) {
        const r = await this.ssh(argv, { timeoutMs: 30_000 });
        parts.push(`--- ${argv.slice(1).join(' ')}\n${r.stdout}${r.stderr}`);
      }
    }
    return parts.join('\n');
  }

  start(args: string[]): void {
    const child = spawn('qemu-system-aarch64', args, { stdio: ['ignore', 'ignore', 'pipe'], detached: false });
    child.stderr?.on('data', (d: Buffer) => writeFileSync(join(this.dir, 'qemu.err'), d, { flag: 'a' }));
    child.on('exit', () => {
      this.#exited = true;
      running.delete(child);
    });
    running.add(child);
    this.#child = child;
  }

  /** Stops qemu by its PID (TERM, then KILL) and removes the VM's files unless RUNBOOK_KEEP_VM=1. */
  async stop(): Promise<void> {
    const c = this.#child;
    if (c?.pid && !this.#exited) {
      c.kill('SIGTERM');
      const t0 = Date.now();
      while (!this.#exited && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 100));
      if (!this.#exited) c.kill('SIGKILL');
    }
    if (process.env.RUNBOOK_KEEP_VM !== '1') rmSync(this.dir, { recursive: true, force: true });
  }
}

function vendorData(hostPriv: string, hostPub: string, operatorKey: string): string {
  const indent = (s: string) => s.trim().split('\n').map((l) => `    ${l}`).join('\n');
  return [
    '#cloud-config',
    '# Test harness vendor-data (the role of the cloud provider): fixed host keys so host-key',
    '# checking stays on, and the operator key for the image\'s default user.',
    'ssh_deletekeys: true',
    'ssh_genkeytypes: []',
    'ssh_keys:',
    '  ed25519_private: |',
    indent(hostPriv),
    `  ed25519_public: ${hostPub.trim()}`,
    'ssh_authorized_keys:',
    `  - ${operatorKey}`,
    '',
  ].join('\n');
}

/** Boots a VM from the cached image with the given user-data; resolves when SSH answers. */
export async function bootVm(o: VmOptions): Promise<Vm> {
  const image = await ensureImage();
  const base = join(ROOT, 'test/.tmp');
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, `vm-${o.name ?? 'host'}-`));
  const vm = new Vm(dir, o.sshUser ?? 'debian');
  const run = (f: string, a: string[]) => execa(f, a, { cwd: dir, timeout: 120_000 });

  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', image.disk, 'root.qcow2']);
  const disks: string[] = [];
  for (const [i, d] of (o.extraDisks ?? []).entries()) {
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', `volume${i}.qcow2`, `${d.sizeMiB}M`]);
    disks.push(`volume${i}.qcow2`);
  }
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'vm-host-key', '-f', 'host_key']);
  const hostPriv = readFileSync(join(dir, 'host_key'), 'utf8');
  const hostPub = readFileSync(join(dir, 'host_key.pub'), 'utf8');
  const seed = join(dir, 'seed');
  mkdirSync(seed);
  writeFileSync(join(seed, 'user-data'), o.userData);
  writeFileSync(join(seed, 'vendor-data'), vendorData(hostPriv, hostPub, testKey().publicKey));
  writeFileSync(join(seed, 'meta-data'), `instance-id: iid-${Date.now().toString(36)}\nlocal-hostname: ${o.name ?? 'runbook-vm'}\n`);
  await run('genisoimage', ['-quiet', '-output', 'seed.iso', '-volid', 'cidata', '-joliet', '-rock', 'seed/user-data', 'seed/meta-data', 'seed/vendor-data']);

  vm.sshPort = await freePort();
  const fwds = [`hostfwd=tcp:127.0.0.1:${vm.sshPort}-:22`];
  for (const g of o.forwards ?? []) {
    vm.hostPorts[g] = await freePort();
    fwds.push(`hostfwd=tcp:127.0.0.1:${vm.hostPorts[g]}-:${g}`);
  }
  writeFileSync(vm.knownHostsPath, `[127.0.0.1]:${vm.sshPort} ${hostPub.trim().split(' ').slice(0, 2).join(' ')}\n`);
  writeFileSync(
    vm.sshConfigPath,
    [
      'Host 127.0.0.1',
      `  IdentityFile ${vm.keyPath}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${vm.knownHostsPath}`,
      '  GlobalKnownHostsFile /dev/null',
      '  StrictHostKeyChecking yes',
      '  BatchMode yes',
      '  ConnectTimeout 15',
      '  LogLevel ERROR',
      '',
    ].join('\n'),
  );

  const args = [
    '-M', 'virt', '-cpu', 'max,pauth-impdef=on', '-smp', '2', '-m', String(o.memoryMiB ?? 2048),
    '-display', 'none', '-monitor', 'none', '-serial', `file:${join(dir, 'console.log')}`,
    '-kernel', image.kernel, '-initrd', image.initrd,
    '-append', 'root=/dev/vda rw console=ttyAMA0 net.ifnames=0 quiet',
    '-drive', `file=${join(dir, 'root.qcow2')},if=virtio,format=qcow2,cache=unsafe`,
    ...disks.flatMap((d) => ['-drive', `file=${join(dir, d)},if=virtio,format=qcow2,cache=writeback`]),
    '-drive', `file=${join(dir, 'seed.iso')},if=virtio,format=raw,readonly=on`,
    '-netdev', `user,id=n0,restrict=on,${fwds.join(',')}`,
    '-device', 'virtio-net-pci,netdev=n0',
    '-device', 'virtio-rng-pci',
    '-pidfile', join(dir, 'qemu.pid'),
  ];
  vm.start(args);
  try {
    await vm.waitForSsh();
  } catch (err) {
    const diag = vm.console(60);
    await vm.stop();
    throw new Error(`${(err as Error).message}\n${diag}`);
  }
  return vm;
}
