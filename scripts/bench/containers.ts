// Container image figures: build from nothing (BENCH_COLD=1: in a throw-away cache, so the shared
// one is kept), reuse of the cached entry (SHA256SUMS verified), archive and layer sizes, and
// docker load of every image into a fresh ARM64 VM (then the skipped second load).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { archiveEntries } from '../../test/containers/archive.ts';
import { ensureContainerImages } from '../../test/containers/build.ts';
import { tarSize } from '../../test/containers/tar.ts';
import { loadImages } from '../../test/containers/vm-docker.ts';
import { bootVm, stopAllVms } from '../../lib/vm/vm.ts';

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mb = (n: number) => `${(n / 1e6).toFixed(0)} MB`;
const builder = new URL('../../test/containers/build.ts', import.meta.url).pathname;
const build = (env: NodeJS.ProcessEnv) => {
  const t = Date.now();
  execFileSync('node', ['--import', 'tsx', builder], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  return Date.now() - t;
};

if (process.env.BENCH_COLD === '1') {
  const cold = mkdtempSync(join(tmpdir(), 'bench-containers-'));
  try {
    console.log(`container images build (cold)    ${s(build({ ...process.env, RUNBOOK_CACHE_DIR: cold }))}`);
  } finally {
    rmSync(cold, { recursive: true, force: true });
  }
}
build(process.env);
console.log(`container images reuse (cached)  ${s(build(process.env))}  (SHA256SUMS verified)`);
const set = await ensureContainerImages();
const base = set.images[0]?.diffIds[0] as string;
console.log(`base layer (trixie, shared)      ${mb(statSync(set.blobFile(base)).size)}`);
console.log(`archive, all ${set.images.length} images              ${mb(tarSize(archiveEntries(set.images, set.blobFile)))}`);

const vm = await bootVm({ name: 'bench-containers', userData: '#cloud-config\n{}\n' });
try {
  let t = Date.now();
  await loadImages(vm, set);
  console.log(`docker load into the VM          ${s(Date.now() - t)}  (dockerd start included)`);
  t = Date.now();
  await loadImages(vm, set);
  console.log(`second load (all present)        ${s(Date.now() - t)}`);
} finally {
  await stopAllVms();
}
