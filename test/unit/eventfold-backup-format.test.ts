// What backups store: compressed frames for compressible logs, the bytes as they are when
// compression does not help, and backups written by the first version (format 1, raw segments,
// chains without a host in their names) still restore and still continue.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { type EventRecord, encodeBatch, encodeFileHeader } from '../../runbooks/eventfold-db/protocol/logformat.ts';
import { OciCli } from '../../lib/oci/cli.ts';
import { runBackup } from '../../runbooks/eventfold-db/tools/backup.ts';
import { encodeFrame } from '../../runbooks/eventfold-db/tools/frames.ts';
import { validateManifest } from '../../runbooks/eventfold-db/tools/manifest.ts';
import { runRestore } from '../../runbooks/eventfold-db/tools/restore.ts';

const BIN = new URL('../standins/oci/bin', import.meta.url).pathname;
const T = 240_000;
let dir: string;
let oci: OciCli;
let cfg: Parameters<typeof runBackup>[1];
let pos = 0;
const stream = randomUUID();
const json = () => Buffer.from(JSON.stringify({ orderId: randomUUID(), customer: `cust-${pos % 100}`, amount: (pos * 37) % 1000, currency: 'EUR', items: [{ sku: `SKU-${pos % 50}`, qty: 1 }] }));
const batch = (n: number, payload: () => Buffer = json): Buffer => {
  const recs: EventRecord[] = Array.from({ length: n }, () => ({ globalPosition: BigInt(pos), recordedAt: 1_700_000_000_000n + BigInt(pos), streamId: stream, streamVersion: BigInt(pos++), eventId: randomUUID(), eventType: 'Order.Placed', metadata: Buffer.alloc(0), payload: payload() }));
  return encodeBatch(recs);
};
const many = (batches: number, payload?: () => Buffer) => Buffer.concat(Array.from({ length: batches }, () => batch(8, payload)));
const pad = (n: number) => String(n).padStart(16, '0');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeEach(async () => {
  pos = 0;
  dir = mkdtempSync(join(tmpdir(), 'effmt-'));
  oci = new OciCli({ env: { ...process.env, PATH: `${BIN}:${process.env.PATH}`, OCI_STANDIN_ROOT: join(dir, 'oci') }, deadlineMs: 60_000 });
  await oci.json(['os', 'bucket', 'create', '--name', 'backups', '--compartment-id', 'c']);
  cfg = { logPath: join(dir, 'eventfold.log'), bucket: 'backups', prefix: 'eventfold/h1', retentionDays: 14, fullEveryDays: 7, stateDir: join(dir, 'state') };
});

describe('backup storage format', () => {
  it('event-like JSON is stored compressed; the restore verifies and rebuilds it byte for byte', async () => {
    writeFileSync(cfg.logPath, Buffer.concat([encodeFileHeader(), many(600)]));
    const r = await runBackup(oci, cfg, new Date(), 'h1');
    expect(r.encoding).toBe('brotli-frames');
    expect(r.storedBytes).toBeLessThan(r.uploadedBytes * 0.6);
    appendFileSync(cfg.logPath, many(20));
    const inc = await runBackup(oci, cfg, new Date(), 'h1');
    expect(inc.uploadedBytes).toBe(readFileSync(cfg.logPath).length - r.uploadedBytes);
    const out = join(dir, 'restored.log');
    const res = await runRestore(oci, { bucket: 'backups', prefix: cfg.prefix, out, host: 'h1' });
    expect(res.records).toBe(pos);
    expect(readFileSync(out).equals(readFileSync(cfg.logPath))).toBe(true);
  }, T);

  it('incompressible data is never stored larger: a frame brotli cannot shrink is stored raw', async () => {
    const noise = randomBytes(256 * 1024);
    const f = await encodeFrame(noise, 1);
    expect([f.readUInt32LE(0), f.readUInt32LE(4)]).toEqual([noise.length, noise.length]);
    expect(f.subarray(8).equals(noise)).toBe(true);
    // Random payloads: only the record headers compress, and never past the log's own size.
    writeFileSync(cfg.logPath, Buffer.concat([encodeFileHeader(), many(100, () => randomBytes(900))]));
    const r = await runBackup(oci, cfg, new Date(), 'h1');
    expect(r.storedBytes).toBeLessThanOrEqual(r.uploadedBytes);
    const out = join(dir, 'restored.log');
    await runRestore(oci, { bucket: 'backups', prefix: cfg.prefix, out, host: 'h1' });
    expect(readFileSync(out).equals(readFileSync(cfg.logPath))).toBe(true);
  }, T);

  it('a backup written by the first version (format 1) restores, and a chain it started continues', async () => {
    // Exactly what the first version wrote: a raw segment, a format-1 manifest, its state file.
    const log = Buffer.concat([encodeFileHeader(), batch(3), batch(2)]);
    writeFileSync(cfg.logPath, log);
    const chain = '20261101T000000Z';
    const seg = { name: `${cfg.prefix}/${chain}/segments/${pad(0)}-${pad(log.length)}.seg`, startOffset: 0, endOffset: log.length, size: log.length, sha256: sha(log), firstGlobalPosition: '0', lastGlobalPosition: '4' };
    const manifest = { format: 1, chain, host: 'h1', createdAt: '2026-11-01T00:00:00.000Z', endOffset: log.length, lastGlobalPosition: '4', tailSha256: sha(log.subarray(Math.max(0, log.length - 4096))), segments: [seg] };
    const put = async (name: string, body: Buffer) => {
      writeFileSync(join(dir, 'obj'), body);
      await oci.putObject({ bucket: 'backups', name, file: join(dir, 'obj'), ifExists: 'keep' });
    };
    await put(seg.name, log);
    await put(`${cfg.prefix}/${chain}/manifests/${pad(log.length)}.json`, Buffer.from(JSON.stringify(manifest, null, 2)));
    mkdirSync(cfg.stateDir, { recursive: true });
    writeFileSync(join(cfg.stateDir, 'state.json'), JSON.stringify({ chain, chainStarted: new Date().toISOString(), manifest }));
    mkdirSync(join(cfg.stateDir, 'staging'));

    const old = await runRestore(oci, { bucket: 'backups', prefix: cfg.prefix, out: join(dir, 'old.log'), host: 'h1' });
    expect(old).toMatchObject({ records: 5, lastGlobalPosition: '4' });
    expect(readFileSync(join(dir, 'old.log')).equals(log)).toBe(true);

    appendFileSync(cfg.logPath, batch(4));
    const inc = await runBackup(oci, cfg, new Date(), 'h1');
    expect(inc.newChain).toBe(false);
    const m = validateManifest(JSON.parse(readFileSync(join(dir, 'oci/buckets/backups/objects', encodeURIComponent(inc.manifest as string)), 'utf8')));
    expect(m.format).toBe(2);
    expect(m.segments[0]).toEqual(seg);
    const out = join(dir, 'new.log');
    await runRestore(oci, { bucket: 'backups', prefix: cfg.prefix, out, host: 'h1' });
    expect(readFileSync(out).equals(readFileSync(cfg.logPath))).toBe(true);
  }, T);

  it('a manifest from a newer version is refused with what to do', () => {
    expect(() => validateManifest({ format: 3, segments: [], endOffset: 0 })).toThrow(/format 3 is newer than this tool.*install the newer eventfold-tools/);
  });
});
