// Incremental hot backup of the live log to Object Storage. The log is append-only and every
// batch is fsynced before its reply, so the bytes up to the last whole, CRC-verified batch are a
// consistent snapshot: each run uploads exactly the batches appended since the previous run as a
// new segment, then a manifest listing the whole chain. The segment is read once from the live
// file (CRC-checked, compressed, hashed) straight into the upload: no staging copy, no temporary
// file. Objects are never overwritten, and an object already at a name is used only when its
// bytes hash to what this run would have written.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { FILE_HEADER_LEN, type ScanResult, checkHeader, describeDamage, isHealthy } from '../protocol/logformat.ts';
import { verifiedSpans } from '../protocol/logstream.ts';
import type { OciCli } from '../../../lib/oci/cli.ts';
import { FRAME_HEADER, encodeFrame, qualityFor } from './frames.ts';
import { takeLock } from './lock.ts';
import { type Encoding, type Manifest, MANIFEST_FORMAT, type Segment, expiredChains, manifestName, newChainId, parseName, segmentName, stored, untaggedChains, validateManifest } from './manifest.ts';
import { fetchText, hashObject } from './objects.ts';
import { transferTimeoutMs } from './transfer.ts';

export interface BackupConfig {
  logPath: string;
  bucket: string;
  prefix: string;
  retentionDays: number;
  fullEveryDays: number;
  stateDir: string;
  /** Start a new chain whatever the state says. */
  full?: boolean;
}

export interface BackupResult {
  /** Log bytes in the new segment (before compression). */
  uploadedBytes: number;
  /** Bytes of the object as stored. */
  storedBytes: number;
  encoding?: Encoding;
  segment?: string;
  manifest?: string;
  lastGlobalPosition: string | null;
  newChain: boolean;
  deletedChains: string[];
}

interface State {
  chain: string;
  chainStarted: string;
  manifest: Manifest;
}

/** Frames smaller than this are merged with the next span before compression. */
const FRAME_MIN = 2 * 1024 * 1024;
/** Frames being compressed at once (libuv's pool has 4 threads). */
const PARALLEL = 3;

async function tailSha(path: string, end: number): Promise<string> {
  const n = Math.min(4096, end);
  const b = Buffer.alloc(n);
  const fh = await open(path, 'r');
  try {
    await fh.read(b, 0, n, end - n);
  } finally {
    await fh.close();
  }
  return createHash('sha256').update(b).digest('hex');
}

function loadState(dir: string): State | null {
  try {
    return JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as State;
  } catch {
    return null;
  }
}

function saveState(dir: string, s: State): void {
  writeFileSync(join(dir, 'state.json.new'), JSON.stringify(s), { mode: 0o600 });
  renameSync(join(dir, 'state.json.new'), join(dir, 'state.json'));
}

interface Encoded {
  res: ScanResult;
  encoding: Encoding | null;
  size: number;
  sha256: string;
}

/**
 * The stored bytes of the segment [from, limit) of the log, produced while reading it once:
 * batches verified, frames compressed on the thread pool, the stored bytes hashed. Throws at the
 * end (before the consumer can commit anything) when the log is damaged before its tail.
 */
async function* encodeSegment(path: string, from: number, limit: number, expectFirst: bigint | undefined, out: Encoded): AsyncGenerator<Buffer, void> {
  const sha = createHash('sha256');
  out.size = 0;
  out.encoding = null;
  const emit = (b: Buffer) => {
    sha.update(b);
    out.size += b.length;
    return b;
  };
  const fh = await open(path, 'r');
  try {
    out.res = { version: 3, validEnd: from, fileSize: limit, batches: 0, records: 0, firstGlobalPosition: null, lastGlobalPosition: null, tail: 'clean' };
    let parts: Buffer[] = [];
    if (from === 0) {
      // The first segment of a chain starts with the file header.
      const head = Buffer.alloc(FILE_HEADER_LEN);
      await fh.read(head, 0, FILE_HEADER_LEN, 0);
      checkHeader(head);
      parts = [head];
    }
    const quality = qualityFor(limit - from);
    const pending: Promise<Buffer>[] = [];
    let held = parts.reduce((s, b) => s + b.length, 0);
    const flush = async function* (): AsyncGenerator<Buffer> {
      const raw = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
      parts = [];
      held = 0;
      if (out.encoding === 'identity') return void (yield emit(raw));
      if (out.encoding === null) {
        // The first frame decides: data that brotli cannot shrink by 3 % is stored as it is.
        const f = await encodeFrame(raw, quality);
        out.encoding = f.length - FRAME_HEADER < raw.length * 0.97 ? 'brotli-frames' : 'identity';
        return void (yield emit(out.encoding === 'identity' ? raw : f));
      }
      const p = encodeFrame(raw, quality);
      p.catch(() => undefined); // awaited in order below
      pending.push(p);
      while (pending.length >= PARALLEL) yield emit(await (pending.shift() as Promise<Buffer>));
    };
    for await (const span of verifiedSpans(fh, out.res, { from: Math.max(from, FILE_HEADER_LEN), limit, expectFirst })) {
      if (out.encoding === 'identity') {
        yield emit(span);
        continue;
      }
      parts.push(span);
      held += span.length;
      if (held >= FRAME_MIN) yield* flush();
    }
    if (!isHealthy(out.res)) throw new Error(describeDamage(out.res, path));
    if (held > 0) yield* flush();
    while (pending.length) yield emit(await (pending.shift() as Promise<Buffer>));
    out.sha256 = sha.digest('hex');
  } finally {
    await fh.close();
  }
}

async function* prepend(b: Buffer, rest: AsyncGenerator<Buffer, void>): AsyncGenerator<Buffer, void> {
  yield b;
  yield* rest;
}

/** Drives encodeSegment with no upload: what this run would store (to compare with an object already there; the benchmark's "own work"). */
export async function encodeOnly(path: string, from: number, limit: number, expectFirst: bigint | undefined): Promise<Encoded> {
  const e = { sha256: '' } as Encoded;
  for await (const _ of encodeSegment(path, from, limit, expectFirst, e)) void _;
  return e;
}

export async function runBackup(oci: OciCli, c: BackupConfig, now = new Date(), host = hostname()): Promise<BackupResult> {
  mkdirSync(c.stateDir, { recursive: true, mode: 0o700 });
  const lock = takeLock(c.stateDir);
  try {
    // The previous version staged whole segments here; nothing is staged any more.
    rmSync(join(c.stateDir, 'staging'), { recursive: true, force: true });
    return await backupLocked(oci, c, now, host);
  } finally {
    lock.release();
  }
}

async function backupLocked(oci: OciCli, c: BackupConfig, now: Date, host: string): Promise<BackupResult> {
  const size = statSync(c.logPath).size;
  let state = c.full ? null : loadState(c.stateDir);
  let newChain = false;
  if (state && now.getTime() - Date.parse(state.chainStarted) > c.fullEveryDays * 86_400_000) state = null;
  if (state) {
    const m = state.manifest;
    if (size < m.endOffset) throw new Error(`the log is shorter (${size} B) than the last backup (${m.endOffset} B): it was truncated or replaced; start a new chain with --full after checking the server`);
    if ((await tailSha(c.logPath, m.endOffset)) !== m.tailSha256) throw new Error(`the log no longer matches the last backup at offset ${m.endOffset}: it was replaced; start a new chain with --full after checking the server`);
  }
  if (!state) {
    newChain = true;
    const chain = newChainId(now, host);
    state = { chain, chainStarted: now.toISOString(), manifest: { format: MANIFEST_FORMAT, chain, host, createdAt: now.toISOString(), endOffset: 0, lastGlobalPosition: null, tailSha256: '', segments: [] } };
  }
  const chain = state.chain;
  const prev = state.manifest;
  const from = prev.endOffset;
  const expectFirst = prev.lastGlobalPosition === null ? undefined : BigInt(prev.lastGlobalPosition) + 1n;
  const listed = await oci.listObjects({ bucket: c.bucket, prefix: `${c.prefix}/` });
  const existing = new Set(listed.map((o) => o.name));
  const result: BackupResult = { uploadedBytes: 0, storedBytes: 0, lastGlobalPosition: prev.lastGlobalPosition, newChain, deletedChains: [] };
  if (size > Math.max(from, FILE_HEADER_LEN) || (from === 0 && size >= FILE_HEADER_LEN)) {
    const name = segmentName(c.prefix, chain, from, size);
    let e = { sha256: '' } as Encoded;
    if (existing.has(name)) {
      e = await encodeOnly(c.logPath, from, size, expectFirst);
      await adoptExisting(oci, c.bucket, name, e);
    } else {
      // The first piece is made before the CLI starts: a run with no whole batch to add uploads nothing.
      const first = encodeSegment(c.logPath, from, size, expectFirst, e);
      const head = await first.next();
      if (!head.done) {
        let attempt = 0;
        // Retries re-read the same bytes: the log below `size` never changes.
        const r = await oci.stream(['os', 'object', 'put', '--bucket-name', c.bucket, '--name', name, '--file', '-', '--no-overwrite'], {
          what: `upload of ${name}`,
          timeoutMs: transferTimeoutMs(size - from),
          feed: () => (attempt++ === 0 ? prepend(head.value, first) : encodeSegment(c.logPath, from, size, expectFirst, e)),
        });
        if (/not overwritten/.test(r.stderr)) await adoptExisting(oci, c.bucket, name, e);
      }
    }
    const end = e.res.validEnd;
    if (end > from) {
      const seg: Segment = { name, startOffset: from, endOffset: end, size: end - from, encoding: e.encoding ?? 'identity', storedSize: e.size, storedSha256: e.sha256, firstGlobalPosition: e.res.firstGlobalPosition?.toString() ?? null, lastGlobalPosition: e.res.lastGlobalPosition?.toString() ?? null };
      const manifest: Manifest = { ...prev, format: MANIFEST_FORMAT, createdAt: now.toISOString(), endOffset: end, lastGlobalPosition: seg.lastGlobalPosition ?? prev.lastGlobalPosition, tailSha256: await tailSha(c.logPath, end), segments: [...prev.segments, seg] };
      const mName = manifestName(c.prefix, chain, end);
      const written = await putManifest(oci, c.bucket, mName, manifest, existing.has(mName));
      saveState(c.stateDir, { ...state, manifest: written });
      listed.push({ name, size: e.size, 'time-created': now.toISOString() }, { name: mName, size: 0, 'time-created': now.toISOString() });
      Object.assign(result, { uploadedBytes: end - from, storedBytes: e.size, encoding: seg.encoding, segment: name, manifest: mName, lastGlobalPosition: written.lastGlobalPosition });
    }
  }
  result.deletedChains = await prune(oci, c, listed, now, host);
  return result;
}

/** An object already at the segment's name (an interrupted earlier run) is used only if its bytes are this run's. */
async function adoptExisting(oci: OciCli, bucket: string, name: string, e: Encoded): Promise<void> {
  const have = await hashObject(oci, bucket, name, e.size);
  if (have.size !== e.size || have.sha256 !== e.sha256) {
    throw new Error(`object ${name} already exists in ${bucket} with other bytes (${have.size} B sha256 ${have.sha256.slice(0, 12)}, this backup: ${e.size} B ${e.sha256.slice(0, 12)}); refusing to overwrite it or to point a manifest at it: move it aside, or start a new chain with --full`);
  }
}

/** Writes the manifest; one already there (an interrupted earlier run) is adopted only if it lists exactly these segments. */
async function putManifest(oci: OciCli, bucket: string, name: string, m: Manifest, exists: boolean): Promise<Manifest> {
  const same = (a: Manifest) => JSON.stringify(a.segments.map((s) => [s.name, stored(s).sha256])) === JSON.stringify(m.segments.map((s) => [s.name, stored(s).sha256]));
  if (!exists) {
    const r = await oci.stream(['os', 'object', 'put', '--bucket-name', bucket, '--name', name, '--file', '-', '--no-overwrite', '--content-type', 'application/json'], {
      what: `upload of ${name}`,
      timeoutMs: transferTimeoutMs(64 * 1024),
      feed: async function* () {
        yield Buffer.from(JSON.stringify(m, null, 2));
      },
    });
    if (!/not overwritten/.test(r.stderr)) return m;
  }
  const there = validateManifest(JSON.parse(await fetchText(oci, bucket, name)));
  if (!same(there)) throw new Error(`manifest ${name} already exists in ${bucket} and lists other segments; refusing to overwrite it: move it aside, or start a new chain with --full`);
  return there;
}

/** Deletes this host's expired chains (see expiredChains); objects not named as this tool names them are never touched. */
async function prune(oci: OciCli, c: BackupConfig, objects: { name: string; 'time-created'?: string }[], now: Date, host: string): Promise<string[]> {
  const list = objects.map((o) => ({ name: o.name, timeCreated: o['time-created'] ?? now.toISOString() }));
  const cutoff = now.getTime() - c.retentionDays * 86_400_000;
  // Older chains have no host in their names: their newest manifest says whose they are.
  const hosts = new Map<string, string | null>();
  for (const [chain, mName] of untaggedChains(list.map((o) => o.name), c.prefix)) {
    const newest = Math.max(...list.filter((o) => o.name.startsWith(`${c.prefix}/${chain}/`)).map((o) => Date.parse(o.timeCreated)));
    if (newest >= cutoff) continue;
    try {
      hosts.set(chain, validateManifest(JSON.parse(await fetchText(oci, c.bucket, mName))).host);
    } catch {
      hosts.set(chain, null);
    }
  }
  const chains = expiredChains(list, c.prefix, c.retentionDays, now, host, hosts);
  for (const chain of chains) {
    for (const o of list) if (parseName(o.name, c.prefix)?.chain === chain) await oci.deleteObject({ bucket: c.bucket, name: o.name });
  }
  return chains;
}
