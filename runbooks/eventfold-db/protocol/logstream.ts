// The log read once, as spans of whole, CRC-verified batches: the backup feeds its upload from
// these spans (no staging copy), the restore checks what it rebuilds with the same rules.
import type { FileHandle } from 'node:fs/promises';
import { type ScanResult, laterValidBatch, parseBatch } from './logformat.ts';

export const SPAN_CHUNK = 4 * 1024 * 1024;

/**
 * Reads [from, limit) of an open log and yields spans of whole batches, each verified (record
 * and batch CRCs, contiguous positions) before it is yielded. `res` is filled as it goes; when the
 * walk stops early it says why, as scanLog does: a short trailing batch is a torn tail (an
 * append in flight), a failing batch followed by whole valid ones is `damaged`.
 */
export async function* verifiedSpans(fh: FileHandle, res: ScanResult, o: { from: number; limit: number; expectFirst?: bigint; chunkSize?: number }): AsyncGenerator<Buffer, void> {
  const chunk = o.chunkSize ?? SPAN_CHUNK;
  const size = o.limit;
  let expect = o.expectFirst;
  let buf = Buffer.alloc(0);
  let bufStart = o.from; // file offset of buf[0]
  let readPos = o.from;
  res.validEnd = o.from;
  for (;;) {
    let off = 0;
    let stop: { reason: string; short: boolean; badMagic: boolean } | null = null;
    for (;;) {
      if (bufStart + off >= size) break;
      const p = parseBatch(buf, off);
      if (p.ok) {
        if (expect !== undefined && p.first !== expect) {
          stop = { reason: `batch at file offset ${bufStart + off} starts at position ${p.first}, want ${expect}`, short: false, badMagic: false };
          res.tail = 'corrupt';
          break;
        }
        expect = p.last + 1n;
        res.batches++;
        res.records += p.count;
        res.firstGlobalPosition ??= p.first;
        res.lastGlobalPosition = p.last;
        off = p.end;
        continue;
      }
      if (p.short && readPos < size) break; // more bytes needed
      stop = { reason: p.reason, short: p.short, badMagic: !p.short && p.reason.startsWith('bad batch magic') };
      break;
    }
    if (off > 0) {
      res.validEnd = bufStart + off;
      yield buf.subarray(0, off);
    }
    if (stop || bufStart + off >= size) {
      if (stop && res.tail !== 'corrupt') {
        res.tail = 'torn';
        res.problem = stop.reason;
        if (!stop.short && (await laterValidBatch(fh, res.validEnd + 1, size))) {
          res.damaged = { offset: res.validEnd, batch: res.batches + 1, afterPosition: res.lastGlobalPosition, reason: stop.reason };
          if (stop.badMagic) res.tail = 'corrupt';
        }
      } else if (stop) res.problem = stop.reason;
      return;
    }
    // Keep the unparsed tail and read after it; a batch larger than a chunk takes several reads.
    const left = buf.length - off;
    const n = Math.min(Math.max(chunk, left), size - readPos);
    const next = Buffer.allocUnsafe(left + n);
    buf.copy(next, 0, off);
    let got = 0;
    while (got < n) {
      const { bytesRead } = await fh.read(next, left + got, n - got, readPos + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    if (got < n) throw new Error(`the log ended at file offset ${readPos + got} while ${size} bytes were expected (was it truncated?)`);
    readPos += n;
    bufStart += off;
    buf = next;
  }
}

/**
 * Checks bytes pushed in order (a restored segment) against the log format: every batch whole and
 * verified, positions contiguous from `expectFirst`. Throws at the first bad batch with its offset.
 */
export class BatchChecker {
  #carry = Buffer.alloc(0);
  #offset: number;
  #expect: bigint | undefined;
  batches = 0;
  records = 0;
  first: bigint | null = null;
  last: bigint | null = null;

  constructor(
    readonly what: string,
    startOffset: number,
    expectFirst?: bigint,
  ) {
    this.#offset = startOffset;
    this.#expect = expectFirst;
  }

  push(b: Buffer): void {
    let buf = this.#carry.length ? Buffer.concat([this.#carry, b]) : b;
    let off = 0;
    while (off < buf.length) {
      const p = parseBatch(buf, off);
      if (!p.ok) {
        if (p.short) break;
        throw new Error(`${this.what}: batch at log offset ${this.#offset} does not verify: ${p.reason}`);
      }
      if (this.#expect !== undefined && p.first !== this.#expect) throw new Error(`${this.what}: batch at log offset ${this.#offset} starts at position ${p.first}, want ${this.#expect}`);
      this.#expect = p.last + 1n;
      this.batches++;
      this.records += p.count;
      this.first ??= p.first;
      this.last = p.last;
      this.#offset += p.end - off;
      off = p.end;
    }
    buf = buf.subarray(off);
    this.#carry = buf.length ? Buffer.from(buf) : Buffer.alloc(0);
  }

  /** The offset just past the last whole batch; throws when a partial batch is left over. */
  end(): number {
    if (this.#carry.length) throw new Error(`${this.what}: ends with ${this.#carry.length} bytes that are not a whole batch (log offset ${this.#offset})`);
    return this.#offset;
  }
}
