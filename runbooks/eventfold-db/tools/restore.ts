// Fetches a backup and rebuilds the log file from it, verifying every object's size and SHA-256
// and the result's batch CRCs before anything is handed over. Touches nothing but `out`.
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { scanLog } from '../../../lib/eventfold/logformat.ts';
import type { OciCli } from '../../../lib/oci/cli.ts';
import { latestManifest, validateManifest, type Manifest } from './manifest.ts';
import { sha256File } from './segment.ts';

export interface RestoreResult {
  manifest: string;
  endOffset: number;
  lastGlobalPosition: string | null;
  records: number;
  out: string;
}

export async function runRestore(oci: OciCli, o: { bucket: string; prefix: string; out: string; manifest?: string }): Promise<RestoreResult> {
  const names = (await oci.listObjects({ bucket: o.bucket, prefix: `${o.prefix}/` })).map((x) => x.name);
  const mName = o.manifest ?? latestManifest(names, o.prefix);
  if (!mName) throw new Error(`no backup manifest under ${o.bucket}/${o.prefix}/`);
  const work = join(dirname(o.out), `.restore-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true, mode: 0o700 });
  try {
    await oci.getObject({ bucket: o.bucket, name: mName, file: join(work, 'manifest.json') });
    let m: Manifest;
    try {
      m = validateManifest(JSON.parse(await readFile(join(work, 'manifest.json'), 'utf8')));
    } catch (e) {
      throw new Error(`manifest ${mName} is unusable: ${(e as Error).message}`);
    }
    // Fetch and verify every segment before building anything.
    for (const [i, s] of m.segments.entries()) {
      if (!names.includes(s.name)) throw new Error(`segment ${s.name} listed in ${mName} is missing from the bucket`);
      const f = join(work, `seg-${i}`);
      await oci.getObject({ bucket: o.bucket, name: s.name, file: f });
      const h = await sha256File(f);
      if (h.size !== s.size || h.sha256 !== s.sha256) throw new Error(`segment ${s.name} is corrupt: ${h.size} B sha256 ${h.sha256.slice(0, 12)}, manifest says ${s.size} B ${s.sha256.slice(0, 12)}`);
    }
    const partial = join(work, 'eventfold.log');
    const out = await open(partial, 'wx', 0o640);
    try {
      const buf = Buffer.alloc(4 * 1024 * 1024);
      for (const [i] of m.segments.entries()) {
        const seg = await open(join(work, `seg-${i}`), 'r');
        try {
          for (let n = 0; (n = (await seg.read(buf, 0, buf.length, null)).bytesRead) > 0; ) await out.write(buf.subarray(0, n));
        } finally {
          await seg.close();
        }
      }
      await out.sync();
    } finally {
      await out.close();
    }
    const scan = await scanLog(partial);
    if (scan.tail !== 'clean' || scan.validEnd !== m.endOffset) throw new Error(`the rebuilt log does not verify: ${scan.tail} at ${scan.validEnd} (${scan.problem ?? 'size mismatch'})`);
    if ((scan.lastGlobalPosition?.toString() ?? null) !== m.lastGlobalPosition) throw new Error(`the rebuilt log ends at position ${scan.lastGlobalPosition}, manifest says ${m.lastGlobalPosition}`);
    renameSync(partial, o.out);
    return { manifest: mName, endOffset: m.endOffset, lastGlobalPosition: m.lastGlobalPosition, records: scan.records, out: o.out };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
