// EventfoldDB backup and restore beside restic (Debian's restic, a local repository), in one run
// on the same files: a log of event-like JSON payloads (BENCH_LOG_MIB, default 512) and one of
// incompressible payloads (BENCH_RANDOM_MIB, default 128), the OCI CLI stand-in as the store.
// Each measurement runs BENCH_RUNS times (default 3); the medians are printed with the spread,
// because the machine's cores are shared. Floors: sha256sum and cp of the same file.
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { crc32Portable, crc32Table } from '../../runbooks/eventfold-db/protocol/crc32.ts';
import { type EventRecord, encodeBatch, encodeFileHeader } from '../../runbooks/eventfold-db/protocol/logformat.ts';
import { OciCli } from '../../lib/oci/cli.ts';
import { encodeOnly, runBackup } from '../../runbooks/eventfold-db/tools/backup.ts';
import { runRestore } from '../../runbooks/eventfold-db/tools/restore.ts';

const MiB = 1024 * 1024;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const root = mkdtempSync(join(process.env.BENCH_DIR ?? '/var/tmp', 'efbench-'));
const env = { ...process.env, RESTIC_PASSWORD: 'bench-only', RESTIC_CACHE_DIR: join(root, 'restic-cache') };

// Event-like payloads: JSON orders with UUIDs, customers, amounts, items, addresses, timestamps.
let pos = 0;
const streams = Array.from({ length: 500 }, () => randomUUID());
const versions = new Map<string, number>();
const types = ['Order.Placed', 'Order.Paid', 'Order.Shipped', 'Cart.ItemAdded', 'Customer.Registered'];
function jsonPayload(i: number): Buffer {
  const items = Array.from({ length: 1 + (i % 4) }, (_, k) => ({ sku: `SKU-${(i * 7 + k * 13) % 5000}`, qty: 1 + ((i + k) % 3), price: ((i * 31 + k) % 10000) / 100 }));
  return Buffer.from(JSON.stringify({ orderId: randomUUID(), customerId: `cust-${(i * 17) % 20000}`, email: `user${(i * 17) % 20000}@example.com`, amount: ((i * 1237) % 100000) / 100, currency: ['EUR', 'USD', 'GBP'][i % 3], items, shippingAddress: { street: `${i % 999} Main Street`, city: ['Berlin', 'Paris', 'Madrid', 'Lisbon'][i % 4], zip: String(10000 + (i % 89999)) }, placedAt: new Date(1_700_000_000_000 + i * 1000).toISOString(), correlationId: randomUUID() }));
}
const randomPayload = (i: number) => randomBytes(600 + (i % 400));
function append(path: string, bytes: number, payload: (i: number) => Buffer): number {
  const fd = openSync(path, 'a');
  let written = 0;
  try {
    while (written < bytes) {
      const recs: EventRecord[] = [];
      for (let k = 0, n = 1 + (pos % 16); k < n; k++, pos++) {
        const s = streams[pos % streams.length] as string;
        const v = versions.get(s) ?? 0;
        versions.set(s, v + 1);
        recs.push({ globalPosition: BigInt(pos), recordedAt: BigInt(1_700_000_000_000 + pos), streamId: s, streamVersion: BigInt(v), eventId: randomUUID(), eventType: types[pos % 5] as string, metadata: Buffer.from(`{"user":"u${pos % 50}"}`), payload: payload(pos) });
      }
      written += writeSync(fd, encodeBatch(recs));
    }
  } finally {
    closeSync(fd);
  }
  return written;
}
function newLog(path: string, bytes: number, payload: (i: number) => Buffer): void {
  pos = 0;
  writeFileSync(path, encodeFileHeader());
  append(path, bytes, payload);
}

const secs = async (f: () => unknown) => {
  const t = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t) / 1e9;
};
const sh = (cmd: string, args: string[], cwd?: string) => execFileSync(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * MiB });
const du = (p: string) => Number(String(sh('du', ['-sb', p])).split('\t')[0]);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const fmt = (xs: number[], unit = 's', d = 2) => `${median(xs).toFixed(d)} ${unit} (${Math.min(...xs).toFixed(d)}-${Math.max(...xs).toFixed(d)})`;

// The stand-in as a real CLI would be installed: the built bundle, not TypeScript compiled at each call.
const bin = join(root, 'bin');
mkdirSync(bin);
const bundle = new URL('../../dist/standins/oci.mjs', import.meta.url).pathname;
writeFileSync(join(bin, 'oci'), `#!/bin/sh\nexec node ${bundle} "$@"\n`);
chmodSync(join(bin, 'oci'), 0o755);

interface Run {
  sha: number; cp: number; own: number; full: number; resticFull: number; storedFull: number; resticStoredFull: number;
  inc: number; resticInc: number; appended: number; uploadedInc: number; storedInc: number; resticStoredInc: number;
  restore: number; resticRestore: number;
}

async function oneRun(log: string, size: number, payload: (i: number) => Buffer, n: number): Promise<Run> {
  const dir = join(root, `run-${n}`);
  mkdirSync(dir);
  const oci = new OciCli({ env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, OCI_STANDIN_ROOT: join(dir, 'oci') }, deadlineMs: 600_000 });
  await oci.json(['os', 'bucket', 'create', '--name', 'b', '--compartment-id', 'c']);
  const cfg = { logPath: log, bucket: 'b', prefix: 'bench/host', retentionDays: 14, fullEveryDays: 7, stateDir: join(dir, 'state') };
  const repo = join(dir, 'restic');
  sh('restic', ['init', '-q', '--repo', repo]);
  sh('sha256sum', [log]); // warm the page cache for everyone
  const r = {} as Run;
  r.sha = await secs(() => sh('sha256sum', [log]));
  r.cp = await secs(() => sh('cp', [log, join(dir, 'copy')]));
  rmSync(join(dir, 'copy'));
  r.own = await secs(() => encodeOnly(log, 0, size, undefined));
  let full!: Awaited<ReturnType<typeof runBackup>>;
  r.full = await secs(async () => (full = await runBackup(oci, cfg)));
  r.storedFull = full.storedBytes;
  r.resticFull = await secs(() => sh('restic', ['backup', '-q', '--repo', repo, log]));
  r.resticStoredFull = du(repo);
  r.appended = append(log, Math.round(size * 0.01), payload);
  let inc!: Awaited<ReturnType<typeof runBackup>>;
  r.inc = await secs(async () => (inc = await runBackup(oci, cfg)));
  r.uploadedInc = inc.uploadedBytes;
  r.storedInc = inc.storedBytes;
  r.resticInc = await secs(() => sh('restic', ['backup', '-q', '--repo', repo, log]));
  r.resticStoredInc = du(repo) - r.resticStoredFull;
  r.restore = await secs(() => runRestore(oci, { bucket: 'b', prefix: cfg.prefix, out: join(dir, 'restored.log') }));
  if (!readFileSync(join(dir, 'restored.log')).equals(readFileSync(log))) throw new Error('the restored log differs from the original');
  rmSync(join(dir, 'restored.log'));
  r.resticRestore = await secs(() => sh('restic', ['restore', '-q', '--repo', repo, 'latest', '--target', join(dir, 'restic-out')]));
  rmSync(dir, { recursive: true, force: true });
  return r;
}

async function suite(name: string, mib: number, payload: (i: number) => Buffer): Promise<void> {
  const runs: Run[] = [];
  // One log for every run (each run appends to its own copy).
  const base = join(root, 'base.log');
  newLog(base, mib * MiB, payload);
  const basePos = pos;
  const size = statSync(base).size;
  console.log(`${name}: ${(size / MiB).toFixed(0)} MiB log, ${RUNS} runs`);
  for (let n = 0; n < RUNS; n++) {
    const log = join(root, 'eventfold.log');
    sh('cp', [base, log]);
    pos = basePos;
    const r = await oneRun(log, size, payload, n);
    runs.push(r);
    console.log(`  run ${n + 1}: ${Object.entries(r).map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(3)}`).join(' ')}`);
  }
  console.log(`  median (min-max):`);
  const col = (k: keyof Run) => runs.map((r) => r[k]);
  const per = (f: (r: Run) => number) => runs.map(f);
  console.log(`  sha256sum                      ${fmt(col('sha'))}   cp ${fmt(col('cp'))}`);
  console.log(`  backup's own work (read, CRCs, compress, hash; no upload)  ${fmt(col('own'))}  = ${fmt(per((r) => r.sha / r.own), 'x sha256sum throughput (target >= 0.8)')}`);
  console.log(`  full backup, with the stand-in's upload   ${fmt(col('full'))}   restic ${fmt(col('resticFull'))}   own work / restic ${fmt(per((r) => r.own / r.resticFull), '(target <= 1)')}`);
  console.log(`  stored after the full backup  ${fmt(per((r) => r.storedFull / size), 'x log', 3)}   restic ${fmt(per((r) => r.resticStoredFull / size), 'x log', 3)}`);
  console.log(`  incremental after appending 1 %   ${fmt(col('inc'))}   restic ${fmt(col('resticInc'))}   ours / restic ${fmt(per((r) => r.inc / r.resticInc), '(target <= 1)')}`);
  console.log(`  incremental uploaded / appended  ${fmt(per((r) => r.uploadedInc / r.appended), '(target <= 1.02)', 4)}   stored / appended ${fmt(per((r) => r.storedInc / r.appended), '', 3)}   restic ${fmt(per((r) => r.resticStoredInc / r.appended), '', 3)}`);
  console.log(`  restore (whole, the stand-in's transfer included)   ${fmt(col('restore'))}   restic ${fmt(col('resticRestore'))}   ours / restic ${fmt(per((r) => r.restore / r.resticRestore), '(target <= 1)')}`);
  console.log(`  restore / (sha256sum + cp)   ${fmt(per((r) => r.restore / (r.sha + r.cp)), '(target <= 1.3)')}`);
}

function crcFigures(): void {
  const b = randomBytes(64 * MiB);
  const rate = (f: (x: Buffer) => number) => {
    const t = process.hrtime.bigint();
    f(b);
    return 64 / (Number(process.hrtime.bigint() - t) / 1e9);
  };
  const native = (zlib as unknown as { crc32?: (x: Uint8Array) => number }).crc32;
  const rows = [`table ${rate(crc32Table).toFixed(0)} MiB/s`, `slicing-by-8 ${rate(crc32Portable).toFixed(0)} MiB/s`, native ? `zlib.crc32 ${rate(native).toFixed(0)} MiB/s` : 'zlib.crc32 absent'];
  console.log(`CRC-32 on 64 MiB (Node ${process.versions.node}): ${rows.join(', ')}`);
}

try {
  crcFigures();
  await suite('event-like JSON', Number(process.env.BENCH_LOG_MIB ?? 512), jsonPayload);
  await suite('incompressible payloads', Number(process.env.BENCH_RANDOM_MIB ?? 128), randomPayload);
} finally {
  rmSync(root, { recursive: true, force: true });
}
