// The ARM64 test host: boots the cached Debian 12 arm64 image under qemu-system-aarch64 with a
// NoCloud seed, forwards SSH (and chosen guest ports) from 127.0.0.1 only, and restricts user
// networking so the guest reaches nothing. Host-key checking stays on: the harness makes the
// VM's ed25519 host key and hands it over through NoCloud vendor-data.
//
// The `runbook` CLI's `--target vm` uses it too (a kept VM in the cache, see lib/vm/throwaway.ts),
// so it lives in lib/ and finds the project folder from wherever it is bundled.
//
// Env:
//   RUNBOOK_CACHE_DIR  image cache root (see build-image.sh)
//   RUNBOOK_VM_CPU     qemu -cpu model (default cortex-a72: under -cpu max, Node's JIT segfaulted now and then)
//   RUNBOOK_KEEP_VM=1  for iterating by hand only: stop() leaves the VM running and records it in
//                      test/.tmp/vm-<name>.json; a later bootVm() with the same name and the same
//                      options reuses it while its qemu is alive and SSH answers. The operator key
//                      then lives in test/.tmp/operator-key/ so it survives between runs.
import { execa } from 'execa';
import { Qmp } from './qmp.ts';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { shQuote } from '../core/quote.ts';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { LINK_SETUP_SCRIPT, type LinkAttachment, linkAddress, linkMac } from './link-nic.ts';
import { type Machine, launch, qemuArgs } from './machine.ts';

/** The project folder (the one whose package.json names oci-arm-runbooks), from source or a bundle. */
export function projectRoot(from = new URL('.', import.meta.url).pathname): string {
  for (let d = resolve(from); ; d = dirname(d)) {
    try {
      if ((JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) as { name?: string }).name === 'oci-arm-runbooks') return d;
    } catch {
      /* no package.json here */
    }
    if (dirname(d) === d) throw new Error(`no oci-arm-runbooks project folder above ${from}: the VM needs the project's image build (test/vm/build-image.sh)`);
  }
}
const ROOT = projectRoot();

/**
 * Where a VM's folders, records and operator key live, and whether it outlives this process.
 * Tests: test/.tmp, kept only with RUNBOOK_KEEP_VM=1. The CLI's throwaway VMs: the cache, kept.
 */
export interface VmHome {
  dir: string;
  keep: boolean;
}
export const testHome = (): VmHome => ({ dir: join(ROOT, 'test/.tmp'), keep: process.env.RUNBOOK_KEEP_VM === '1' });

export interface Image {
  dir: string;
  disk: string;
  kernel: string;
  initrd: string;
}

export interface VmOptions {
  /** The project's own user-data (rendered), as the first boot sees it. */
  userData: string;
  /** Extra `#cloud-config` vendor-data, merged under the harness's own (host key, operator key). */
  vendorData?: string;
  /** Names the VM's folder and its RUNBOOK_KEEP_VM record; also the guest's local-hostname. */
  name?: string;
  memoryMiB?: number;
  /** Blank disks attached after the root disk (/dev/vdb, /dev/vdc, ...), like OCI block volumes. */
  extraDisks?: { sizeMiB: number }[];
  /** Guest TCP ports forwarded from 127.0.0.1 (a number or { guestPort }, with `udp` UDP too on the same host port); see Vm.hostPorts. */
  forwards?: (number | { guestPort: number; udp?: boolean })[];
  /** The user the harness logs in as by default (the image's cloud-init default user: debian). */
  sshUser?: string;
  /** Deadline for SSH to answer after qemu starts (default 10 min). */
  bootTimeoutMs?: number;
  /** qemu -smp (default 2). */
  cpus?: number;
  /** A second NIC on a private link between VMs (createLink() in test/vm/link.ts), 10.77.0.<host>. */
  link?: LinkAttachment;
  /** Default: testHome(). */
  home?: VmHome;
}

export interface SshResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface KeyPair {
  privatePath: string;
  publicPath: string;
  /** "ssh-ed25519 AAAA... comment" */
  publicKey: string;
}

// ---------------------------------------------------------------------------------------------
// small helpers (kept local so the harness does not move with the runbook engine)

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export { shQuote };

/** Polls `attempt` until it returns a value (not undefined) or the deadline passes. */
async function poll<T>(what: string, deadlineMs: number, intervalMs: number, attempt: () => Promise<T | undefined>, last: () => string): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await attempt();
    if (v !== undefined) return v;
    const left = end - Date.now();
    if (left <= 0) throw new Error(`${what}: gave up after ${Math.round(deadlineMs / 1000)} s (last: ${last()})`);
    await sleep(Math.min(intervalMs, left));
  }
}

function pidAlive(pid: number, dir: string): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // Guard against PID reuse: the process must be the qemu of this VM folder.
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir);
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}


// ---------------------------------------------------------------------------------------------
// image and keys

let imagePromise: Promise<Image> | undefined;

/** Builds the image once per process, or reuses the verified cache entry (build-image.sh). */
export function ensureImage(): Promise<Image> {
  imagePromise ??= (async () => {
    const build = execa('bash', [join(ROOT, 'test/vm/build-image.sh')], { stdout: 'pipe', stderr: 'pipe', timeout: 60 * 60_000 });
    // Progress at least every 30 s: the script's own lines, or a line saying it is still at work.
    const t0 = Date.now();
    let lastLine = Date.now();
    build.stderr?.on('data', (b: Buffer) => {
      process.stderr.write(b);
      lastLine = Date.now();
    });
    const beat = setInterval(() => {
      if (Date.now() - lastLine < 25_000) return;
      process.stderr.write(`[image ${Math.round((Date.now() - t0) / 1000)}s] still working (build-image.sh)\n`);
      lastLine = Date.now();
    }, 5_000);
    const r = await build.finally(() => clearInterval(beat));
    const dir = String(r.stdout).trim().split('\n').at(-1) as string;
    return { dir, disk: join(dir, 'disk.qcow2'), kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img') };
  })();
  imagePromise.catch(() => {
    imagePromise = undefined;
  });
  return imagePromise;
}

export function keygen(path: string, comment: string): void {
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
}

let keyDir: string | undefined;
/**
 * The operator key pair (ed25519, no passphrase): one per process in a temporary folder, or, for
 * a kept home, in the home itself so it survives between runs.
 */
export function testKeyPair(home: VmHome = testHome()): KeyPair {
  if (home.keep) return keyPairIn(join(home.dir, 'operator-key'));
  keyDir ??= mkdtempSync(join(tmpdir(), 'runbook-key-'));
  return keyPairIn(keyDir);
}

function keyPairIn(dir: string): KeyPair {
  const privatePath = join(dir, 'id_ed25519');
  if (!existsSync(privatePath)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    keygen(privatePath, 'operator@runbook-vm');
  }
  return { privatePath, publicPath: `${privatePath}.pub`, publicKey: readFileSync(`${privatePath}.pub`, 'utf8').trim() };
}
/** Same as testKeyPair(). */
export const testKey = testKeyPair;

// ---------------------------------------------------------------------------------------------
// process bookkeeping: nothing is left running when the test process ends

const live = new Set<Vm>();
function killAllSync(): void {
  for (const vm of live) vm.killSync();
  if (keyDir) rmSync(keyDir, { recursive: true, force: true });
}
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    if (process.listenerCount(sig) > 0) continue; // someone else handles it; 'exit' still runs
    process.once(sig, () => {
      killAllSync();
      process.kill(process.pid, sig);
    });
  }
}

/** For test teardown (afterAll): stops every VM this process booted. */
export async function stopAllVms(): Promise<void> {
  await Promise.all([...live].map((vm) => vm.stop()));
}

// ---------------------------------------------------------------------------------------------

export interface KeptRecord {
  pid: number;
  sshPort: number;
  hostPorts: Record<number, number>;
  dir: string;
  sshUser: string;
  keyPath: string;
  fingerprint: string;
  startedAt: string;
}

export class Vm {
  readonly hostPorts: Record<number, number> = {};
  /** Guest ports whose host port (in hostPorts) forwards UDP as well as TCP. */
  readonly udpPorts: number[] = [];
  sshPort = 0;
  pid: number | undefined;
  readonly keyPath: string;
  readonly knownHostsPath: string;
  /** ssh_config with the same options as sshArgs(), for tools that take `ssh -F`. */
  readonly sshConfigPath: string;
  /** QMP socket of this VM's qemu (`-qmp unix:...`). */
  readonly qmpPath: string;
  /** The QMP connection, open while qemu runs (started by this process). */
  qmp: Qmp | undefined;
  /** For a VM restored from a snapshot: when each restore phase ended, e.g. 'SSH 4.2 s'. */
  restoreTimes: string[] | undefined;
  /** The VM's place on a private link, once joined. */
  link: LinkAttachment | undefined;
  #child: ChildProcess | undefined;
  #exited = false;
  #stopped = false;

  constructor(
    readonly name: string,
    readonly dir: string,
    readonly sshUser: string,
    keyPath?: string,
    readonly home: VmHome = testHome(),
  ) {
    this.keyPath = keyPath ?? testKeyPair(home).privatePath;
    this.knownHostsPath = join(dir, 'known_hosts');
    this.sshConfigPath = join(dir, 'ssh_config');
    this.qmpPath = join(dir, 'qmp.sock');
  }

  /** The VM's address on its private link (10.77.0.<host>), or undefined without one. */
  get linkAddress(): string | undefined {
    return this.link ? linkAddress(this.link) : undefined;
  }

  /** @internal Gives the link NIC its MAC and static address (see LINK_SETUP_SCRIPT). */
  async joinLink(a: LinkAttachment): Promise<void> {
    const r = await this.ssh(['sudo', '-n', 'sh', '-c', LINK_SETUP_SCRIPT, '-', linkMac(a.host), linkAddress(a)], { timeoutMs: 60_000 });
    if (r.exitCode !== 0) throw new Error(`vm ${this.name}: joining the private link as ${linkAddress(a)} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
    this.link = a;
  }

  get recordPath(): string {
    return join(this.home.dir, `vm-${this.name}.json`);
  }

  /** ssh options (no user or host): port, key, pinned host key, batch mode. */
  sshArgs(): string[] {
    return [
      '-F', this.sshConfigPath,
      '-p', String(this.sshPort),
      '-i', this.keyPath,
      '-o', 'IdentitiesOnly=yes',
      '-o', `UserKnownHostsFile=${this.knownHostsPath}`,
      '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'StrictHostKeyChecking=yes',
      '-o', 'BatchMode=yes',
      '-o', 'ConnectTimeout=15',
    ];
  }

  /** ssh://user@127.0.0.1:port for the runbook CLI's --target. */
  target(user = this.sshUser): string {
    return `ssh://${user}@127.0.0.1:${this.sshPort}`;
  }

  /** Runs argv (quoted for the remote shell) as `user`; never throws on a non-zero exit. */
  async ssh(argv: string[], o: { input?: string; timeoutMs?: number; user?: string } = {}): Promise<SshResult> {
    const r = await execa('ssh', [...this.sshArgs(), '-l', o.user ?? this.sshUser, '127.0.0.1', argv.map(shQuote).join(' ')], {
      input: o.input ?? '',
      reject: false,
      timeout: o.timeoutMs ?? 120_000,
    });
    return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? 255 };
  }

  /** True while this VM's qemu runs. */
  get running(): boolean {
    if (this.#child) return !this.#exited;
    return this.pid !== undefined && pidAlive(this.pid, this.dir);
  }

  async waitForSsh(deadlineMs = 600_000, user = this.sshUser): Promise<void> {
    let last = 'not tried';
    await poll(
      `SSH on 127.0.0.1:${this.sshPort}`,
      deadlineMs,
      2_000,
      async () => {
        if (!this.running) throw new Error(`qemu exited: ${this.qemuErrors()}\n--- serial console (tail)\n${this.console(40)}`);
        const r = await this.ssh(['true'], { timeoutMs: 25_000, user });
        if (r.exitCode === 0) return true;
        last = r.stderr.trim().split('\n').at(-1) || `exit ${r.exitCode}`;
        return undefined;
      },
      () => last,
    );
  }

  /**
   * Waits for cloud-init to finish (`cloud-init status --wait --long`, repeated while SSH drops)
   * and returns its status output; throws with diagnostics on error or at the deadline.
   */
  async waitForCloudInit(timeoutMs = 900_000): Promise<string> {
    const end = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const left = end - Date.now();
      if (left <= 0) throw new Error(`cloud-init not done after ${Math.round(timeoutMs / 1000)} s (last: ${last})\n${await this.diagnostics()}`);
      const r = await this.ssh(['cloud-init', 'status', '--wait', '--long'], { timeoutMs: left });
      const status = /^status: (\S+(?: \S+)?)/m.exec(r.stdout)?.[1];
      if (status === 'done') return r.stdout;
      if (status === 'error' || status === 'disabled') {
        throw new Error(`cloud-init finished with status ${status}:\n${r.stdout}${r.stderr}\n${await this.diagnostics()}`);
      }
      last = `${status ?? 'no status'} (exit ${r.exitCode}) ${r.stderr.trim().split('\n').at(-1) ?? ''}`;
      if (!this.running) throw new Error(`qemu exited while waiting for cloud-init: ${this.qemuErrors()}\n${await this.diagnostics()}`);
      await sleep(Math.min(3_000, Math.max(0, end - Date.now())));
    }
  }

  async bootId(): Promise<string> {
    const r = await this.ssh(['cat', '/proc/sys/kernel/random/boot_id'], { timeoutMs: 20_000 });
    return r.exitCode === 0 ? r.stdout.trim() : '';
  }

  /** Reboots the guest and resolves when SSH answers from a new boot. */
  async reboot(timeoutMs = 600_000): Promise<void> {
    const before = await this.bootId();
    if (!before) throw new Error(`reboot: SSH does not answer before the reboot\n${await this.diagnostics()}`);
    await this.ssh(['sudo', '-n', 'systemctl', 'reboot'], { timeoutMs: 20_000 });
    let last = 'old boot';
    await poll(
      'reboot',
      timeoutMs,
      3_000,
      async () => {
        if (!this.running) throw new Error(`qemu exited during reboot: ${this.qemuErrors()}\n${this.console(40)}`);
        const id = await this.bootId();
        last = id ? (id === before ? 'still the old boot' : 'new boot') : 'no SSH';
        return id && id !== before ? true : undefined;
      },
      () => last,
    );
  }

  qemuErrors(): string {
    const p = join(this.dir, 'qemu.err');
    const s = existsSync(p) ? readFileSync(p, 'utf8').trim() : '';
    return s || '(nothing on stderr)';
  }

  console(lines = 80): string {
    const p = join(this.dir, 'console.log');
    return existsSync(p) ? readFileSync(p, 'utf8').split('\n').slice(-lines).join('\n') : '(no console output)';
  }

  /** Serial console tail, qemu's stderr, this boot's journal and cloud-init's logs. */
  async diagnostics(): Promise<string> {
    const parts = [`--- vm ${this.name} in ${this.dir}, ssh 127.0.0.1:${this.sshPort}`, `--- qemu stderr\n${this.qemuErrors()}`, `--- serial console (tail)\n${this.console()}`];
    if (this.running) {
      const cmds = [
        ['sudo', '-n', 'journalctl', '-b', '--no-pager', '-n', '150'],
        ['sudo', '-n', 'tail', '-n', '60', '/var/log/cloud-init.log'],
        ['sudo', '-n', 'tail', '-n', '60', '/var/log/cloud-init-output.log'],
      ];
      for (const argv of cmds) {
        const r = await this.ssh(argv, { timeoutMs: 30_000 });
        parts.push(`--- ${argv.slice(2).join(' ')} (exit ${r.exitCode})\n${r.stdout}${r.stderr}`);
      }
    }
    return parts.join('\n');
  }

  /** @internal starts qemu; resolves true once its QMP socket answers, false when it exits first. */
  async start(args: string[]): Promise<boolean> {
    const err = openSync(join(this.dir, 'qemu.err'), 'a');
    const detached = this.home.keep; // a kept VM must outlive this process and its process group
    // Otherwise setpriv (util-linux) makes the kernel kill qemu if this process dies without
    // running its exit handlers (SIGKILL, a crashed test worker); setpriv execs, so the PID is qemu's.
    const [cmd, argv] = detached ? ['qemu-system-aarch64', args] : ['setpriv', ['--pdeathsig', 'SIGKILL', '--', 'qemu-system-aarch64', ...args]];
    const child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', err], detached });
    closeSync(err);
    if (detached) child.unref();
    this.#child = child;
    this.#exited = false;
    this.pid = child.pid;
    child.on('exit', () => {
      this.#exited = true;
    });
    child.on('error', () => {
      this.#exited = true;
    });
    live.add(this);
    hookExit();
    // The QMP greeting comes once qemu has set everything up (host forwards bound included).
    const exited = new Promise<undefined>((res) => {
      child.once('exit', () => res(undefined));
      child.once('error', () => res(undefined));
    });
    const qmp = await Promise.race([Qmp.connect(this.qmpPath, 60_000, () => !this.#exited).catch(() => undefined), exited]);
    if (!qmp || this.#exited) {
      qmp?.close();
      return false;
    }
    this.qmp = qmp;
    return true;
  }

  /** @internal takes over a VM recorded by an earlier process (RUNBOOK_KEEP_VM=1). */
  adopt(rec: KeptRecord): void {
    this.pid = rec.pid;
    this.sshPort = rec.sshPort;
    Object.assign(this.hostPorts, rec.hostPorts);
    live.add(this);
    hookExit();
  }

  /** @internal synchronous kill for the process 'exit' handler. */
  killSync(): void {
    if (this.home.keep || this.#stopped) return;
    if (this.pid !== undefined && this.running) {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  writeRecord(fingerprint: string): void {
    const rec: KeptRecord = {
      pid: this.pid as number,
      sshPort: this.sshPort,
      hostPorts: this.hostPorts,
      dir: this.dir,
      sshUser: this.sshUser,
      keyPath: this.keyPath,
      fingerprint,
      startedAt: new Date().toISOString(),
    };
    writeFileSync(this.recordPath, `${JSON.stringify(rec, null, 2)}\n`);
  }

  /**
   * Stops qemu by its PID (SIGTERM, then SIGKILL after 10 s) and removes the VM's folder. With
   * RUNBOOK_KEEP_VM=1 it leaves the VM running (recorded in test/.tmp/vm-<name>.json).
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    if (this.home.keep) {
      // Let go of the running VM: an open QMP socket would keep this process alive.
      this.qmp?.close();
      this.qmp = undefined;
      live.delete(this);
      return;
    }
    await this.kill();
  }

  /** Stops qemu by its PID whatever RUNBOOK_KEEP_VM says, and removes the folder and record. */
  async kill(): Promise<void> {
    this.#stopped = true;
    this.qmp?.close();
    this.qmp = undefined;
    const pid = this.pid;
    if (pid !== undefined && this.running) {
      signal(pid, 'SIGTERM');
      const t0 = Date.now();
      while (this.running && Date.now() - t0 < 10_000) await sleep(100);
      if (this.running) {
        signal(pid, 'SIGKILL');
        const t1 = Date.now();
        while (this.running && Date.now() - t1 < 5_000) await sleep(100);
      }
    }
    live.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
    if (existsSync(this.recordPath)) {
      try {
        if ((JSON.parse(readFileSync(this.recordPath, 'utf8')) as KeptRecord).dir === this.dir) rmSync(this.recordPath, { force: true });
      } catch {
        /* unreadable record: leave it */
      }
    }
  }
}

/** The harness's vendor-data: the VM's host key, and the operator key for the default user. */
export function harnessVendorData(hostPriv: string, hostPub: string, operatorKey: string, extra?: string): string {
  let base: Record<string, unknown> = {};
  if (extra?.trim()) {
    if (!extra.startsWith('#cloud-config')) throw new Error('vendorData must be a #cloud-config document');
    base = (parseYaml(extra) as Record<string, unknown> | null) ?? {};
  }
  const extraKeys = Array.isArray(base.ssh_authorized_keys) ? (base.ssh_authorized_keys as string[]) : [];
  const doc = {
    ...base,
    ssh_deletekeys: true,
    // Ignored while ssh_keys is given; [] would be the intent but fails cloud-init's schema.
    ssh_genkeytypes: ['ed25519'],
    ssh_keys: { ed25519_private: hostPriv.trim() + '\n', ed25519_public: hostPub.trim() },
    ssh_authorized_keys: [operatorKey, ...extraKeys],
  };
  return `#cloud-config\n# test harness vendor-data (the cloud provider's part)\n${stringifyYaml(doc, { lineWidth: 0 })}`;
}

function fingerprintOf(o: VmOptions, image: Image): string {
  return createHash('sha256')
    .update(JSON.stringify([image.dir, o.userData, o.vendorData ?? '', o.extraDisks ?? [], o.forwards ?? [], o.memoryMiB ?? 2048, o.cpus ?? 2, o.link ? [o.link.host, o.link.link.socketPath] : 0]))
    .digest('hex')
    .slice(0, 16);
}

async function reuseKept(name: string, fingerprint: string, sshUser: string, home: VmHome): Promise<Vm | undefined> {
  const path = join(home.dir, `vm-${name}.json`);
  if (!existsSync(path)) return undefined;
  let rec: KeptRecord;
  try {
    rec = JSON.parse(readFileSync(path, 'utf8')) as KeptRecord;
  } catch {
    rmSync(path, { force: true });
    return undefined;
  }
  const vm = new Vm(name, rec.dir, rec.sshUser, rec.keyPath, home);
  vm.adopt(rec);
  if (vm.running && rec.fingerprint === fingerprint && rec.sshUser === sshUser && existsSync(rec.keyPath)) {
    try {
      await vm.waitForSsh(30_000);
      process.stderr.write(`[vm] reusing kept VM ${name} (pid ${rec.pid}, ssh 127.0.0.1:${rec.sshPort})\n`);
      return vm;
    } catch {
      /* does not answer: replace it */
    }
  }
  process.stderr.write(`[vm] replacing kept VM ${name} (options changed or not answering)\n`);
  await vm.kill();
  return undefined;
}

/** @internal What a snapshot build needs from a cold boot beyond VmOptions. */
export interface BootInternals {
  /** The operator key the VM authorises (default: this process's testKeyPair()). */
  operatorKey?: KeyPair;
  /** Give the VM a link NIC with no cable, named by the snapshot MAC (every snapshot has one). */
  snapshotNic?: { bootMac: string };
}

/** Boots a VM from the cached image with the given user-data; resolves when SSH answers (and the link is up). */
export async function bootVm(o: VmOptions, internals: BootInternals = {}): Promise<Vm> {
  const image = await ensureImage();
  const name = (o.name ?? 'vm').replace(/[^A-Za-z0-9-]/g, '-');
  const sshUser = o.sshUser ?? 'debian';
  const fingerprint = fingerprintOf(o, image);
  const home = o.home ?? testHome();
  if (home.keep && !internals.snapshotNic) {
    const kept = await reuseKept(name, fingerprint, sshUser, home);
    if (kept) return kept;
  }
  mkdirSync(home.dir, { recursive: true });
  const operator = internals.operatorKey ?? testKeyPair(home);

  const dir = mkdtempSync(join(home.dir, `vm-${name}-`));
  const vm = new Vm(name, dir, sshUser, operator.privatePath, home);
  const run = (f: string, a: string[]) => execa(f, a, { cwd: dir, timeout: 120_000 });

  // The cached image is only ever a backing file: writes go to this VM's overlay.
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', image.disk, 'root.qcow2']);
  const disks: string[] = [];
  for (const [i, d] of (o.extraDisks ?? []).entries()) {
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', `volume${i}.qcow2`, `${d.sizeMiB}M`]);
    disks.push(join(dir, `volume${i}.qcow2`));
  }
  keygen(join(dir, 'host_key'), `${name}-host-key`);
  const hostPriv = readFileSync(join(dir, 'host_key'), 'utf8');
  const hostPub = readFileSync(join(dir, 'host_key.pub'), 'utf8');
  const seed = join(dir, 'seed');
  mkdirSync(seed);
  writeFileSync(join(seed, 'user-data'), o.userData);
  writeFileSync(join(seed, 'vendor-data'), harnessVendorData(hostPriv, hostPub, operator.publicKey, o.vendorData));
  const iid = `iid-${name}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  writeFileSync(join(seed, 'meta-data'), `instance-id: ${iid}\nlocal-hostname: ${name}\n`);
  await run('genisoimage', ['-quiet', '-output', 'seed.iso', '-volid', 'cidata', '-joliet', '-rock', 'seed/user-data', 'seed/meta-data', 'seed/vendor-data']);

  const machine: Machine = {
    cpus: o.cpus ?? 2,
    memoryMiB: o.memoryMiB ?? 2048,
    root: join(dir, 'root.qcow2'),
    disks,
    seed: join(dir, 'seed.iso'),
    kernel: image.kernel,
    initrd: image.initrd,
  };
  if (internals.snapshotNic) machine.link = { bootMac: internals.snapshotNic.bootMac, mac: internals.snapshotNic.bootMac };
  else if (o.link) machine.link = { bootMac: linkMac(o.link.host), mac: linkMac(o.link.host), socket: o.link.link.socketPath };
  await launch(vm, hostPub, o.forwards, () => qemuArgs(vm, machine));
  if (home.keep && !internals.snapshotNic) vm.writeRecord(fingerprint);
  try {
    await vm.waitForSsh(o.bootTimeoutMs ?? 600_000);
    if (o.link) await vm.joinLink(o.link);
  } catch (err) {
    const diag = await vm.diagnostics();
    await vm.kill();
    throw new Error(`${(err as Error).message}\n${diag}`);
  }
  return vm;
}
