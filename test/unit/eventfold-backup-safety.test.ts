// Backup and restore under hostile conditions: a damaged batch before the tail, shared prefixes
// and other hosts, an object already at a segment's name, concurrent runs, an existing output
// file, a lost manifest, and nothing temporary left behind on a failure.
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { type EventRecord, encodeBatch, encodeFileHeader } from '../../runbooks/eventfold-db/protocol/logformat.ts';
import { OciCli } from '../../lib/oci/cli.ts';
import { runBackup } from '../../runbooks/eventfold-db/tools/backup.ts';
import { takeLock } from '../../runbooks/eventfold-db/tools/lock.ts';
import { newChainId } from '../../runbooks/eventfold-db/tools/manifest.ts';
import { runRestore } from '../../runbooks/eventfold-db/tools/restore.ts';
import { transferTimeoutMs } from '../../runbooks/eventfold-db/tools/transfer.ts';

const BIN = new URL('../standins/oci/bin', import.meta.url).pathname;
const T = 240_000;
let dir: string;
let oci: OciCli;
let cfg: Parameters<typeof runBackup>[1];
let pos = 0;
const stream = randomUUID();
const batch = (n: number): Buffer => {
  const recs: EventRecord[] = Array.from({ length: n }, () => ({ globalPosition: BigInt(pos), recordedAt: BigInt(Date.now()), streamId: stream, streamVersion: BigInt(pos++), eventId: randomUUID(), eventType: 'Ledger.Posted', metadata: Buffer.alloc(0), payload: Buffer.from(JSON.stringify({ account: `acc-${pos % 7}`, amount: pos * 3 })) }));
  return encodeBatch(recs);
};
const objDir = () => join(dir, 'oci/buckets/backups/objects');
const objects = () => readdirSync(objDir()).map(decodeURIComponent);
const objPath = (name: string) => join(objDir(), encodeURIComponent(name));

beforeEach(async () => {
  pos = 0;
  dir = mkdtempSync(join(tmpdir(), 'efsafe-'));
  oci = new OciCli({ env: { ...process.env, PATH: `${BIN}:${process.env.PATH}`, OCI_STANDIN_ROOT: join(dir, 'oci') }, deadlineMs: 60_000 });
  await oci.json(['os', 'bucket', 'create', '--name', 'backups', '--compartment-id', 'c']);
  cfg = { logPath: join(dir, 'eventfold.log'), bucket: 'backups', prefix: 'eventfold', retentionDays: 14, fullEveryDays: 7, stateDir: join(dir, 'state') };
  writeFileSync(cfg.logPath, Buffer.concat([encodeFileHeader(), batch(3), batch(2)]));
});

describe('backup safety', () => {
  it('a damaged batch before the tail fails the backup, naming its file offset and position; nothing is committed', async () => {
    await runBackup(oci, cfg, new Date(), 'h1');
    const before = objects().length;
    const good = batch(1);
    const bad = Buffer.from(batch(2));
    bad.writeUInt8((bad.at(-20) as number) ^ 0xff, bad.length - 20);
    const offset = readFileSync(cfg.logPath).length + good.length;
    appendFileSync(cfg.logPath, Buffer.concat([good, bad, batch(1)]));
    await expect(runBackup(oci, cfg, new Date(), 'h1')).rejects.toThrow(new RegExp(`damaged batch at file offset ${offset} \\(batch 2 of this scan, right after global position 5\\)`));
    expect(objects()).toHaveLength(before);
    expect(readdirSync(cfg.stateDir).sort()).toEqual(['state.json']);
  }, T);

  it('restore takes this host\'s backup, refuses another host\'s unless asked, and retention keeps other hosts\' chains', async () => {
    // The store stamps objects with the real time: "later" is a month after it.
    const t0 = new Date();
    const later = new Date(Date.now() + 30 * 86_400_000);
    await runBackup(oci, cfg, t0, 'h1');
    const h1Log = readFileSync(cfg.logPath);
    // Host h2 shares the prefix (its own log and state).
    const h2 = { ...cfg, logPath: join(dir, 'h2.log'), stateDir: join(dir, 'state2') };
    const mark = pos;
    writeFileSync(h2.logPath, Buffer.concat([encodeFileHeader(), batch(4)]));
    pos = mark;
    await runBackup(oci, h2, new Date(Date.now() + 1000), 'h2');
    const r = await runRestore(oci, { bucket: 'backups', prefix: 'eventfold', out: join(dir, 'r1.log'), host: 'h1' });
    expect(r.host).toBe('h1');
    expect(readFileSync(join(dir, 'r1.log')).equals(h1Log)).toBe(true);
    await expect(runRestore(oci, { bucket: 'backups', prefix: 'eventfold', out: join(dir, 'r3.log'), host: 'h3' })).rejects.toThrow(/no backup manifest of host h3 under backups\/eventfold\/ \(there are backups of h1, h2: pass --from-host/);
    const r2 = await runRestore(oci, { bucket: 'backups', prefix: 'eventfold', out: join(dir, 'r2.log'), host: 'h3', fromHost: 'h2' });
    expect(readFileSync(join(dir, 'r2.log')).equals(readFileSync(h2.logPath))).toBe(true);
    expect(r2.host).toBe('h2');
    // A month later h1 starts a new chain: its old chain expires, h2's (older than the retention too) stays.
    appendFileSync(cfg.logPath, batch(1));
    const res = await runBackup(oci, { ...cfg, full: true }, later, 'h1');
    expect(res.deletedChains).toEqual([newChainId(t0, 'h1')]);
    expect(objects().filter((n) => n.includes('.h2/'))).toHaveLength(2);
  }, T);

  it('retention never touches a nested prefix or names it did not write', async () => {
    const nested = { ...cfg, prefix: 'eventfold/h9', logPath: join(dir, 'h9.log'), stateDir: join(dir, 'state9') };
    const mark = pos;
    writeFileSync(nested.logPath, Buffer.concat([encodeFileHeader(), batch(2)]));
    pos = mark;
    const t0 = new Date();
    await runBackup(oci, nested, t0, 'h9');
    writeFileSync(join(dir, 'x'), 'operator notes');
    const notes = `eventfold/${newChainId(t0, 'h1')}/notes.txt`;
    await oci.putObject({ bucket: 'backups', name: notes, file: join(dir, 'x'), ifExists: 'keep' });
    await runBackup(oci, cfg, t0, 'h1');
    appendFileSync(cfg.logPath, batch(1));
    const res = await runBackup(oci, { ...cfg, full: true }, new Date(Date.now() + 30 * 86_400_000), 'h1');
    expect(res.deletedChains).toEqual([newChainId(t0, 'h1')]);
    expect(objects().filter((n) => n.startsWith('eventfold/h9/'))).toHaveLength(2);
    expect(objects()).toContain(notes);
  }, T);

  it('an object already at a segment\'s name is used only when its bytes hash to this backup\'s', async () => {
    const now = new Date('2026-11-01T00:00:00Z');
    const first = await runBackup(oci, cfg, now, 'h1');
    // An interrupted run: the segment is there, the manifest and the state are not.
    await oci.deleteObject({ bucket: 'backups', name: first.manifest as string });
    const again = await runBackup(oci, { ...cfg, full: true }, now, 'h1');
    expect(again.segment).toBe(first.segment);
    expect(again.manifest).toBe(first.manifest);
    // The same name with other bytes of the same size (a multipart object has no MD5 to compare).
    await oci.deleteObject({ bucket: 'backups', name: first.manifest as string });
    const p = objPath(first.segment as string);
    const b = readFileSync(p);
    b.writeUInt8((b.at(-1) as number) ^ 1, b.length - 1);
    writeFileSync(p, b);
    await expect(runBackup(oci, { ...cfg, full: true }, now, 'h1')).rejects.toThrow(/already exists in backups with other bytes/);
  }, T);

  it('a second backup while one runs exits "another backup is running" and changes nothing', async () => {
    mkdirSync(cfg.stateDir, { recursive: true });
    const lockFile = join(cfg.stateDir, 'backup.lock');
    // The owner is a live process (this test's parent).
    writeFileSync(lockFile, JSON.stringify({ pid: process.ppid, since: 'now', what: 'backup' }));
    await expect(runBackup(oci, cfg, new Date(), 'h1')).rejects.toMatchObject({ exitCode: 75, message: expect.stringMatching(/another backup is running \(pid \d+/) });
    expect(objects()).toHaveLength(0);
    // A lock left by a process that is gone is taken over.
    writeFileSync(lockFile, JSON.stringify({ pid: 2 ** 22 + 12345, since: 'then', what: 'backup' }));
    await runBackup(oci, cfg, new Date(), 'h1');
    expect(existsSync(lockFile)).toBe(false);
    expect(() => takeLock(cfg.stateDir).release()).not.toThrow();
  }, T);

  it('restore refuses an existing output file, and says so when the newest manifest is missing', async () => {
    await runBackup(oci, cfg, new Date('2026-11-01T00:00:00Z'), 'h1');
    appendFileSync(cfg.logPath, batch(2));
    const second = await runBackup(oci, cfg, new Date('2026-11-01T01:00:00Z'), 'h1');
    const live = join(dir, 'live.log');
    writeFileSync(live, 'precious');
    await expect(runRestore(oci, { bucket: 'backups', prefix: 'eventfold', out: live, host: 'h1' })).rejects.toThrow(/already exists; a restore never replaces a file/);
    expect(readFileSync(live, 'utf8')).toBe('precious');
    await oci.deleteObject({ bucket: 'backups', name: second.manifest as string });
    await expect(runRestore(oci, { bucket: 'backups', prefix: 'eventfold', out: join(dir, 'r.log'), host: 'h1' })).rejects.toThrow(/newest backup's manifest is missing: 1 segment\(s\) newer than .* --manifest/);
    expect(readdirSync(dir).filter((f) => f.startsWith('r.log'))).toEqual([]);
  }, T);

  it('a failed restore leaves no partial file behind', async () => {
    const r = await runBackup(oci, cfg, new Date(), 'h1');
    const p = objPath(r.segment as string);
    const b = readFileSync(p);
    b.writeUInt8((b.at(-3) as number) ^ 1, b.length - 3);
    writeFileSync(p, b);
    await expect(runRestore(oci, { bucket: 'backups', prefix: 'eventfold', out: join(dir, 'r.log'), host: 'h1' })).rejects.toThrow(/is corrupt/);
    expect(readdirSync(dir).filter((f) => f.startsWith('r.log'))).toEqual([]);
  }, T);

  it('a transfer attempt is bounded by its size, finitely', () => {
    expect(transferTimeoutMs(0)).toBe(120_000);
    expect(transferTimeoutMs(1024 ** 3)).toBeGreaterThan(30 * 60_000);
    expect(Number.isFinite(transferTimeoutMs(2 ** 45))).toBe(true);
  });
});
