// EventfoldDB backup figures on a 1 GiB log (BENCH_LOG_MIB to change), with the OCI CLI stand-in
// as the object store:
//   full backup throughput as a ratio to a raw read of the same file (cat > /dev/null)
//   after appending 1 %, bytes uploaded by the next backup / bytes appended (target <= 1.05)
//   restore time as a ratio to a plain copy of the same bytes (cp)
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type EventRecord, encodeBatch, encodeFileHeader } from '../../lib/eventfold/logformat.ts';
import { OciCli } from '../../lib/oci/cli.ts';
import { runBackup } from '../../runbooks/eventfold-db/tools/backup.ts';
import { runRestore } from '../../runbooks/eventfold-db/tools/restore.ts';

const MiB = 1024 * 1024;
const target = Number(process.env.BENCH_LOG_MIB ?? 1024) * MiB;
const dir = mkdtempSync(join(process.env.BENCH_DIR ?? '/var/tmp', 'efbench-'));
const log = join(dir, 'eventfold.log');
let pos = 0;
const stream = randomUUID();
const payload = Buffer.alloc(900, 0x61);
function appendBytes(fd: number, bytes: number): number {
  let written = 0;
  while (written < bytes) {
    const recs: EventRecord[] = Array.from({ length: 64 }, () => ({ globalPosition: BigInt(pos), recordedAt: 1_700_000_000_000n, streamId: stream, streamVersion: BigInt(pos++), eventId: randomUUID(), eventType: 'Bench.Event', metadata: Buffer.alloc(0), payload }));
    written += writeSync(fd, encodeBatch(recs));
  }
  return written;
}
const secs = (f: () => unknown) => {
  const t = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t) / 1e9;
};
const asecs = async (f: () => Promise<unknown>) => {
  const t = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t) / 1e9;
};

try {
  const fd = openSync(log, 'w');
  writeSync(fd, encodeFileHeader());
  appendBytes(fd, target);
  closeSync(fd);
  const size = statSync(log).size;
  const bin = new URL('../../test/standins/oci/bin', import.meta.url).pathname;
  const oci = new OciCli({ env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, OCI_STANDIN_ROOT: join(dir, 'oci') }, deadlineMs: 600_000, attemptTimeoutMs: 600_000 });
  await oci.json(['os', 'bucket', 'create', '--name', 'b', '--compartment-id', 'c']);
  const cfg = { logPath: log, bucket: 'b', prefix: 'bench', retentionDays: 14, fullEveryDays: 7, stateDir: join(dir, 'state') };

  spawnSync('sh', ['-c', `cat '${log}' > /dev/null`]); // warm the page cache for both
  const cat = secs(() => execFileSync('sh', ['-c', `cat '${log}' > /dev/null`]));
  const full = await asecs(() => runBackup(oci, cfg));
  console.log(`log size                         ${(size / MiB).toFixed(0)} MiB`);
  console.log(`raw read (cat > /dev/null)       ${cat.toFixed(2)} s  ${(size / MiB / cat).toFixed(0)} MiB/s`);
  console.log(`full backup                      ${full.toFixed(2)} s  ${(size / MiB / full).toFixed(0)} MiB/s`);
  console.log(`full backup throughput / raw read  ${(cat / full).toFixed(3)}`);
  // How much of that is the object store: a plain upload of the same bytes through the same
  // stand-in (a Node process copying and hashing the file), which a real OCI upload replaces.
  const put = await asecs(() => oci.putObject({ bucket: 'b', name: 'bench/plain-upload', file: log, ifExists: 'overwrite' }));
  console.log(`plain upload of the log (stand-in) ${put.toFixed(2)} s`);
  console.log(`backup's own work (full - upload)  ${(full - put).toFixed(2)} s  ${(size / MiB / (full - put)).toFixed(0)} MiB/s  (scan, CRCs, staging copy, SHA-256)`);
  await oci.json(['os', 'object', 'delete', '--bucket-name', 'b', '--name', 'bench/plain-upload', '--force']);

  const fd2 = openSync(log, 'a');
  const appended = appendBytes(fd2, Math.round(size * 0.01));
  closeSync(fd2);
  const r = await runBackup(oci, cfg);
  console.log(`appended                         ${(appended / MiB).toFixed(2)} MiB`);
  console.log(`uploaded by the next backup      ${(r.uploadedBytes / MiB).toFixed(2)} MiB`);
  console.log(`uploaded / appended              ${(r.uploadedBytes / appended).toFixed(4)}  (target <= 1.05)`);

  const out = join(dir, 'restored.log');
  const cp = secs(() => execFileSync('cp', [log, join(dir, 'copy.log')]));
  rmSync(join(dir, 'copy.log'));
  const restore = await asecs(() => runRestore(oci, { bucket: 'b', prefix: 'bench', out }));
  console.log(`plain copy (cp)                  ${cp.toFixed(2)} s`);
  console.log(`restore (fetch, verify, rebuild) ${restore.toFixed(2)} s`);
  console.log(`restore / copy                   ${(restore / cp).toFixed(2)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
