// TEST STAND-IN, NOT THE PRODUCT: the TriviaPay API image for the VM tests, one small layer
// holding api-static.c built as a static arm64 binary (gcc-aarch64-linux-gnu, a Debian package),
// running as the app's user 10001 like the real image. Written with the archive writer, so no
// registry and no Docker on this machine; ~600 kB, so a push inside the emulated VM is quick.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuiltImage, imageConfig, sha256 } from '../../containers/archive.ts';
import type { ImageSet } from '../../containers/build.ts';
import { tarBuffer } from '../../containers/tar.ts';

const SOURCE = fileURLToPath(new URL('./api-static.c', import.meta.url));

/** `repo:tag` images of the stand-in API, each answering with its own tag. */
export async function triviapayImages(repo: string, tags: string[]): Promise<ImageSet> {
  const dir = mkdtempSync(join(tmpdir(), 'triviapay-image-'));
  const bin = join(dir, 'app');
  try {
    execFileSync('aarch64-linux-gnu-gcc', ['-static', '-Os', '-s', '-Wall', '-Wextra', '-Werror', '-o', bin, SOURCE], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`building the TriviaPay stand-in for arm64 failed (needs gcc-aarch64-linux-gnu and libc6-dev-arm64-cross from Debian): ${String((e as { stderr?: Buffer }).stderr ?? e)}`);
  }
  const layer = await tarBuffer([{ path: 'app', type: 'file', mode: 0o755, data: readFileSync(bin) }]);
  const diffIds = [`sha256:${sha256(layer)}`];
  writeFileSync(join(dir, sha256(layer)), layer);
  const images: BuiltImage[] = tags.map((tag) => {
    const config = imageConfig({ entrypoint: ['/app'], user: '10001:10001', env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', `TRIVIAPAY_STANDIN_TAG=${tag}`], exposedPorts: ['8000/tcp'] }, diffIds, '2025-01-01T00:00:00.000Z', ['triviapay stand-in']);
    writeFileSync(join(dir, sha256(config)), config);
    return { ref: `${repo}:${tag}`, tags: [`${repo}:${tag}`], id: `sha256:${sha256(config)}`, diffIds };
  });
  mkdirSync(dir, { recursive: true });
  return { dir, images, blobFile: (d) => join(dir, d.replace(/^sha256:/, '')) };
}
