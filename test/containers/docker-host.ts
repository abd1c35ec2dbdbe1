// The shared Docker host snapshot of the compose systems' VM tests: a fresh host with dockerd
// running, every test image loaded (with the IDs computed on the build host) and Compose v2 where
// Debian 13's docker-compose package puts it. Loading the images costs minutes under emulation,
// so it is paid once per key (the images' IDs, the Compose binary, the harness's code); each test
// restores the state in seconds. Per-test tools that change often (the OCI CLI stand-in) are
// installed after the restore instead, so changing them does not rebuild this snapshot.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RestoreOptions, type Snapshot, ensureSnapshot, restoreVm } from '../vm/snapshot.ts';
import type { Vm } from '../../lib/vm/vm.ts';
import { ensureContainerImages, type ImageSet } from './build.ts';
import { IMAGES } from './images.ts';
import { loadImages, startDocker, sudo } from './vm-docker.ts';

const ROOT = join(import.meta.dirname, '../..');
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Debian 13's Compose v2 for arm64 (fetched into the cache by scripts/fetch-compose.ts). */
export function composeArm64(): string {
  const out = execFileSync('node', ['--import', 'tsx', join(ROOT, 'scripts/fetch-compose.ts')], { env: { ...process.env, COMPOSE_ARCH: 'arm64' } });
  return out.toString().trim().split('\n').at(-1) as string;
}

/** Writes bytes (binary-safe, through ssh's stdin) to a root-owned file on the VM. */
export function putFile(vm: Vm, path: string, mode: string, bytes: Buffer): void {
  execFileSync('ssh', [...vm.sshArgs(), '-l', vm.sshUser, '127.0.0.1', `sudo -n install -D -m ${mode} /dev/stdin ${path}`], { input: bytes, timeout: 300_000 });
}

export interface DockerHost {
  snapshot: Snapshot;
  images: ImageSet;
}

/** The images in the snapshot: the platform ones, not the application stand-ins (see `app`). */
export const SNAPSHOT_IMAGES = IMAGES.filter((s) => !s.app).map((s) => s.name);

/**
 * The snapshot (built when missing): 2 GiB (or `memoryMiB`: a restore keeps the saved machine's
 * memory, so each size is a snapshot of its own), a blank volume, dockerd up, the platform test
 * images loaded, Compose v2.
 */
export async function dockerHostSnapshot(o: { memoryMiB?: number } = {}): Promise<DockerHost> {
  const memoryMiB = o.memoryMiB ?? 2048;
  const images = await ensureContainerImages(SNAPSHOT_IMAGES);
  const compose = composeArm64();
  const snapshot = await ensureSnapshot({
    name: memoryMiB === 2048 ? 'docker-host' : `docker-host-${memoryMiB}m`,
    // A blank 1 GiB disk stands for the block volume (Gratonite's data); the others leave it alone.
    vm: { userData: '#cloud-config\n{}\n', memoryMiB, extraDisks: [{ sizeMiB: 1024 }] },
    inputs: [...images.images.map((i) => `${i.ref}=${i.id}`), sha(readFileSync(compose))],
    prepare: async (vm) => {
      await loadImages(vm, images, { timeoutMs: 1_800_000 });
      // Where a real host has Compose v2 from its distribution (Debian 13's docker-compose).
      putFile(vm, '/usr/libexec/docker/cli-plugins/docker-compose', '0755', readFileSync(compose));
      await sudo(vm, ['docker', 'compose', 'version']);
      await sudo(vm, ['sh', '-c', 'echo docker-host > /etc/test-snapshot']);
    },
  });
  return { snapshot, images };
}

/**
 * Loads application stand-in images (images.ts, `app: true`) into a restored VM: only their small
 * layers cross, the base layer is in the snapshot. Returns each tag's image ID.
 */
export async function loadAppImages(vm: Vm, names: string[]): Promise<Record<string, string>> {
  return loadImages(vm, await ensureContainerImages(names), { timeoutMs: 600_000 });
}

/**
 * Installs the OCI CLI stand-in (dist/standins/oci.mjs, built by `npm run build`) as `oci` on a
 * restored VM, its store at `store` for every user. Not the product: the real CLI cannot run here.
 */
export async function installOciStandin(vm: Vm, store: string): Promise<void> {
  putFile(vm, '/usr/local/lib/oci-standin/oci.mjs', '0644', readFileSync(join(ROOT, 'dist/standins/oci.mjs')));
  await sudo(vm, ['install', '-D', '-m', '0755', '/dev/stdin', '/usr/local/bin/oci'], {
    input: `#!/bin/sh\n# OCI CLI test stand-in (not the product)\nexport OCI_STANDIN_ROOT="\${OCI_STANDIN_ROOT:-${store}}"\nexec node /usr/local/lib/oci-standin/oci.mjs "$@"\n`,
  });
}

/** A VM restored from the docker-host snapshot, dockerd answering, ready for `docker run`. */
export async function restoreDockerHost(snapshot: Snapshot, o: RestoreOptions): Promise<Vm> {
  const vm = await restoreVm(snapshot, o);
  await startDocker(vm);
  return vm;
}
