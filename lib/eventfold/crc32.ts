// CRC-32 (IEEE 802.3, as zlib's crc32). zlib.crc32 (Node 20.15+) is native and many times faster;
// the table-driven version keeps the tools working on Node 18 (Debian 12, Ubuntu 24.04).
import zlib from 'node:zlib';

const native = (zlib as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** Continues a CRC over more bytes: crc32(b, crc32(a)) === crc32(a ++ b). */
export function crc32(buf: Uint8Array, prev = 0): number {
  return native ? native(buf, prev) >>> 0 : crc32Table(buf, prev);
}

/** The portable implementation (exported so tests compare both). */
export function crc32Table(buf: Uint8Array, prev = 0): number {
  let c = (prev ^ 0xffffffff) >>> 0;
  for (let i = 0; i < buf.length; i++) c = (TABLE[(c ^ (buf[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
