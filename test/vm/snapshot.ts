// VM snapshots: a prepared VM state (cold boot, cloud-init done, then the caller's prepare()) is
// saved once per input hash with QEMU's migration stream, and each test restores it in seconds
// (`-incoming`), each restored VM on its own overlay with its own ports, folder and link address.
// See README.md ("Snapshots") for the layout, the key and the measured times.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { withFlock } from './flock.ts';
import { SNAPSHOT_LINK_MAC, linkMac } from '../../lib/vm/link-nic.ts';
import { type Machine, launch, qemuArgs } from '../../lib/vm/machine.ts';
import { type KeyPair, Vm, type VmOptions, bootVm, ensureImage, keygen, shQuote, testHome } from '../../lib/vm/vm.ts';
import type { LinkAttachment } from './link.ts';

const HERE = new URL('.', import.meta.url).pathname;
const cacheRoot = () => join(process.env.RUNBOOK_CACHE_DIR ?? join(homedir(), '.cache/oci-arm-runbooks'), 'snapshots');

export interface SnapshotSpec {
  /** Names the snapshot's VM (its hostname while prepared) and the progress lines. */
  name: string;
  /** The cold boot's options: user-data, vendor-data, memory, cpus, extra disks, ssh user. */
  vm: Omit<VmOptions, 'name' | 'forwards' | 'link' | 'bootTimeoutMs'>;
  /** Anything else the prepared state depends on (e.g. container image digests): part of the key. */
  inputs?: string[];
  /** Runs on the booted VM after cloud-init is done, before the state is saved (its source text is part of the key). */
  prepare?: (vm: Vm) => Promise<void>;
}

/**
 * A fresh host: the image booted with a do-nothing seed, cloud-init done, nothing else but
 * /etc/test-snapshot naming the snapshot (written by prepare()). Shared by every test that needs
 * "a freshly provisioned VM" without testing the first boot itself.
 */
export const FRESH_HOST: SnapshotSpec = {
  name: 'fresh-host',
  vm: { userData: '#cloud-config\n{}\n' },
  prepare: async (vm) => {
    const r = await vm.ssh(['sudo', '-n', 'sh', '-c', 'echo fresh-host > /etc/test-snapshot']);
    if (r.exitCode !== 0) throw new Error(`prepare on ${vm.name}: ${r.stderr}`);
  },
};

/** What snapshot.json records: everything a restore needs besides the files beside it. */
interface SnapshotMeta {
  key: string;
  name: string;
  imageDir: string;
  cpus: number;
  memoryMiB: number;
  disks: string[];
  sshUser: string;
  /** The guest's wall clock when the state was saved (epoch ms). */
  savedAt: number;
  buildSeconds: number;
}

export interface Snapshot {
  key: string;
  dir: string;
  name: string;
  sshUser: string;
  /** The operator key the snapshot's VM authorised: restored VMs log in with it. */
  operatorKey: KeyPair;
  meta: SnapshotMeta;
}

export interface RestoreOptions {
  /** The restored VM's name: its folder, hostname and progress lines. */
  name: string;
  forwards?: VmOptions['forwards'];
  /** Join a private link (createLink().host(n)): 10.77.0.<n>. */
  link?: LinkAttachment;
}

/** The files of an entry (besides SHA256SUMS, written last, and snapshot.json, checked with them). */
const FIXED_FILES = ['state', 'root.qcow2', 'seed.iso', 'host_key', 'host_key.pub', 'operator_key', 'operator_key.pub', 'snapshot.json'];

const say = (name: string, t0: number, msg: string) => process.stderr.write(`[snapshot ${name} ${Math.round((Date.now() - t0) / 1000)}s] ${msg}\n`);

let imageKey: Promise<string> | undefined;

/** The cache key: image, VM options, caller inputs, prepare's source and this harness's code. */
export async function snapshotKey(spec: SnapshotSpec): Promise<string> {
  imageKey ??= execa('bash', [join(HERE, 'build-image.sh'), '--key']).then((r) => r.stdout.trim());
  const v = spec.vm;
  const h = createHash('sha256').update(
    JSON.stringify([
      await imageKey,
      spec.name,
      v.userData,
      v.vendorData ?? '',
      v.memoryMiB ?? 2048,
      v.cpus ?? 2,
      v.extraDisks ?? [],
      v.sshUser ?? 'debian',
      spec.inputs ?? [],
      spec.prepare?.toString() ?? '',
    ]),
  );
  const harness = [...['snapshot.ts', 'link.ts'].map((f) => join(HERE, f)), ...['vm.ts', 'machine.ts', 'link-nic.ts'].map((f) => join(HERE, '../../lib/vm', f))];
  for (const f of harness) h.update(readFileSync(f));
  return h.digest('hex').slice(0, 16);
}

/** 'intact', or why the entry must not be used ('missing', 'no SHA256SUMS', 'checksum mismatch'). */
export async function checkEntry(dir: string): Promise<string> {
  if (!existsSync(dir)) return 'missing';
  if (!existsSync(join(dir, 'SHA256SUMS'))) return 'no SHA256SUMS';
  const r = await execa('sha256sum', ['--quiet', '--strict', '-c', 'SHA256SUMS'], { cwd: dir, reject: false, timeout: 300_000 });
  if (r.exitCode !== 0) return 'checksum mismatch';
  const listed = readFileSync(join(dir, 'SHA256SUMS'), 'utf8');
  const missing = FIXED_FILES.filter((f) => !listed.includes(`  ${f}\n`));
  return missing.length ? `SHA256SUMS lacks ${missing.join(', ')}` : 'intact';
}

function load(dir: string): Snapshot {
  const meta = JSON.parse(readFileSync(join(dir, 'snapshot.json'), 'utf8')) as SnapshotMeta;
  const privatePath = join(dir, 'operator_key');
  return {
    key: meta.key,
    dir,
    name: meta.name,
    sshUser: meta.sshUser,
    operatorKey: { privatePath, publicPath: `${privatePath}.pub`, publicKey: readFileSync(`${privatePath}.pub`, 'utf8').trim() },
    meta,
  };
}

/**
 * Returns the snapshot for `spec`, building it when the cache has no intact entry (a partial or
 * corrupt one is deleted first). Builds of one key are serialised across processes with flock.
 * `build: false` throws instead of building (for checks of the cache itself).
 */
export async function ensureSnapshot(spec: SnapshotSpec, o: { build?: boolean } = {}): Promise<Snapshot> {
  const key = await snapshotKey(spec);
  const root = cacheRoot();
  const dir = join(root, key);
  mkdirSync(root, { recursive: true });
  const t0 = Date.now();
  return withFlock(
    join(root, `.${key}.lock`),
    async () => {
      const state = await checkEntry(dir);
      if (state === 'intact') return load(dir);
      if (state !== 'missing') {
        say(spec.name, t0, `cached snapshot ${key} is incomplete or corrupt (${state}): deleting it`);
        rmSync(dir, { recursive: true, force: true });
      }
      if (o.build === false) throw new Error(`no intact snapshot ${key} (${spec.name}) and build: false given`);
      // Leftovers of builds that were killed outright (the lock says none of them is running).
      for (const old of readdirSync(root)) if (old.startsWith(`.build-${key}.`)) rmSync(join(root, old), { recursive: true, force: true });
      await build(spec, key, dir, t0);
      return load(dir);
    },
    (s) => say(spec.name, t0, `another build of snapshot ${key} is running: waiting for it (${s} s so far)`),
  );
}

async function build(spec: SnapshotSpec, key: string, dir: string, t0: number): Promise<void> {
  const image = await ensureImage();
  const work = mkdtempSync(join(cacheRoot(), `.build-${key}.`));
  let stage = 'cold boot to SSH';
  const beat = setInterval(() => say(spec.name, t0, `still working: ${stage}`), 20_000);
  let vm: Vm | undefined;
  try {
    say(spec.name, t0, `building snapshot ${key}: ${stage}`);
    keygen(join(work, 'operator_key'), `operator@${spec.name}-snapshot`);
    const operatorKey: KeyPair = {
      privatePath: join(work, 'operator_key'),
      publicPath: join(work, 'operator_key.pub'),
      publicKey: readFileSync(join(work, 'operator_key.pub'), 'utf8').trim(),
    };
    // A cold boot takes minutes when the machine is busy: the build waits longer than a test's boot.
    vm = await bootVm({ ...spec.vm, name: spec.name, bootTimeoutMs: 1_200_000 }, { operatorKey, snapshotNic: { bootMac: SNAPSHOT_LINK_MAC } });
    stage = 'waiting for cloud-init';
    say(spec.name, t0, stage);
    await vm.waitForCloudInit();
    if (spec.prepare) {
      stage = 'prepare()';
      say(spec.name, t0, stage);
      await spec.prepare(vm);
    }
    stage = 'saving the VM state';
    say(spec.name, t0, stage);
    await vm.ssh(['sync'], { timeoutMs: 120_000 });
    const savedAt = Date.now();
    await saveState(vm, join(work, 'state'));
    const disks = (spec.vm.extraDisks ?? []).map((_, i) => `volume${i}.qcow2`);
    for (const f of ['root.qcow2', ...disks, 'seed.iso', 'host_key', 'host_key.pub']) renameSync(join(vm.dir, f), join(work, f));
    await vm.kill();
    vm = undefined;
    // The frozen overlay's backing path, relative, so the cache stays valid wherever it lives.
    await execa('qemu-img', ['rebase', '-u', '-F', 'qcow2', '-b', relative(dir, image.disk), join(work, 'root.qcow2')]);
    const meta: SnapshotMeta = {
      key,
      name: spec.name,
      imageDir: image.dir,
      cpus: spec.vm.cpus ?? 2,
      memoryMiB: spec.vm.memoryMiB ?? 2048,
      disks,
      sshUser: spec.vm.sshUser ?? 'debian',
      savedAt,
      buildSeconds: Math.round((Date.now() - t0) / 1000),
    };
    writeFileSync(join(work, 'snapshot.json'), `${JSON.stringify(meta, null, 2)}\n`);
    // Restored VMs only ever read these: their writes go to overlays of their own.
    for (const f of ['state', 'root.qcow2', ...disks, 'seed.iso']) chmodSync(join(work, f), 0o444);
    const files = [...FIXED_FILES, ...disks];
    const sums = (await execa('sha256sum', files, { cwd: work, timeout: 300_000 })).stdout;
    writeFileSync(join(work, 'SHA256SUMS.new'), `${sums}\n`);
    renameSync(join(work, 'SHA256SUMS.new'), join(work, 'SHA256SUMS'));
    renameSync(work, dir);
    const { size } = statSync(join(dir, 'state'));
    say(spec.name, t0, `snapshot ${key} ready (state ${Math.round(size / 1048576)} MiB)`);
  } catch (err) {
    if (vm) {
      const diag = vm.running ? await vm.diagnostics() : vm.qemuErrors();
      await vm.kill();
      (err as Error).message += `\n${diag}`;
    }
    throw err;
  } finally {
    clearInterval(beat);
    rmSync(work, { recursive: true, force: true });
  }
}

/** Stops the guest, writes its migration stream to `file` and quits qemu. */
async function saveState(vm: Vm, file: string): Promise<void> {
  const qmp = vm.qmp;
  if (!qmp) throw new Error(`vm ${vm.name}: no QMP connection to save its state through`);
  await qmp.execute('stop');
  // The default migration bandwidth (32 MiB/s) is meant for live migration between hosts.
  await qmp.execute('migrate-set-parameters', { 'max-bandwidth': 8 * 1024 ** 3 });
  await qmp.execute('migrate', { uri: `exec:cat > ${shQuote(file)}` });
  const end = Date.now() + 600_000;
  for (;;) {
    const m = await qmp.execute<{ status: string; 'error-desc'?: string }>('query-migrate');
    if (m.status === 'completed') break;
    if (m.status === 'failed' || m.status === 'cancelled') throw new Error(`vm ${vm.name}: saving the state failed: ${m['error-desc'] ?? m.status}`);
    if (Date.now() > end) throw new Error(`vm ${vm.name}: saving the state did not finish in 10 min (${m.status})`);
    await new Promise((r) => setTimeout(r, 200));
  }
  await qmp.execute('quit').catch(() => undefined); // the connection may close before the reply
  const t = Date.now();
  while (vm.running && Date.now() - t < 30_000) await new Promise((r) => setTimeout(r, 100));
}

/**
 * Starts a new VM from a snapshot: its own overlays over the snapshot's disks, its own ports and
 * folder; sets the guest clock (frozen at the snapshot) and hostname, and joins `o.link`.
 * Resolves when SSH answers with the snapshot's pinned host key and the operator key.
 */
export async function restoreVm(snap: Snapshot, o: RestoreOptions): Promise<Vm> {
  const name = o.name.replace(/[^A-Za-z0-9-]/g, '-');
  const m = snap.meta;
  const home = testHome();
  mkdirSync(home.dir, { recursive: true });
  const dir = mkdtempSync(join(home.dir, `vm-${name}-`));
  const vm = new Vm(name, dir, snap.sshUser, snap.operatorKey.privatePath);
  const overlay = (backing: string, file: string) =>
    execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', join(snap.dir, backing), join(dir, file)], { timeout: 60_000 });
  await overlay('root.qcow2', 'root.qcow2');
  for (const d of m.disks) await overlay(d, d);
  const machine: Machine = {
    kernel: join(m.imageDir, 'vmlinuz'),
    initrd: join(m.imageDir, 'initrd.img'),
    cpus: m.cpus,
    memoryMiB: m.memoryMiB,
    root: join(dir, 'root.qcow2'),
    disks: m.disks.map((d) => join(dir, d)),
    seed: join(snap.dir, 'seed.iso'),
    link: { bootMac: SNAPSHOT_LINK_MAC, mac: o.link ? linkMac(o.link.host) : SNAPSHOT_LINK_MAC, ...(o.link ? { socket: o.link.link.socketPath } : {}) },
  };
  const hostPub = readFileSync(join(snap.dir, 'host_key.pub'), 'utf8');
  const t0 = Date.now();
  const at: string[] = [];
  const mark = (what: string) => at.push(`${what} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  await launch(vm, hostPub, o.forwards, () => qemuArgs(vm, machine, `exec:cat ${shQuote(join(snap.dir, 'state'))}`));
  try {
    mark('qemu up');
    await resume(vm);
    mark('state loaded');
    await vm.waitForSsh(180_000);
    mark('SSH');
    await fixUp(vm);
    mark('clock and hostname');
    if (o.link) {
      await vm.joinLink(o.link);
      mark('link');
    }
    vm.restoreTimes = at;
    process.stderr.write(`[restore ${name}] from snapshot ${snap.name}: ${at.join(', ')}\n`);
  } catch (err) {
    const diag = await vm.diagnostics();
    await vm.kill();
    throw new Error(`restoring snapshot ${snap.key} (${snap.name}) as ${name}: ${(err as Error).message}\n${diag}`);
  }
  return vm;
}

/** Waits until the incoming state is loaded, then lets the (paused) guest run. */
async function resume(vm: Vm): Promise<void> {
  const qmp = vm.qmp;
  if (!qmp) throw new Error('no QMP connection');
  const end = Date.now() + 300_000;
  let status = await qmp.status();
  while (status === 'inmigrate') {
    if (Date.now() > end) throw new Error('the saved state did not load within 5 min');
    await new Promise((r) => setTimeout(r, 50));
    status = await qmp.status();
  }
  if (status === 'paused' || status === 'postmigrate' || status === 'prelaunch') await qmp.execute('cont');
  else if (status !== 'running') throw new Error(`after loading the state qemu is '${status}'`);
}

// Run as root with `sh -c SCRIPT - NAME`: says "ready", reads the host's epoch (seconds.fraction)
// from stdin and sets the clock at once, then gives the guest the VM's own hostname (and keeps
// cloud-init from putting the snapshot's back on a reboot).
const FIX_UP_SCRIPT = `set -eu
echo ready
read -r epoch
date -s "@$epoch" >/dev/null
name="$1"
hostname "$name"
echo "$name" > /etc/hostname
sed -i -E "s/^127\\.0\\.1\\.1([[:space:]].*)?$/127.0.1.1 $name/" /etc/hosts
grep -q '^127\\.0\\.1\\.1 ' /etc/hosts || echo "127.0.1.1 $name" >> /etc/hosts
printf '%s\\n' '# a VM restored from a snapshot keeps its own hostname' 'preserve_hostname: true' 'manage_etc_hosts: false' > /etc/cloud/cloud.cfg.d/95-restored-vm.cfg
`;

/** Sets the guest clock to the host's (the epoch is sent only once the guest is ready to set it) and the hostname. */
async function fixUp(vm: Vm): Promise<void> {
  const child = spawn('ssh', [...vm.sshArgs(), '-l', vm.sshUser, '127.0.0.1', ['sudo', '-n', 'sh', '-c', FIX_UP_SCRIPT, '-', vm.name].map(shQuote).join(' ')], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<number>((res) => child.once('close', (c) => res(c ?? 255)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('ready\n') && child.stdin.writable) {
      child.stdin.end(`${(Date.now() / 1000).toFixed(3)}\n`);
    }
  });
  const code = await done;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`setting the clock and hostname failed (exit ${code}): ${err.trim()}`);
}
