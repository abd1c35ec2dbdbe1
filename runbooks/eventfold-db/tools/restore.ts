// Fetches a backup and rebuilds the log file from it. Each segment streams from the CLI straight
// into place: its stored bytes are hashed (the manifest's SHA-256), decoded, and every batch's
// CRCs and positions are checked as it is written. The result appears at `out` only when all of
// it verified; `out` must not exist (a restore never replaces a file), and nothing else is touched.
import { createHash } from 'node:crypto';
import { existsSync, linkSync, rmSync, statfsSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { FILE_HEADER_LEN, checkHeader } from '../protocol/logformat.ts';
import { BatchChecker } from '../protocol/logstream.ts';
import type { OciCli } from '../../../lib/oci/cli.ts';
import { FrameDecoder } from './frames.ts';
import { type Manifest, type Segment, candidateManifests, newerThan, parseName, stored, validateManifest } from './manifest.ts';
import { fetchText } from './objects.ts';
import { transferTimeoutMs } from './transfer.ts';

export interface RestoreOptions {
  bucket: string;
  prefix: string;
  out: string;
  /** A manifest by name (a deliberate choice of an older backup). */
  manifest?: string;
  /** Restore another host's backup deliberately; by default only this host's backups are used. */
  fromHost?: string;
  /** This host's name (tests set it). */
  host?: string;
}

export interface RestoreResult {
  manifest: string;
  host: string;
  endOffset: number;
  lastGlobalPosition: string | null;
  records: number;
  out: string;
}

/** Segments fetched at once. */
const PARALLEL = 3;

async function readManifest(oci: OciCli, bucket: string, name: string): Promise<Manifest> {
  try {
    return validateManifest(JSON.parse(await fetchText(oci, bucket, name)));
  } catch (e) {
    throw new Error(`manifest ${name} is unusable: ${(e as Error).message}`);
  }
}

/** The manifest to restore: named, or this host's newest (refusing when a newer backup lost its manifest). */
async function chooseManifest(oci: OciCli, o: RestoreOptions, names: string[]): Promise<{ name: string; m: Manifest }> {
  const want = o.fromHost ?? o.host ?? hostname();
  const where = `${o.bucket}/${o.prefix}/`;
  const crossHost = (m: Manifest, name: string) => new Error(`manifest ${name} was written by host ${m.host}, and this is ${want}: pass --from-host ${m.host} to restore another host's backup deliberately`);
  if (o.manifest) {
    const m = await readManifest(oci, o.bucket, o.manifest);
    if (m.host !== want) throw crossHost(m, o.manifest);
    return { name: o.manifest, m };
  }
  const others = new Set<string>();
  for (const name of candidateManifests(names, o.prefix, want)) {
    const m = await readManifest(oci, o.bucket, name);
    if (m.host !== want) {
      others.add(m.host);
      continue;
    }
    const newer = newerThan(names, o.prefix, m);
    if (newer.length) throw new Error(`the newest backup's manifest is missing: ${newer.length} segment(s) newer than ${name} exist (${newer.at(-1)}); refusing to restore an older backup silently. Restore it deliberately with --manifest ${name}, or find the missing manifest`);
    return { name, m };
  }
  for (const n of names) {
    const h = parseName(n, o.prefix)?.host;
    if (h && parseName(n, o.prefix)?.kind === 'manifest') others.add(h);
  }
  const hint = others.size ? ` (there are backups of ${[...others].sort().join(', ')}: pass --from-host NAME to restore one deliberately)` : '';
  throw new Error(`no backup manifest of host ${want} under ${where}${hint}`);
}

export async function runRestore(oci: OciCli, o: RestoreOptions): Promise<RestoreResult> {
  if (existsSync(o.out)) throw new Error(`${o.out} already exists; a restore never replaces a file: choose a new path with --out, or move that file away first`);
  const listed = await oci.listObjects({ bucket: o.bucket, prefix: `${o.prefix}/` });
  const names = listed.map((x) => x.name);
  const { name: mName, m } = await chooseManifest(oci, o, names);
  for (const s of m.segments) if (!names.includes(s.name)) throw new Error(`segment ${s.name} listed in ${mName} is missing from the bucket`);
  for (let i = 1; i < m.segments.length; i++) {
    const a = m.segments[i - 1] as Segment;
    const b = m.segments[i] as Segment;
    if (a.lastGlobalPosition !== null && b.firstGlobalPosition !== null && BigInt(b.firstGlobalPosition) !== BigInt(a.lastGlobalPosition) + 1n) throw new Error(`manifest ${mName}: segment ${b.name} does not continue from position ${a.lastGlobalPosition}`);
  }
  const dir = dirname(o.out);
  const fs = statfsSync(dir);
  const free = Number(fs.bavail) * Number(fs.bsize);
  if (free < m.endOffset) throw new Error(`not enough space in ${dir} for the restored log: it needs ${m.endOffset} bytes, ${free} are free`);
  const partial = `${o.out}.partial-${process.pid}`;
  const fh = await open(partial, 'wx', 0o640);
  let records = 0;
  try {
    const queue = [...m.segments];
    const worker = async () => {
      for (let s = queue.shift(); s; s = queue.shift()) {
        const n = await restoreSegment(oci, o.bucket, s, fh);
        records += n;
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, m.segments.length) }, worker));
    await fh.sync();
    await fh.close();
    // link, unlike rename, never replaces a file that appeared at `out` in the meantime.
    linkSync(partial, o.out);
    rmSync(partial, { force: true });
  } catch (e) {
    await fh.close().catch(() => undefined);
    rmSync(partial, { force: true });
    if ((e as NodeJS.ErrnoException).code === 'ENOSPC') throw new Error(`no space left writing ${partial} (removed): the restore needs ${m.endOffset} bytes in ${dir}`);
    throw e;
  }
  return { manifest: mName, host: m.host, endOffset: m.endOffset, lastGlobalPosition: m.lastGlobalPosition, records, out: o.out };
}

/** Streams one segment into place, verifying its stored hash, its decoding and every batch. Returns its record count. */
async function restoreSegment(oci: OciCli, bucket: string, s: Segment, fh: FileHandle): Promise<number> {
  const st = stored(s);
  let records = 0;
  await oci.stream(['os', 'object', 'get', '--bucket-name', bucket, '--name', s.name, '--file', '-'], {
    what: `download of ${s.name}`,
    timeoutMs: transferTimeoutMs(st.size),
    drain: async (out: Readable) => {
      // Each attempt starts over: positional writes put the same bytes at the same offsets.
      const sha = createHash('sha256');
      let storedSize = 0;
      let at = s.startOffset;
      let header = s.startOffset === 0 ? FILE_HEADER_LEN : 0;
      const check = new BatchChecker(`segment ${s.name}`, Math.max(s.startOffset, FILE_HEADER_LEN), s.firstGlobalPosition === null ? undefined : BigInt(s.firstGlobalPosition));
      const place = async (raw: Buffer) => {
        if (at + raw.length > s.endOffset) throw new Error(`segment ${s.name} holds more than the ${s.size} bytes the manifest says`);
        let body = raw;
        if (header > 0) {
          const h = raw.subarray(0, header);
          if (h.length < header) throw new Error(`segment ${s.name}: the file header arrived in pieces`);
          checkHeader(h);
          body = raw.subarray(header);
          header = 0;
        }
        check.push(body);
        const w = fh.write(raw, 0, raw.length, at);
        at += raw.length;
        await w;
      };
      const frames = st.encoding === 'brotli-frames' ? new FrameDecoder(`segment ${s.name}`, place) : null;
      // A decoding or batch error still reads the object to its end: a hash mismatch is the better news.
      let failed: unknown = null;
      for await (const b of out) {
        sha.update(b as Buffer);
        storedSize += (b as Buffer).length;
        if (failed) continue;
        try {
          if (frames) await frames.push(b as Buffer);
          else await place(b as Buffer);
        } catch (e) {
          failed = e;
        }
      }
      const digest = sha.digest('hex');
      if (storedSize !== st.size || digest !== st.sha256) throw new Error(`segment ${s.name} is corrupt: ${storedSize} B sha256 ${digest.slice(0, 12)} stored, the manifest says ${st.size} B ${st.sha256.slice(0, 12)}`);
      if (failed) throw failed;
      await frames?.end();
      const end = check.end();
      if (at !== s.endOffset || end !== s.endOffset) throw new Error(`segment ${s.name} rebuilds to offset ${at}, the manifest says ${s.endOffset}`);
      if ((check.last?.toString() ?? null) !== s.lastGlobalPosition) throw new Error(`segment ${s.name} ends at position ${check.last}, the manifest says ${s.lastGlobalPosition}`);
      records = check.records;
    },
  });
  return records;
}
