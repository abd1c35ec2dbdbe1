// Copies a byte range of the live log to a staging file, hashing as it goes (bounded memory).
// The staging file is not fsynced: it is uploaded at once, and a crash only means a re-run.
// MD5 (for --content-md5) is skipped above the CLI's multipart threshold, where OCI ignores it.
export const MULTIPART_THRESHOLD = 128 * 1024 * 1024;
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

export async function copyRange(src: string, dst: string, start: number, end: number, chunk = 4 * 1024 * 1024): Promise<{ sha256: string; md5: string | undefined; size: number }> {
  const sha = createHash('sha256');
  const md5 = end - start <= MULTIPART_THRESHOLD ? createHash('md5') : null;
  const inp = await open(src, 'r');
  const out = await open(dst, 'wx', 0o600);
  try {
    const buf = Buffer.alloc(chunk);
    for (let pos = start; pos < end; ) {
      const { bytesRead } = await inp.read(buf, 0, Math.min(chunk, end - pos), pos);
      if (bytesRead === 0) throw new Error(`log ended at ${pos}, expected ${end}`);
      const part = buf.subarray(0, bytesRead);
      sha.update(part);
      md5?.update(part);
      await out.write(part);
      pos += bytesRead;
    }
  } finally {
    await inp.close();
    await out.close();
  }
  return { sha256: sha.digest('hex'), md5: md5?.digest('base64'), size: end - start };
}

/** SHA-256 of a whole file, streamed. */
export async function sha256File(path: string): Promise<{ sha256: string; size: number }> {
  const sha = createHash('sha256');
  const fh = await open(path, 'r');
  let size = 0;
  try {
    const buf = Buffer.alloc(4 * 1024 * 1024);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (!bytesRead) break;
      sha.update(buf.subarray(0, bytesRead));
      size += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return { sha256: sha.digest('hex'), size };
}
