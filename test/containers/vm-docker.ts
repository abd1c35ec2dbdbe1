// Docker in a test VM: start the engine, load the cached test images (streamed over SSH into
// `docker load`, only those not already there with the same ID), run Debian's docker-registry
// with htpasswd auth, log in with --password-stdin, push by tag and pull by digest.
import { execa } from 'execa';
import { Readable } from 'node:stream';
import type { Secret } from '../../lib/core/secret.ts';
import type { Vm } from '../../lib/vm/vm.ts';
import { type BuiltImage, archiveChunks } from './archive.ts';
import type { ImageSet } from './build.ts';
import { say } from './cache.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs argv as root in the VM; throws (naming the VM and the command) on a non-zero exit. */
export async function sudo(vm: Vm, argv: string[], o: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  const r = await vm.ssh(['sudo', '-n', ...argv], { timeoutMs: o.timeoutMs ?? 120_000, ...(o.input === undefined ? {} : { input: o.input }) });
  if (r.exitCode !== 0) throw new Error(`on VM ${vm.name} (ssh 127.0.0.1:${vm.sshPort}): \`${argv.join(' ')}\` exited ${r.exitCode}: ${(r.stderr || r.stdout).trim().slice(-1500)}`);
  return r.stdout;
}

/** Polls `probe` (true = ready) every second until the deadline, then throws naming `what`. */
async function until(vm: Vm, what: string, deadlineMs: number, probe: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`on VM ${vm.name}: ${what} not ready after ${Math.round(deadlineMs / 1000)} s`);
    await sleep(1_000);
  }
}

/** Starts dockerd (disabled in the image) and waits, bounded, until it answers. */
export async function startDocker(vm: Vm, deadlineMs = 180_000): Promise<void> {
  await sudo(vm, ['systemctl', 'start', 'docker.service'], { timeoutMs: deadlineMs });
  await until(vm, 'dockerd', deadlineMs, async () => (await vm.ssh(['sudo', '-n', 'docker', 'info', '--format', '{{.ServerVersion}}'], { timeoutMs: 30_000 })).exitCode === 0);
}

/** The image ID each ref has in the VM's engine ('' when absent). */
export async function imageIds(vm: Vm, refs: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const ref of refs) {
    const r = await vm.ssh(['sudo', '-n', 'docker', 'image', 'inspect', '--format', '{{.Id}}', ref], { timeoutMs: 60_000 });
    out[ref] = r.exitCode === 0 ? r.stdout.trim() : '';
  }
  return out;
}

/** The first layer (diff ID) of every image in the VM's engine. */
async function layersIn(vm: Vm): Promise<string[]> {
  const r = await vm.ssh(['sudo', '-n', 'sh', '-c', 'ids=$(docker image ls -q); [ -z "$ids" ] || docker image inspect --format "{{index .RootFS.Layers 0}}" $ids'], { timeoutMs: 60_000 });
  return r.exitCode === 0 ? r.stdout.split('\n').map((l) => l.trim()).filter(Boolean) : [];
}

/** The set's images that some tag in the VM's engine lacks, or names with another ID. */
export async function missingImages(vm: Vm, set: ImageSet): Promise<BuiltImage[]> {
  const have = await imageIds(vm, set.images.flatMap((i) => i.tags));
  return set.images.filter((i) => i.tags.some((t) => have[t] !== i.id));
}

/**
 * Loads the set's images into the VM's engine (started first if needed) and returns each tag's
 * image ID. Images whose every tag already has the expected ID are skipped; the others go in one
 * archive streamed through SSH, so a shared base layer crosses once.
 */
export async function loadImages(vm: Vm, set: ImageSet, o: { timeoutMs?: number } = {}): Promise<Record<string, string>> {
  await startDocker(vm);
  const tags = set.images.flatMap((i) => i.tags);
  const missing = await missingImages(vm, set);
  if (missing.length) {
    const t0 = Date.now();
    // Only the first layer of an image can be reused as is (a later layer's chain ID depends on
    // the ones under it), which is the shared base layer here.
    const present = new Set((await layersIn(vm)).filter((l) => missing.some((i) => i.diffIds[0] === l)));
    say(`loading ${missing.map((i) => i.ref).join(', ')} into VM ${vm.name}${present.size ? ' (base layer already there)' : ''}`);
    const ssh = execa('ssh', [...vm.sshArgs(), '-l', vm.sshUser, '127.0.0.1', 'sudo -n docker load'], {
      input: Readable.from(archiveChunks(missing, set.blobFile, present)),
      reject: false,
      timeout: o.timeoutMs ?? 900_000,
    });
    const r = await ssh;
    if (r.exitCode !== 0) throw new Error(`docker load on VM ${vm.name} (ssh 127.0.0.1:${vm.sshPort}) exited ${r.exitCode}: ${String(r.stderr).trim().slice(-1500)}`);
    say(`loaded in ${Math.round((Date.now() - t0) / 1000)} s`);
  }
  const after = await imageIds(vm, tags);
  for (const i of set.images) {
    for (const t of i.tags) {
      if (after[t] !== i.id) throw new Error(`on VM ${vm.name}: ${t} has image ID ${after[t] || '(none)'} after docker load, expected ${i.id}`);
    }
  }
  return after;
}

export interface Registry {
  /** host:port the VM's engine pushes to and pulls from, e.g. 127.0.0.1:5000. */
  address: string;
  user?: string;
}

/**
 * Starts Debian's docker-registry in the VM on `listen` (default 127.0.0.1:5000), storage in
 * /var/lib/docker-registry, with htpasswd (bcrypt) auth when `auth` is given. The bcrypt line is
 * made in the VM by Python's crypt (libxcrypt), the password read from stdin. Another VM reaching
 * it on a link address needs that address in its /etc/docker/daemon.json `insecure-registries`.
 */
export async function startRegistry(vm: Vm, o: { listen?: string; auth?: { user: string; password: Secret } } = {}): Promise<Registry> {
  const listen = o.listen ?? '127.0.0.1:5000';
  const lines = [
    'version: 0.1',
    'log:',
    '  level: warn',
    'storage:',
    '  filesystem:',
    '    rootdirectory: /var/lib/docker-registry',
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${listen}`,
  ];
  if (o.auth) {
    if (!/^[A-Za-z0-9._-]+$/.test(o.auth.user)) throw new Error(`registry user ${o.auth.user}: letters, digits, . _ - only`);
    const hash = await sudo(vm, ['python3', '-W', 'ignore', '-c', 'import crypt,sys; print(crypt.crypt(sys.stdin.readline().rstrip("\\n"), crypt.mksalt(crypt.METHOD_BLOWFISH)))'], {
      input: `${o.auth.password.reveal()}\n`,
    });
    if (!/^\$2[aby]\$/.test(hash.trim())) throw new Error(`on VM ${vm.name}: python3 crypt gave no bcrypt hash`);
    await sudo(vm, ['install', '-D', '-m', '0640', '-o', 'root', '-g', 'docker-registry', '/dev/stdin', '/etc/docker/registry/htpasswd'], { input: `${o.auth.user}:${hash.trim()}\n` });
    lines.push('auth:', '  htpasswd:', '    realm: runbook-registry', '    path: /etc/docker/registry/htpasswd');
  }
  await sudo(vm, ['install', '-D', '-m', '0644', '/dev/stdin', '/etc/docker/registry/config.yml'], { input: `${lines.join('\n')}\n` });
  await sudo(vm, ['systemctl', 'restart', 'docker-registry.service']);
  const [host, port] = [listen.slice(0, listen.lastIndexOf(':')), listen.slice(listen.lastIndexOf(':') + 1)];
  await until(vm, `docker-registry on ${listen}`, 60_000, async () => {
    const r = await vm.ssh(['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', `http://${host}:${port}/v2/`], { timeoutMs: 20_000 });
    return r.stdout === (o.auth ? '401' : '200');
  });
  return { address: listen, ...(o.auth ? { user: o.auth.user } : {}) };
}

/** `docker login --password-stdin` to the registry as root in the VM (the password never in argv). */
export async function dockerLogin(vm: Vm, registry: Registry, password: Secret): Promise<void> {
  if (!registry.user) throw new Error(`registry ${registry.address} has no auth`);
  await sudo(vm, ['docker', 'login', '--username', registry.user, '--password-stdin', registry.address], { input: `${password.reveal()}\n` });
}

/** Tags `ref` as <registry>/<repo>:<tag>, pushes it, and returns the pushed name and its digest. */
export async function pushImage(vm: Vm, ref: string, registry: Registry, as?: string): Promise<{ name: string; digest: string }> {
  const name = `${registry.address}/${as ?? ref}`;
  await sudo(vm, ['docker', 'tag', ref, name]);
  const out = await sudo(vm, ['docker', 'push', name], { timeoutMs: 900_000 });
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(out)?.[1];
  if (!digest) throw new Error(`on VM ${vm.name}: docker push ${name} printed no digest:\n${out}`);
  return { name, digest };
}

/** Pulls repo@digest and returns the local image ID it resolves to. */
export async function pullByDigest(vm: Vm, repo: string, digest: string): Promise<string> {
  const ref = `${repo.replace(/:[^/:]+$/, '')}@${digest}`;
  await sudo(vm, ['docker', 'pull', ref], { timeoutMs: 900_000 });
  return (await sudo(vm, ['docker', 'image', 'inspect', '--format', '{{.Id}}', ref])).trim();
}
