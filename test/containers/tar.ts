// A deterministic ustar writer for what the image archives need: folders and regular files,
// owner root, mtime fixed, entries in the order given. Same entries, same bytes.
import { createReadStream, statSync } from 'node:fs';

export interface TarEntry {
  /** Path inside the archive, no leading slash; a folder ends without a slash. */
  path: string;
  type: 'file' | 'dir';
  mode: number;
  /** File contents: bytes, or a path on this machine streamed as is. */
  data?: Buffer | { file: string };
}

const BLOCK = 512;

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

/** One 512-byte ustar header; long names go to the prefix field (up to 255 bytes in all). */
export function tarHeader(path: string, type: 'file' | 'dir', mode: number, size: number, mtime: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  let name = type === 'dir' ? `${path}/` : path;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', name.length - 2);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
    if (cut < 0 || Buffer.byteLength(name) > 100 || Buffer.byteLength(prefix) > 155) throw new Error(`tar: path too long for ustar: ${path}`);
  }
  if (size >= 8 ** 11) throw new Error(`tar: ${path} is too large for ustar (${size} bytes)`);
  h.write(name, 0, 100);
  h.write(octal(mode & 0o7777, 8), 100);
  h.write(octal(0, 8), 108); // uid
  h.write(octal(0, 8), 116); // gid
  h.write(octal(size, 12), 124);
  h.write(octal(mtime, 12), 136);
  h.write('        ', 148); // checksum counted as spaces
  h.write(type === 'dir' ? '5' : '0', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  h.write('root', 265);
  h.write('root', 297);
  h.write(prefix, 345, 155);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

const sizeOf = (e: TarEntry): number => (e.type === 'dir' || !e.data ? 0 : Buffer.isBuffer(e.data) ? e.data.length : statSync(e.data.file).size);

/** The archive's bytes, as chunks (a file given by path is streamed, not read whole). */
export async function* tarChunks(entries: TarEntry[], mtime = 0): AsyncGenerator<Buffer> {
  for (const e of entries) {
    const size = sizeOf(e);
    yield tarHeader(e.path, e.type, e.mode, size, mtime);
    if (e.type === 'dir' || !e.data) continue;
    if (Buffer.isBuffer(e.data)) yield e.data;
    else {
      let seen = 0;
      for await (const c of createReadStream(e.data.file)) {
        seen += (c as Buffer).length;
        yield c as Buffer;
      }
      if (seen !== size) throw new Error(`tar: ${e.data.file} changed size while archived (${size} -> ${seen})`);
    }
    if (size % BLOCK) yield Buffer.alloc(BLOCK - (size % BLOCK));
  }
  yield Buffer.alloc(BLOCK * 2);
}

/** The whole archive in memory (for small layers). */
export async function tarBuffer(entries: TarEntry[], mtime = 0): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of tarChunks(entries, mtime)) parts.push(c);
  return Buffer.concat(parts);
}

/** Total archive size, without reading any file. */
export function tarSize(entries: TarEntry[]): number {
  let n = BLOCK * 2;
  for (const e of entries) n += BLOCK + Math.ceil(sizeOf(e) / BLOCK) * BLOCK;
  return n;
}
