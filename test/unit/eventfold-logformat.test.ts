import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, crc32Table } from '../../lib/eventfold/crc32.ts';
import { type EventRecord, encodeBatch, encodeFileHeader, parseBatch, scanLog } from '../../lib/eventfold/logformat.ts';

const dir = mkdtempSync(join(tmpdir(), 'eflog-'));
const stream = randomUUID();
const ev = (pos: number, payload = `p${pos}`): EventRecord => ({
  globalPosition: BigInt(pos),
  recordedAt: 1_700_000_000_000n + BigInt(pos),
  streamId: stream,
  streamVersion: BigInt(pos),
  eventId: randomUUID(),
  eventType: 'Thing.Happened',
  metadata: Buffer.from('{}'),
  payload: Buffer.from(payload),
});
function log(name: string, batches: EventRecord[][]): string {
  const p = join(dir, name);
  writeFileSync(p, Buffer.concat([encodeFileHeader(), ...batches.map(encodeBatch)]));
  return p;
}

describe('EventfoldDB log format v3', () => {
  it('crc32 matches zlib', () => {
    for (const s of ['', 'a', 'EventfoldDB', 'x'.repeat(10_000)]) {
      const want = (zlib as unknown as { crc32(b: Buffer): number }).crc32(Buffer.from(s));
      expect(crc32(Buffer.from(s))).toBe(want);
      expect(crc32Table(Buffer.from(s))).toBe(want);
    }
    expect(crc32Table(Buffer.from('world'), crc32Table(Buffer.from('hello ')))).toBe(crc32(Buffer.from('hello world')));
    expect(crc32(Buffer.from('world'), crc32(Buffer.from('hello ')))).toBe(crc32(Buffer.from('hello world')));
  });

  it('a record has the documented layout (70 fixed body bytes, little-endian)', () => {
    const b = encodeBatch([ev(0, 'xyz')]);
    expect(b.toString('latin1', 0, 4)).toBe('EFBB');
    expect(b.readUInt32LE(4)).toBe(1);
    const bodyLen = b.readUInt32LE(16);
    expect(bodyLen).toBe(70 + 'Thing.Happened'.length + 2 + 3);
    expect(b.toString('latin1', b.length - 8, b.length - 4)).toBe('EFBF');
    expect(b.readUInt32LE(b.length - 4)).toBe(crc32(b.subarray(0, b.length - 8)));
  });

  it('round-trips records and walks a clean file', async () => {
    const got: EventRecord[] = [];
    const p = log('clean.log', [[ev(0), ev(1)], [ev(2)], [ev(3), ev(4), ev(5)]]);
    const r = await scanLog(p, { onRecords: (rs) => got.push(...rs), chunkSize: 64 });
    expect(r).toMatchObject({ tail: 'clean', batches: 3, records: 6, firstGlobalPosition: 0n, lastGlobalPosition: 5n });
    expect(r.validEnd).toBe(r.fileSize);
    expect(got.map((e) => e.payload.toString())).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5']);
  });

  it('cuts a torn trailing batch at the last whole batch', async () => {
    const p = log('torn.log', [[ev(0)], [ev(1)]]);
    const whole = (await scanLog(p)).validEnd;
    appendFileSync(p, encodeBatch([ev(2), ev(3)]).subarray(0, 40));
    const r = await scanLog(p);
    expect(r).toMatchObject({ tail: 'torn', validEnd: whole, lastGlobalPosition: 1n });
  });

  it('a flipped byte in the last batch is a torn tail; the batches before it stay', async () => {
    const p = log('flip.log', [[ev(0)], [ev(1)]]);
    const buf = Buffer.concat([encodeFileHeader(), encodeBatch([ev(0)]), encodeBatch([ev(1)])]);
    buf.writeUInt8((buf.at(-20) as number) ^ 0xff, buf.length - 20);
    writeFileSync(p, buf);
    const r = await scanLog(p);
    expect(r.tail).toBe('torn');
    expect(r.lastGlobalPosition).toBe(0n);
    expect(r.problem).toMatch(/CRC/);
  });

  it('a bad batch magic followed by valid batches is fatal corruption', async () => {
    const a = encodeBatch([ev(0)]);
    const b = Buffer.from(encodeBatch([ev(1)]));
    b.write('XXXX', 0, 'latin1');
    const p = join(dir, 'corrupt.log');
    writeFileSync(p, Buffer.concat([encodeFileHeader(), a, b, encodeBatch([ev(2)])]));
    expect((await scanLog(p)).tail).toBe('corrupt');
  });

  it('refuses another format version and a non-log file', async () => {
    const h = encodeFileHeader();
    h.writeUInt32LE(2, 4);
    const p = join(dir, 'v2.log');
    writeFileSync(p, h);
    await expect(scanLog(p)).rejects.toThrow(/version 2/);
    const q = join(dir, 'junk.log');
    writeFileSync(q, 'hello world');
    await expect(scanLog(q)).rejects.toThrow(/bad file magic/);
  });

  it('continues from a known boundary and checks position continuity', async () => {
    const p = log('inc.log', [[ev(0)], [ev(1), ev(2)], [ev(3)]]);
    const first = encodeFileHeader().length + encodeBatch([ev(0)]).length;
    const r = await scanLog(p, { from: first, expectFirst: 1n });
    expect(r).toMatchObject({ tail: 'clean', batches: 2, firstGlobalPosition: 1n, lastGlobalPosition: 3n });
    expect((await scanLog(p, { from: first, expectFirst: 5n })).tail).toBe('corrupt');
  });

  it('parseBatch says "short" when bytes are missing, not corrupt', () => {
    const b = encodeBatch([ev(0)]);
    const p = parseBatch(b.subarray(0, b.length - 1), 0);
    expect(p).toMatchObject({ ok: false, short: true });
  });
});
