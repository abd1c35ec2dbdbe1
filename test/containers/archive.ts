// The `docker load` archive format, written here so no Docker engine is needed on the build host:
// manifest.json (one entry per image: Config, RepoTags, Layers), each image's config JSON (its
// sha256 is the image ID) with rootfs.diff_ids = sha256 of each uncompressed layer tar, and the
// layer tars themselves, all under blobs/sha256/<hex>. Every byte is a function of the inputs, so
// the same layers and settings give the same image IDs and the same archive.
import { createHash } from 'node:crypto';
import { type TarEntry, tarChunks } from './tar.ts';

export interface Healthcheck {
  test: string[];
  intervalS?: number;
  timeoutS?: number;
  retries?: number;
  startPeriodS?: number;
}

/** What an image runs with: the settings a Dockerfile's ENV, ENTRYPOINT, CMD, ... would give. */
export interface RunSettings {
  env?: string[];
  entrypoint?: string[];
  cmd?: string[];
  user?: string;
  workingDir?: string;
  exposedPorts?: string[];
  volumes?: string[];
  stopSignal?: string;
  healthcheck?: Healthcheck;
  labels?: Record<string, string>;
}

/** An image as loaded: its tags, its ID (sha256 of its config) and its layers' diff IDs. */
export interface BuiltImage {
  /** The first tag, e.g. pgvector/pgvector:pg17. */
  ref: string;
  tags: string[];
  /** sha256:<hex> of the config JSON: what `docker image inspect -f {{.Id}}` prints. */
  id: string;
  /** sha256:<hex> of each uncompressed layer, base first. */
  diffIds: string[];
}

export const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const ns = (s: number | undefined) => (s === undefined ? undefined : s * 1e9);
const set = (xs: string[] | undefined) => (xs?.length ? Object.fromEntries(xs.map((x) => [x, {}])) : undefined);

/**
 * The image config JSON (keys in a fixed order; undefined settings left out). `architecture` is
 * what the config claims (docker image inspect's .Architecture), arm64 (variant v8) unless told;
 * the layers are arm64 whatever it says.
 */
export function imageConfig(run: RunSettings, diffIds: string[], created: string, history: string[], architecture = 'arm64'): Buffer {
  const h = run.healthcheck;
  const config = {
    architecture,
    variant: architecture === 'arm64' ? 'v8' : undefined,
    os: 'linux',
    created,
    config: {
      User: run.user ?? '',
      ExposedPorts: set(run.exposedPorts),
      Env: run.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Entrypoint: run.entrypoint,
      Cmd: run.cmd,
      Healthcheck: h && { Test: h.test, Interval: ns(h.intervalS), Timeout: ns(h.timeoutS), StartPeriod: ns(h.startPeriodS), Retries: h.retries },
      Volumes: set(run.volumes),
      WorkingDir: run.workingDir ?? '',
      Labels: run.labels,
      StopSignal: run.stopSignal,
    },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: history.map((createdBy) => ({ created, created_by: createdBy })),
  };
  return Buffer.from(JSON.stringify(config));
}

/** manifest.json for docker load: blobs are named blobs/sha256/<hex>. */
export function manifestJson(images: BuiltImage[]): Buffer {
  const blob = (d: string) => `blobs/sha256/${d.replace(/^sha256:/, '')}`;
  return Buffer.from(JSON.stringify(images.map((i) => ({ Config: blob(i.id), RepoTags: i.tags, Layers: i.diffIds.map(blob) }))));
}

/**
 * The archive's entries for the given images: manifest.json, then each config, then each layer
 * once (images sharing a base carry it once). `blobFile` maps a sha256 to the file holding it.
 * Layers in `present` (already in the engine that loads the archive) are left out: `docker load`
 * looks a layer up by its chain ID first and reads the file only for one it lacks.
 */
export function archiveEntries(images: BuiltImage[], blobFile: (digest: string) => string, present: ReadonlySet<string> = new Set()): TarEntry[] {
  const entries: TarEntry[] = [
    { path: 'blobs', type: 'dir', mode: 0o755 },
    { path: 'blobs/sha256', type: 'dir', mode: 0o755 },
  ];
  const seen = new Set<string>();
  for (const d of [...images.map((i) => i.id), ...images.flatMap((i) => i.diffIds.filter((l) => !present.has(l)))]) {
    if (seen.has(d)) continue;
    seen.add(d);
    entries.push({ path: `blobs/sha256/${d.replace(/^sha256:/, '')}`, type: 'file', mode: 0o644, data: { file: blobFile(d) } });
  }
  entries.push({ path: 'manifest.json', type: 'file', mode: 0o644, data: manifestJson(images) });
  return entries;
}

/** The archive's bytes, streamed (layers are read from their files as they go). */
export function archiveChunks(images: BuiltImage[], blobFile: (digest: string) => string, present?: ReadonlySet<string>): AsyncGenerator<Buffer> {
  return tarChunks(archiveEntries(images, blobFile, present));
}
