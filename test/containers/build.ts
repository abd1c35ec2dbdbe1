// Builds (or reuses) the test container images: the shared trixie base layer (base-layer.ts), one
// small layer per image from layers/<name>/, the image configs, all as blobs in one cache entry
// keyed by the base layer's sha256 and a hash of this code, images.ts and the layer files.
//   node --import tsx test/containers/build.ts [NAME...]   prints each image's ref and ID
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type BuiltImage, imageConfig, sha256 } from './archive.ts';
import { ensureBaseLayer, SOURCE_DATE_EPOCH } from './base-layer.ts';
import { cachedEntry, filesUnder, inputKey, say } from './cache.ts';
import { IMAGES, type ImageSpec } from './images.ts';
import { type TarEntry, tarBuffer } from './tar.ts';

const HERE = import.meta.dirname;
const ROOT = join(HERE, '../..');
const CREATED = new Date(SOURCE_DATE_EPOCH * 1000).toISOString();

/** Built images of one cache entry, and where their blobs are. */
export interface ImageSet {
  /** The cache entry's folder. */
  dir: string;
  images: BuiltImage[];
  /** The file holding a blob (config or layer), by its sha256:<hex>. */
  blobFile(digest: string): string;
}

/** A layer tar of a folder (when it exists) plus `extra` files: folders then files, sorted, owner root, 0755 when executable. */
export function folderLayer(dir: string, extra: { path: string; data: Buffer; mode: number }[] = []): TarEntry[] {
  const here = existsSync(dir) ? filesUnder(dir) : [];
  const files = here.filter((f) => !f.endsWith('/.keep') && f !== '.keep');
  const keepDirs = here.filter((f) => f.endsWith('.keep')).map((f) => dirname(f));
  const dirs = new Set<string>();
  for (const f of [...files.map((f) => dirname(f)), ...extra.map((e) => dirname(e.path)), ...keepDirs]) {
    for (let d = f; d !== '.'; d = dirname(d)) dirs.add(d);
  }
  const entries = [
    ...files.map((f): TarEntry => ({ path: f, type: 'file', mode: statSync(join(dir, f)).mode & 0o111 ? 0o755 : 0o644, data: readFileSync(join(dir, f)) })),
    ...extra.map((e): TarEntry => ({ path: e.path, type: 'file', mode: e.mode, data: e.data })),
  ];
  return [...[...dirs].sort().map((d): TarEntry => ({ path: d, type: 'dir', mode: 0o755 })), ...entries];
}

/** The repo files an image carries (built bundles), read now; a missing one says how to build it. */
function extraFiles(spec: ImageSpec): { path: string; data: Buffer; mode: number }[] {
  return (spec.files ?? []).map((f) => {
    const from = join(ROOT, f.from);
    if (!existsSync(from)) throw new Error(`${f.from} (for the test image ${spec.name}) is missing: run npm run build`);
    return { path: f.path, data: readFileSync(from), mode: f.mode ?? 0o644 };
  });
}

/** An image's config: its run settings and the architecture it claims (arm64 unless it says). */
export const specConfig = (spec: ImageSpec, diffIds: string[]): Buffer =>
  imageConfig(spec.run, diffIds, CREATED, ['mmdebstrap trixie arm64: test/containers/packages.txt', `layers/${spec.name}`], spec.architecture);

function imagesKey(base: string): string {
  const layerFiles = filesUnder(join(HERE, 'layers')).flatMap((f) => [`${f} ${statSync(join(HERE, 'layers', f)).mode & 0o111 ? 'x' : '-'}`, readFileSync(join(HERE, 'layers', f))]);
  const code = ['archive.ts', 'tar.ts', 'images.ts', 'build.ts'].map((f) => readFileSync(join(HERE, f)));
  const bundles = IMAGES.flatMap((spec) => extraFiles(spec).flatMap((f) => [f.path, f.data]));
  return inputKey([base, ...code, ...layerFiles, ...bundles]);
}

/**
 * The images named (default: all of IMAGES; a name is a spec name or one of its tags), built
 * when their cache entry is missing or corrupt. IDs are reproducible for the same inputs.
 */
export async function ensureContainerImages(names?: string[]): Promise<ImageSet> {
  const base = await ensureBaseLayer();
  const baseDigest = `sha256:${base.sha256}`;
  const dir = await cachedEntry(`images-${imagesKey(base.sha256)}`, async (work) => {
    const blobs = join(work, 'blobs/sha256');
    mkdirSync(blobs, { recursive: true });
    const built: BuiltImage[] = [];
    for (const spec of IMAGES) {
      const layer = await tarBuffer(folderLayer(join(HERE, 'layers', spec.layer ?? spec.name), extraFiles(spec)));
      const diffIds = [baseDigest, `sha256:${sha256(layer)}`];
      writeFileSync(join(blobs, sha256(layer)), layer);
      const config = specConfig(spec, diffIds);
      writeFileSync(join(blobs, sha256(config)), config);
      built.push({ ref: spec.tags[0] as string, tags: spec.tags, id: `sha256:${sha256(config)}`, diffIds });
      say(`image ${spec.tags.join(', ')}: ${built.at(-1)?.id.slice(0, 19)}`);
    }
    writeFileSync(join(work, 'images.json'), `${JSON.stringify(built, null, 2)}\n`);
  });
  const all = JSON.parse(readFileSync(join(dir, 'images.json'), 'utf8')) as BuiltImage[];
  const pick = (n: string) => {
    const spec = IMAGES.find((s: ImageSpec) => s.name === n || s.tags.includes(n));
    const img = spec && all.find((i) => i.ref === spec.tags[0]);
    if (!img) throw new Error(`no test container image named ${n}; known: ${IMAGES.map((s) => s.tags.join(', ')).join('; ')}`);
    return img;
  };
  const images = names ? names.map(pick) : all;
  return {
    dir,
    images,
    blobFile: (d) => {
      if (d === baseDigest) return base.path;
      const p = join(dir, 'blobs/sha256', d.replace(/^sha256:/, ''));
      if (!existsSync(p)) throw new Error(`blob ${d} is not in ${dir}`);
      return p;
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const set = await ensureContainerImages(process.argv.slice(2).length ? process.argv.slice(2) : undefined);
  for (const i of set.images) console.log(`${i.tags.join(',')} ${i.id}`);
}
