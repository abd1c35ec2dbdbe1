// EventfoldDB's log file, format version 3 (facts in the project's reference: all integers
// little-endian, CRC32 IEEE). Pure encoding/decoding plus a streaming scanner that never holds a
// whole log in memory: the backup and restore tools stand on it.
import { type FileHandle, open } from 'node:fs/promises';
import { crc32 } from './crc32.ts';

export const FILE_MAGIC = 'EFDB';
export const FORMAT_VERSION = 3;
export const FILE_HEADER_LEN = 8;
export const BATCH_MAGIC = 'EFBB';
export const FOOTER_MAGIC = 'EFBF';
export const BATCH_HEADER_LEN = 16;
export const FOOTER_LEN = 8;
export const RECORD_FIXED_LEN = 70;
export const MAX_RECORD_LEN = 64 * 1024;

export interface EventRecord {
  globalPosition: bigint;
  recordedAt: bigint;
  streamId: string;
  streamVersion: bigint;
  eventId: string;
  eventType: string;
  metadata: Buffer;
  payload: Buffer;
}

export function uuidToBytes(u: string): Buffer {
  const hex = u.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`not a UUID: ${u}`);
  return Buffer.from(hex, 'hex');
}

export function bytesToUuid(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function encodeFileHeader(): Buffer {
  const b = Buffer.alloc(FILE_HEADER_LEN);
  b.write(FILE_MAGIC, 0, 'latin1');
  b.writeUInt32LE(FORMAT_VERSION, 4);
  return b;
}

/** One record: u32 body_len (counting the trailing CRC), then the body and CRC32(body). */
export function encodeRecord(r: EventRecord): Buffer {
  const type = Buffer.from(r.eventType, 'utf8');
  const bodyLen = RECORD_FIXED_LEN + type.length + r.metadata.length + r.payload.length;
  const b = Buffer.alloc(4 + bodyLen);
  let o = 0;
  b.writeUInt32LE(bodyLen, o); o += 4;
  const start = o;
  b.writeBigUInt64LE(r.globalPosition, o); o += 8;
  b.writeBigUInt64LE(r.recordedAt, o); o += 8;
  uuidToBytes(r.streamId).copy(b, o); o += 16;
  b.writeBigUInt64LE(r.streamVersion, o); o += 8;
  uuidToBytes(r.eventId).copy(b, o); o += 16;
  b.writeUInt16LE(type.length, o); o += 2;
  type.copy(b, o); o += type.length;
  b.writeUInt32LE(r.metadata.length, o); o += 4;
  r.metadata.copy(b, o); o += r.metadata.length;
  b.writeUInt32LE(r.payload.length, o); o += 4;
  r.payload.copy(b, o); o += r.payload.length;
  b.writeUInt32LE(crc32(b.subarray(start, o)), o);
  return b;
}

/** A record before it has a place in the log: encodeBatch(first, inputs) numbers them. */
export type RecordInput = Omit<EventRecord, 'globalPosition'>;

/**
 * One batch (one Append): header (magic, count, first global position), the records, and a
 * footer with CRC32(header ++ records). Either records that already carry their contiguous
 * positions, or a first position and inputs that get first, first+1, ...
 */
export function encodeBatch(records: EventRecord[]): Buffer;
export function encodeBatch(firstGlobalPosition: bigint | number, records: RecordInput[]): Buffer;
export function encodeBatch(a: EventRecord[] | bigint | number, b?: RecordInput[]): Buffer {
  const records: EventRecord[] = Array.isArray(a) ? a : (b ?? []).map((r, i) => ({ ...r, globalPosition: BigInt(a) + BigInt(i) }));
  if (!records.length) throw new Error('a batch holds at least one record');
  const first = (records[0] as EventRecord).globalPosition;
  records.forEach((r, i) => {
    if (r.globalPosition !== first + BigInt(i)) throw new Error(`record ${i} has position ${r.globalPosition}, want ${first + BigInt(i)}`);
  });
  const head = Buffer.alloc(BATCH_HEADER_LEN);
  head.write(BATCH_MAGIC, 0, 'latin1');
  head.writeUInt32LE(records.length, 4);
  head.writeBigUInt64LE(first, 8);
  const body = Buffer.concat([head, ...records.map(encodeRecord)]);
  const foot = Buffer.alloc(FOOTER_LEN);
  foot.write(FOOTER_MAGIC, 0, 'latin1');
  foot.writeUInt32LE(crc32(body), 4);
  return Buffer.concat([body, foot]);
}

export type BatchParse =
  | { ok: true; end: number; count: number; first: bigint; last: bigint; records?: EventRecord[] }
  | { ok: false; short: boolean; reason: string };

function decodeRecordBody(b: Buffer, s: number, bodyLen: number): EventRecord | string {
  const end = s + bodyLen - 4;
  if (crc32(b.subarray(s, end)) !== b.readUInt32LE(end)) return 'record CRC mismatch';
  let o = s;
  const globalPosition = b.readBigUInt64LE(o); o += 8;
  const recordedAt = b.readBigUInt64LE(o); o += 8;
  const streamId = bytesToUuid(b.subarray(o, o + 16)); o += 16;
  const streamVersion = b.readBigUInt64LE(o); o += 8;
  const eventId = bytesToUuid(b.subarray(o, o + 16)); o += 16;
  const tl = b.readUInt16LE(o); o += 2;
  if (o + tl + 8 > end) return 'record lengths overflow the record';
  const eventType = b.toString('utf8', o, o + tl); o += tl;
  const ml = b.readUInt32LE(o); o += 4;
  if (o + ml + 4 > end) return 'record lengths overflow the record';
  const metadata = Buffer.from(b.subarray(o, o + ml)); o += ml;
  const pl = b.readUInt32LE(o); o += 4;
  if (o + pl !== end) return 'record lengths do not add up';
  const payload = Buffer.from(b.subarray(o, o + pl));
  return { globalPosition, recordedAt, streamId, streamVersion, eventId, eventType, metadata, payload };
}

/** Parses and verifies the batch starting at `off`; `short` means more bytes are needed. `base`: the file offset of b[0], for messages. */
export function parseBatch(b: Buffer, off: number, keepRecords = false, base = 0): BatchParse {
  if (b.length - off < BATCH_HEADER_LEN) return { ok: false, short: true, reason: 'short batch header' };
  if (b.toString('latin1', off, off + 4) !== BATCH_MAGIC) return { ok: false, short: false, reason: `bad batch magic at offset ${base + off}` };
  const count = b.readUInt32LE(off + 4);
  const first = b.readBigUInt64LE(off + 8);
  if (count === 0) return { ok: false, short: false, reason: `empty batch at offset ${base + off}` };
  let o = off + BATCH_HEADER_LEN;
  const records: EventRecord[] = [];
  let last = first;
  for (let i = 0; i < count; i++) {
    if (b.length - o < 4) return { ok: false, short: true, reason: 'short record' };
    const bodyLen = b.readUInt32LE(o);
    if (bodyLen < RECORD_FIXED_LEN || bodyLen > MAX_RECORD_LEN) return { ok: false, short: false, reason: `bad record length ${bodyLen} at offset ${base + o}` };
    if (b.length - o - 4 < bodyLen) return { ok: false, short: true, reason: 'short record' };
    let position: bigint;
    if (keepRecords) {
      const rec = decodeRecordBody(b, o + 4, bodyLen);
      if (typeof rec === 'string') return { ok: false, short: false, reason: `${rec} at offset ${base + o}` };
      records.push(rec);
      position = rec.globalPosition;
    } else {
      // Scanning only: the record CRC and its position are all that matter.
      const s = o + 4;
      if (crc32(b.subarray(s, s + bodyLen - 4)) !== b.readUInt32LE(s + bodyLen - 4)) return { ok: false, short: false, reason: `record CRC mismatch at offset ${base + o}` };
      position = b.readBigUInt64LE(s);
    }
    if (position !== first + BigInt(i)) return { ok: false, short: false, reason: `record at offset ${base + o} has position ${position}, want ${first + BigInt(i)}` };
    last = position;
    o += 4 + bodyLen;
  }
  if (b.length - o < FOOTER_LEN) return { ok: false, short: true, reason: 'short batch footer' };
  if (b.toString('latin1', o, o + 4) !== FOOTER_MAGIC) return { ok: false, short: false, reason: `bad batch footer at offset ${base + o}` };
  if (crc32(b.subarray(off, o)) !== b.readUInt32LE(o + 4)) return { ok: false, short: false, reason: `batch CRC mismatch at offset ${base + off}` };
  return { ok: true, end: o + FOOTER_LEN, count, first, last, records: keepRecords ? records : undefined };
}

export interface ScanResult {
  /** The format version from the file header (always 3: anything else throws). */
  version: number;
  /** Byte offset just past the last whole, verified batch: a consistent snapshot ends here. */
  validEnd: number;
  fileSize: number;
  batches: number;
  records: number;
  firstGlobalPosition: bigint | null;
  lastGlobalPosition: bigint | null;
  /** clean: the file ends on a batch boundary; torn: a trailing partial/corrupt batch (the server drops it); corrupt: fatal to the server. */
  tail: 'clean' | 'torn' | 'corrupt';
  problem?: string;
  /**
   * Set when the batch that failed is not the trailing one: whole, valid batches follow it, so
   * it is damage, not an append in flight. A backup must stop loudly there (the server would
   * drop everything after it, or refuse to start). `batch` counts from the scan's start (1 = the
   * first batch read), `offset` is its file offset.
   */
  damaged?: { offset: number; batch: number; afterPosition: bigint | null; reason: string };
}

/** Only a torn tail (an append in flight, or garbage up to the end) is tolerated by a backup. */
export function isHealthy(r: ScanResult): boolean {
  return r.tail !== 'corrupt' && !r.damaged;
}

/** One line for the journal: where the damage is and what it is. */
export function describeDamage(r: ScanResult, path: string): string {
  const d = r.damaged;
  if (!d) return `${path} is corrupt after file offset ${r.validEnd}: ${r.problem}`;
  return `${path} has a damaged batch at file offset ${d.offset} (batch ${d.batch} of this scan, right after global position ${d.afterPosition ?? 'none'}): ${d.reason}; whole batches follow it, so it is not an append in flight`;
}

export interface ScanOptions {
  /** A known batch boundary to start from (incremental backups); default: just after the header. */
  from?: number;
  /** Stop reading here (a size taken earlier, so a file still growing is cut consistently). */
  limit?: number;
  /** Position the first batch must start at (continuity with an earlier backup). */
  expectFirst?: bigint;
  chunkSize?: number;
  onRecords?: (records: EventRecord[]) => void;
}

/** Reads the header of a log; throws on a bad magic or a version other than 3 (the server exits 1). */
export function checkHeader(b: Buffer): number {
  if (b.length < FILE_HEADER_LEN || b.toString('latin1', 0, 4) !== FILE_MAGIC) throw new Error('not an EventfoldDB log (bad file magic)');
  const v = b.readUInt32LE(4);
  if (v !== FORMAT_VERSION) throw new Error(`log format version ${v}; only ${FORMAT_VERSION} is supported`);
  return v;
}

type Verified = Extract<BatchParse, { ok: true }>;
type Failed = Extract<BatchParse, { ok: false }>;
/** A walk over batches yields each whole, verified batch (absolute offsets), then how it ended. */
type Step = { batch: Verified; offset: number; end: number } | { failed: Failed | null; offset: number };

/** The batches of a log held in memory, from `start` (a batch boundary) to the buffer's end. */
function* walkBuffer(b: Buffer, start: number, keep: boolean): Generator<Step, void> {
  let off = start;
  for (;;) {
    if (off >= b.length) return void (yield { failed: null, offset: off });
    const p = parseBatch(b, off, keep);
    if (!p.ok) return void (yield { failed: p, offset: off });
    yield { batch: p, offset: off, end: p.end };
    off = p.end;
  }
}

/** The batches of a log file, read in chunks: a file of any size is walked in bounded memory. */
async function* walkFile(fh: FileHandle, start: number, size: number, chunk: number, keep: boolean): AsyncGenerator<Step, void> {
  let buf = Buffer.alloc(0);
  let bufStart = start; // file offset of buf[0]
  let readPos = start;
  let off = 0;
  for (;;) {
    if (bufStart + off >= size) return void (yield { failed: null, offset: bufStart + off });
    const p = parseBatch(buf, off, keep, bufStart);
    if (p.ok) {
      yield { batch: p, offset: bufStart + off, end: bufStart + p.end };
      off = p.end;
      continue;
    }
    if (p.short && readPos < size) {
      // Keep the unparsed tail and read the next chunk after it; a batch larger than a chunk
      // takes several reads (each at least doubling what is held).
      const n = Math.min(Math.max(chunk, buf.length - off), size - readPos);
      const next = Buffer.alloc(n);
      const { bytesRead } = await fh.read(next, 0, n, readPos);
      if (bytesRead === 0) return void (yield { failed: p, offset: bufStart + off });
      readPos += bytesRead;
      buf = Buffer.concat([buf.subarray(off), next.subarray(0, bytesRead)]);
      bufStart += off;
      off = 0;
      continue;
    }
    return void (yield { failed: p, offset: bufStart + off });
  }
}

/**
 * Adds one step of a walk to a result. Returns 'more' to go on, 'done' to stop, or 'ask' when
 * a bad batch magic was met: the caller then asks whether a valid batch follows somewhere after
 * `res.validEnd` and, if so, calls markCorrupt (the server's fatal-corruption rule).
 */
function addStep(res: ScanResult, s: Step, o: ScanOptions, st: { expect?: bigint }): 'more' | 'done' | 'ask' {
  if ('batch' in s) {
    const p = s.batch;
    if (st.expect !== undefined && p.first !== st.expect) {
      res.tail = 'corrupt';
      res.problem = `batch at offset ${s.offset} starts at position ${p.first}, want ${st.expect}`;
      return 'done';
    }
    st.expect = p.last + 1n;
    res.batches++;
    res.records += p.count;
    res.firstGlobalPosition ??= p.first;
    res.lastGlobalPosition = p.last;
    res.validEnd = s.end;
    if (p.records) o.onRecords?.(p.records);
    return 'more';
  }
  if (!s.failed) return 'done';
  res.tail = 'torn';
  res.problem = s.failed.reason;
  return !s.failed.short && s.failed.reason.startsWith('bad batch magic') ? 'ask' : 'done';
}

function markCorrupt(res: ScanResult): void {
  res.tail = 'corrupt';
  res.problem = `${res.problem}, followed by valid batches`;
}

function markDamaged(res: ScanResult, reason: string): void {
  res.damaged = { offset: res.validEnd, batch: res.batches + 1, afterPosition: res.lastGlobalPosition, reason };
}

function newResult(version: number, size: number, from: number): ScanResult {
  return { version, validEnd: from, fileSize: size, batches: 0, records: 0, firstGlobalPosition: null, lastGlobalPosition: null, tail: 'clean' };
}

/**
 * Walks the batches of a log, verifying every record CRC, every batch CRC and the contiguity of
 * global positions. `src` is a path (read in chunks through a FileHandle, never whole) or the
 * bytes of a whole log (header included). Throws on a bad file magic or a version other than 3.
 *
 * tail: 'clean' when the walk ends exactly at the end; 'torn' when a trailing partial or corrupt
 * batch follows `validEnd` (the server truncates it away with a warning and starts); 'corrupt'
 * when a bad batch magic is followed by a whole valid batch later on (the server exits 1), or
 * when positions do not continue from `expectFirst`.
 */
export async function scanLog(src: string | Buffer, o: ScanOptions = {}): Promise<ScanResult> {
  if (Buffer.isBuffer(src)) return scanBuffer(src, o);
  const fh = await open(src, 'r');
  try {
    const size = Math.min((await fh.stat()).size, o.limit ?? Number.MAX_SAFE_INTEGER);
    const head = Buffer.alloc(FILE_HEADER_LEN);
    await fh.read(head, 0, FILE_HEADER_LEN, 0);
    const res = newResult(checkHeader(head), size, o.from ?? FILE_HEADER_LEN);
    const st: { expect?: bigint } = { expect: o.expectFirst };
    for await (const s of walkFile(fh, res.validEnd, size, o.chunkSize ?? 4 * 1024 * 1024, Boolean(o.onRecords))) {
      const next = addStep(res, s, o, st);
      if (next === 'more') continue;
      // A batch that fails with bytes to spare (not merely short) is damage when whole batches follow.
      if ('failed' in s && s.failed && !s.failed.short && (await laterValidBatch(fh, res.validEnd + 1, size))) {
        markDamaged(res, s.failed.reason);
        if (next === 'ask') markCorrupt(res);
      }
      break;
    }
    return res;
  } finally {
    await fh.close();
  }
}

/** scanLog over the bytes of a whole log, synchronously. */
export function scanBuffer(buf: Buffer, o: ScanOptions = {}): ScanResult {
  const b = o.limit !== undefined && o.limit < buf.length ? buf.subarray(0, o.limit) : buf;
  const res = newResult(checkHeader(b), b.length, o.from ?? FILE_HEADER_LEN);
  const st: { expect?: bigint } = { expect: o.expectFirst };
  for (const s of walkBuffer(b, res.validEnd, Boolean(o.onRecords))) {
    const next = addStep(res, s, o, st);
    if (next === 'more') continue;
    if ('failed' in s && s.failed && !s.failed.short && laterValidIn(b, res.validEnd + 1)) {
      markDamaged(res, s.failed.reason);
      if (next === 'ask') markCorrupt(res);
    }
    break;
  }
  return res;
}

/**
 * The verified events of whole batches in `buf`, in log order. `buf` is either a whole log
 * (starting with the file header, which is checked) or bytes starting at a batch boundary (a
 * backup segment). Iteration stops before the first batch that does not verify, exactly where
 * the server's recovery would cut; use scanLog to learn whether and why that happened.
 */
export function* decodeRecords(buf: Buffer, o: { from?: number } = {}): Generator<EventRecord> {
  let start = o.from ?? 0;
  if (o.from === undefined && buf.length >= 4 && buf.toString('latin1', 0, 4) === FILE_MAGIC) {
    checkHeader(buf);
    start = FILE_HEADER_LEN;
  }
  for (const s of walkBuffer(buf, start, true)) {
    if (!('batch' in s)) return;
    yield* s.batch.records ?? [];
  }
}

/** decodeRecords over a log file, read in chunks (never whole): for verifying restores. */
export async function* readLogRecords(path: string, o: { from?: number; limit?: number; chunkSize?: number } = {}): AsyncGenerator<EventRecord> {
  const fh = await open(path, 'r');
  try {
    const size = Math.min((await fh.stat()).size, o.limit ?? Number.MAX_SAFE_INTEGER);
    const head = Buffer.alloc(FILE_HEADER_LEN);
    await fh.read(head, 0, FILE_HEADER_LEN, 0);
    checkHeader(head);
    for await (const s of walkFile(fh, o.from ?? FILE_HEADER_LEN, size, o.chunkSize ?? 4 * 1024 * 1024, true)) {
      if (!('batch' in s)) return;
      yield* s.batch.records ?? [];
    }
  } finally {
    await fh.close();
  }
}

/** Whether a whole, valid batch starts anywhere at or after `from` in `b`. */
function laterValidIn(b: Buffer, from: number): boolean {
  for (let i = b.indexOf(BATCH_MAGIC, from, 'latin1'); i >= 0; i = b.indexOf(BATCH_MAGIC, i + 1, 'latin1')) {
    if (parseBatch(b, i).ok) return true;
  }
  return false;
}

/** Whether a whole, valid batch starts anywhere at or after `from` (the server's fatal-corruption rule). */
export async function laterValidBatch(fh: FileHandle, from: number, size: number): Promise<boolean> {
  // Windows overlap by the largest batch we expect to see whole (a batch that straddles a window
  // edge by more is found from the next window's start only if it begins there).
  const window = 8 * 1024 * 1024;
  const overlap = 1024 * 1024;
  for (let pos = from; pos < size; pos += window - overlap) {
    const n = Math.min(window, size - pos);
    const b = Buffer.alloc(n);
    await fh.read(b, 0, n, pos);
    if (laterValidIn(b, 0)) return true;
    if (pos + n >= size) break;
  }
  return false;
}
