// Reading objects back as a stream through the CLI's stdout: a small one as text, or a large one
// hashed as it arrives (nothing written to disk).
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { OciCli } from '../../../lib/oci/cli.ts';
import { transferTimeoutMs } from './transfer.ts';

export async function fetchText(oci: OciCli, bucket: string, name: string): Promise<string> {
  let text = '';
  await oci.stream(['os', 'object', 'get', '--bucket-name', bucket, '--name', name, '--file', '-'], {
    what: `download of ${name}`,
    timeoutMs: transferTimeoutMs(1024 * 1024),
    drain: async (out: Readable) => {
      const parts: Buffer[] = [];
      for await (const b of out) parts.push(b as Buffer);
      text = Buffer.concat(parts).toString('utf8');
    },
  });
  return text;
}

export async function hashObject(oci: OciCli, bucket: string, name: string, sizeHint: number): Promise<{ size: number; sha256: string }> {
  let r = { size: 0, sha256: '' };
  await oci.stream(['os', 'object', 'get', '--bucket-name', bucket, '--name', name, '--file', '-'], {
    what: `download of ${name}`,
    timeoutMs: transferTimeoutMs(sizeHint),
    drain: async (out: Readable) => {
      const h = createHash('sha256');
      let size = 0;
      for await (const b of out) {
        h.update(b as Buffer);
        size += (b as Buffer).length;
      }
      r = { size, sha256: h.digest('hex') };
    },
  });
  return r;
}
