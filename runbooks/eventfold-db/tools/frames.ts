// How a segment's bytes are stored. 'identity': the log bytes as they are. 'brotli-frames': a
// sequence of frames, each u32 raw length, u32 stored length (little-endian), then the stored
// bytes: brotli of whole batches, or the raw bytes when brotli would not make them smaller
// (stored length == raw length). Frames are independent, so both sides use every core.
// Brotli was chosen by measurement on event-like JSON logs (README, Figures): quality 1 for
// large segments keeps a full backup near hashing speed; small (incremental) segments get a
// higher quality, which costs little time at their size.
import { promisify } from 'node:util';
import zlib from 'node:zlib';

export const FRAME_HEADER = 8;
/** Raw bytes per frame (whole batches, so slightly less or, for one huge batch, more). */
export const FRAME_TARGET = 4 * 1024 * 1024;
const compress = promisify(zlib.brotliCompress);
const decompress = promisify(zlib.brotliDecompress);
const C = zlib.constants;

/** Quality by segment size: measured, see the README's Figures. */
export const qualityFor = (segmentBytes: number) => (segmentBytes >= 64 * 1024 * 1024 ? 1 : 4);

/** One stored frame for `raw` (header included). */
export async function encodeFrame(raw: Buffer, quality: number): Promise<Buffer> {
  const z = await compress(raw, { params: { [C.BROTLI_PARAM_QUALITY]: quality, [C.BROTLI_PARAM_LGWIN]: 22, [C.BROTLI_PARAM_SIZE_HINT]: raw.length } });
  const body = z.length < raw.length ? z : raw;
  const head = Buffer.allocUnsafe(FRAME_HEADER);
  head.writeUInt32LE(raw.length, 0);
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body]);
}

/** Splits a stored object's bytes, pushed in any pieces, into frames and decodes them (several at once, in order). */
export class FrameDecoder {
  #chunks: Buffer[] = [];
  #have = 0;
  #head: { raw: number; stored: number } | null = null;
  #pending: Promise<Buffer>[] = [];

  constructor(
    readonly what: string,
    readonly onRaw: (raw: Buffer) => void | Promise<void>,
    readonly parallel = 3,
  ) {}

  /** The next n bytes held, in one buffer (one copy at most). */
  #take(n: number): Buffer {
    const all = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.#chunks = rest.length ? [rest] : [];
    this.#have -= n;
    return out;
  }

  async push(b: Buffer): Promise<void> {
    this.#chunks.push(b);
    this.#have += b.length;
    for (;;) {
      if (!this.#head) {
        if (this.#have < FRAME_HEADER) return;
        const h = this.#take(FRAME_HEADER);
        this.#head = { raw: h.readUInt32LE(0), stored: h.readUInt32LE(4) };
        if (this.#head.stored > this.#head.raw) throw new Error(`${this.what}: a frame stores ${this.#head.stored} bytes for ${this.#head.raw} (damaged object)`);
      }
      if (this.#have < this.#head.stored) return;
      const { raw, stored } = this.#head;
      const body = this.#take(stored);
      this.#head = null;
      const next =
        stored === raw
          ? Promise.resolve(body)
          : decompress(body).then((r) => {
              if (r.length !== raw) throw new Error(`${this.what}: a frame decodes to ${r.length} bytes, its header says ${raw}`);
              return r;
            });
      next.catch(() => undefined); // awaited in order below; this only keeps an early failure from going unhandled
      this.#pending.push(next);
      while (this.#pending.length >= this.parallel) await this.onRaw(await (this.#pending.shift() as Promise<Buffer>));
    }
  }

  async end(): Promise<void> {
    if (this.#have || this.#head) throw new Error(`${this.what}: ends inside a frame (${this.#have} bytes left over)`);
    while (this.#pending.length) await this.onRaw(await (this.#pending.shift() as Promise<Buffer>));
  }
}
