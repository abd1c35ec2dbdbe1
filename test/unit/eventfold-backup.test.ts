// Backup and restore tools against the OCI stand-in and real log files: incremental uploads of
// only the new batches, a torn tail cut off, never an overwrite, and a restore that verifies
// everything before it hands a file over.
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { type EventRecord, encodeBatch, encodeFileHeader } from '../../runbooks/eventfold-db/protocol/logformat.ts';
import { OciCli } from '../../lib/oci/cli.ts';
import { runBackup } from '../../runbooks/eventfold-db/tools/backup.ts';
import { expiredChains, validateManifest } from '../../runbooks/eventfold-db/tools/manifest.ts';
import { runRestore } from '../../runbooks/eventfold-db/tools/restore.ts';

const BIN = new URL('../standins/oci/bin', import.meta.url).pathname;
let dir: string;
let oci: OciCli;
let cfg: Parameters<typeof runBackup>[1];
let pos = 0;
const stream = randomUUID();
const batch = (n: number): Buffer => {
  const recs: EventRecord[] = Array.from({ length: n }, () => ({ globalPosition: BigInt(pos), recordedAt: BigInt(Date.now()), streamId: stream, streamVersion: BigInt(pos++), eventId: randomUUID(), eventType: 'Ledger.Posted', metadata: Buffer.alloc(0), payload: Buffer.alloc(200, 7) }));
  return encodeBatch(recs);
};
const bucketFiles = () => readdirSync(join(dir, 'oci/buckets/backups/objects')).filter((f) => !f.endsWith('.meta')).map(decodeURIComponent);

beforeEach(async () => {
  pos = 0;
  dir = mkdtempSync(join(tmpdir(), 'efbk-'));
  oci = new OciCli({ env: { ...process.env, PATH: `${BIN}:${process.env.PATH}`, OCI_STANDIN_ROOT: join(dir, 'oci') }, deadlineMs: 30_000 });
  await oci.json(['os', 'bucket', 'create', '--name', 'backups', '--compartment-id', 'c']);
  cfg = { logPath: join(dir, 'eventfold.log'), bucket: 'backups', prefix: 'eventfold/host1', retentionDays: 14, fullEveryDays: 7, stateDir: join(dir, 'state') };
  writeFileSync(cfg.logPath, Buffer.concat([encodeFileHeader(), batch(3), batch(2)]));
});

describe('eventfold backup and restore', () => {
  it('uploads only the bytes appended since the last run, cut at the last whole batch', async () => {
    const r1 = await runBackup(oci, cfg);
    expect(r1).toMatchObject({ newChain: true, uploadedBytes: statSync(cfg.logPath).size, lastGlobalPosition: '4' });
    const appended = batch(4);
    appendFileSync(cfg.logPath, appended);
    appendFileSync(cfg.logPath, batch(2).subarray(0, 30)); // a torn batch being written right now
    const r2 = await runBackup(oci, cfg);
    expect(r2.uploadedBytes).toBe(appended.length);
    expect(r2.lastGlobalPosition).toBe('8');
    const r3 = await runBackup(oci, cfg);
    expect(r3.uploadedBytes).toBe(0);
    expect(bucketFiles().filter((f) => f.includes('/segments/'))).toHaveLength(2);
  }, 60_000);

  it('restores byte-identical to the backed-up prefix', async () => {
    await runBackup(oci, cfg);
    appendFileSync(cfg.logPath, batch(5));
    await runBackup(oci, cfg);
    const out = join(dir, 'restored.log');
    const r = await runRestore(oci, { bucket: 'backups', prefix: cfg.prefix, out });
    expect(r).toMatchObject({ lastGlobalPosition: '9', records: 10 });
    expect(readFileSync(out).equals(readFileSync(cfg.logPath))).toBe(true);
  }, 60_000);

  it('a corrupt object aborts the restore and writes nothing', async () => {
    await runBackup(oci, cfg);
    const seg = bucketFiles().find((f) => f.includes('/segments/')) as string;
    const p = join(dir, 'oci/buckets/backups/objects', encodeURIComponent(seg));
    const b = readFileSync(p);
    b.writeUInt8(b.at(-3) as number ^ 1, b.length - 3);
    writeFileSync(p, b);
    const out = join(dir, 'restored.log');
    await expect(runRestore(oci, { bucket: 'backups', prefix: cfg.prefix, out })).rejects.toThrow(/is corrupt/);
    expect(existsSync(out)).toBe(false);
  }, 60_000);

  it('a missing object aborts the restore', async () => {
    await runBackup(oci, cfg);
    const seg = bucketFiles().find((f) => f.includes('/segments/')) as string;
    await oci.deleteObject({ bucket: 'backups', name: seg });
    await expect(runRestore(oci, { bucket: 'backups', prefix: cfg.prefix, out: join(dir, 'r.log') })).rejects.toThrow(/missing from the bucket/);
  }, 60_000);

  it('refuses to continue a chain when the log was replaced', async () => {
    await runBackup(oci, cfg);
    pos = 0;
    writeFileSync(cfg.logPath, Buffer.concat([encodeFileHeader(), batch(3), batch(2), batch(1)]));
    await expect(runBackup(oci, cfg)).rejects.toThrow(/replaced/);
  }, 60_000);

  it('manifests must tile the log; old chains expire, the newest never', () => {
    expect(() => validateManifest({ format: 1, endOffset: 10, segments: [{ name: 'a', startOffset: 0, endOffset: 4, size: 4, sha256: 'a'.repeat(64) }] })).toThrow(/segments end at 4/);
    const now = new Date('2026-11-22T00:00:00Z');
    const m = (chain: string) => `p/${chain}/manifests/0000000000000100.json`;
    const objs = [
      { name: m('20261001T000000Z.h1'), timeCreated: '2026-10-02T00:00:00Z' },
      { name: m('20261101T000000Z.h1'), timeCreated: '2026-11-20T00:00:00Z' },
      { name: m('20261120T000000Z.h1'), timeCreated: '2026-11-01T00:00:00Z' },
    ];
    expect(expiredChains(objs, 'p', 14, now, 'h1')).toEqual(['20261001T000000Z.h1']);
  });
});
