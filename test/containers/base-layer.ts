// The one Debian 13 (trixie) arm64 base layer every test image shares: mmdebstrap's extract
// variant unpacks the Essential set, packages.txt and their dependencies straight into a tar,
// which is the layer as is (its sha256 is the image configs' diff_id). No maintainer script runs:
// under qemu-user they took over an hour on this machine, and a container needs only what
// base-customize.sh does on the host (users, the alternatives in use, folders). Cached by a hash
// of packages.txt and this code.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { $ } from 'zx';
import { cachedEntry, heartbeat, inputKey, say } from './cache.ts';
import { debianMirror } from './debian-mirror.ts';

const HERE = import.meta.dirname;
const SUITE = 'trixie';
/** Fixed timestamps in the layer, so the same packages give the same tar. */
export const SOURCE_DATE_EPOCH = 1735689600; // 2025-01-01T00:00:00Z

export const basePackages = (): string[] =>
  readFileSync(join(HERE, 'packages.txt'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

export function baseKey(): string {
  return inputKey([SUITE, readFileSync(join(HERE, 'packages.txt')), readFileSync(join(HERE, 'base-layer.ts')), readFileSync(join(HERE, 'base-customize.sh'))]);
}

/** The cached base layer tar (built when missing or corrupt): path and sha256 (hex). */
export async function ensureBaseLayer(): Promise<{ path: string; sha256: string }> {
  const key = baseKey();
  const dir = await cachedEntry(`base-${key}`, async (work) => {
    const mirror = debianMirror();
    const pkgs = basePackages();
    say(`mmdebstrap ${SUITE} arm64 from ${mirror} (Essential, ${pkgs.length} packages and their dependencies, unpacked only): a minute or two`);
    const out = join(work, 'layer.tar');
    const stop = heartbeat('building the trixie base layer (mmdebstrap, extract)', () => {
      const du = $.sync({ nothrow: true, quiet: true })`du -smx ${work}`.stdout.split('\t')[0];
      return `(${du} MB so far)`;
    });
    const started = Date.now();
    const r = await $({
      quiet: true,
      nothrow: true,
      // Bounded, far above a cold build on a busy 2-core machine (download and unpack: 1.5 min quiet).
      timeout: '30m',
      env: { ...process.env, SOURCE_DATE_EPOCH: String(SOURCE_DATE_EPOCH), TMPDIR: work },
    })`mmdebstrap --arch=arm64 --variant=extract --mode=root --format=tar --include=?essential --include=${pkgs.join(',')} ${[
      '--dpkgopt=path-exclude=/usr/share/man/*',
      '--dpkgopt=path-exclude=/usr/share/doc/*',
      '--dpkgopt=path-include=/usr/share/doc/*/copyright',
      '--dpkgopt=path-exclude=/usr/share/locale/*',
      '--dpkgopt=path-exclude=/usr/share/info/*',
      // Runs once everything is unpacked (the extract variant runs no customize hook).
      `--extract-hook=sh ${join(HERE, "base-customize.sh")} "$1"`,
    ]} ${SUITE} ${out} ${`deb ${mirror} ${SUITE} main`}`;
    stop();
    if (r.exitCode !== 0) throw new Error(`mmdebstrap of the ${SUITE} base layer failed (exit ${r.exitCode}):\n${r.stderr.split('\n').slice(-30).join('\n')}`);
    say(`base layer built in ${Math.round((Date.now() - started) / 1000)} s: ${Math.round(statSync(out).size / 1e6)} MB`);
  });
  const sums = readFileSync(join(dir, 'SHA256SUMS'), 'utf8');
  const sha256 = /^([0-9a-f]{64}) {2}layer\.tar$/m.exec(sums)?.[1];
  if (!sha256) throw new Error(`${dir}/SHA256SUMS has no layer.tar line`);
  return { path: join(dir, 'layer.tar'), sha256 };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const b = await ensureBaseLayer();
  console.log(`${b.path} sha256:${b.sha256}`);
}
