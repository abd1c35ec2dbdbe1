import { randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, crc32Portable, crc32Table } from '../../runbooks/eventfold-db/protocol/crc32.ts';
import { type EventRecord, decodeRecords, describeDamage, encodeBatch, encodeFileHeader, isHealthy, parseBatch, readLogRecords, scanBuffer, scanLog } from '../../runbooks/eventfold-db/protocol/logformat.ts';

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

  it('the slicing-by-8 CRC matches zlib at every length and alignment, and continues', () => {
    const z = (zlib as unknown as { crc32(b: Uint8Array, v?: number): number }).crc32;
    const b = randomBytes(300);
    for (let start = 0; start < 9; start++) for (let len = 0; len < 40; len++) expect(crc32Portable(b.subarray(start, start + len), 12345)).toBe(z(b.subarray(start, start + len), 12345));
    expect(crc32Portable(b)).toBe(z(b));
  });

  it('a damaged batch with whole batches after it is damage, not a torn tail', async () => {
    const a = encodeBatch([ev(0)]);
    const bad = Buffer.from(encodeBatch([ev(1), ev(2)]));
    bad.writeUInt8((bad.at(-20) as number) ^ 0xff, bad.length - 20); // inside a record: CRC mismatch
    const p = join(dir, 'damaged.log');
    writeFileSync(p, Buffer.concat([encodeFileHeader(), a, bad, encodeBatch([ev(3)])]));
    const r = await scanLog(p);
    expect(r.damaged).toMatchObject({ offset: 8 + a.length, batch: 2, afterPosition: 0n });
    expect(isHealthy(r)).toBe(false);
    expect(describeDamage(r, p)).toMatch(new RegExp(`damaged batch at file offset ${8 + a.length} \\(batch 2 .* global position 0\\)`));
    expect(isHealthy(scanBuffer(readFileSync(p)))).toBe(false);
    // The same damage as the last batch is a torn tail, as the server treats it.
    writeFileSync(p, Buffer.concat([encodeFileHeader(), a, bad]));
    expect(isHealthy(await scanLog(p))).toBe(true);
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

describe('EventfoldDB log format v3: layout, buffers, decoding', () => {
  it('the table CRC agrees with zlib on random data of many lengths', () => {
    const z = zlib as unknown as { crc32(b: Uint8Array, v?: number): number };
    for (let n = 0; n < 300; n += 7) {
      const b = randomBytes(n);
      expect(crc32Table(b)).toBe(z.crc32(b));
      if (n > 0) expect(crc32Table(b, 0x12345678)).toBe(z.crc32(b, 0x12345678));
    }
  });

  it('puts every record field at its documented offset', () => {
    const sid = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
    const eid = '11111111-2222-3333-4444-555555555555';
    const b = encodeBatch(42n, [{ recordedAt: 1_700_000_000_123n, streamId: sid, streamVersion: 7n, eventId: eid, eventType: 'T', metadata: Buffer.from('mm'), payload: Buffer.from('ppp') }]);
    expect(b.readUInt32LE(4)).toBe(1);
    expect(b.readBigUInt64LE(8)).toBe(42n);
    const bodyLen = b.readUInt32LE(16);
    expect(bodyLen).toBe(70 + 1 + 2 + 3);
    expect(b.readBigUInt64LE(20)).toBe(42n); // global_position
    expect(b.readBigUInt64LE(28)).toBe(1_700_000_000_123n); // recorded_at
    expect(b.subarray(36, 52).toString('hex')).toBe(sid.replace(/-/g, ''));
    expect(b.readBigUInt64LE(52)).toBe(7n); // stream_version
    expect(b.subarray(60, 76).toString('hex')).toBe(eid.replace(/-/g, ''));
    expect(b.readUInt16LE(76)).toBe(1);
    expect(b.toString('latin1', 78, 79)).toBe('T');
    expect(b.readUInt32LE(79)).toBe(2);
    expect(b.toString('latin1', 83, 85)).toBe('mm');
    expect(b.readUInt32LE(85)).toBe(3);
    expect(b.toString('latin1', 89, 92)).toBe('ppp');
    expect(b.readUInt32LE(92)).toBe(crc32(b.subarray(20, 92))); // CRC of the body without itself
    expect(20 + bodyLen).toBe(96);
    expect(b.toString('latin1', 96, 100)).toBe('EFBF');
    expect(b.readUInt32LE(100)).toBe(crc32(b.subarray(0, 96)));
    expect(b.length).toBe(104);
    expect(encodeFileHeader().toString('hex')).toBe(Buffer.from('EFDB\x03\x00\x00\x00', 'latin1').toString('hex'));
  });

  it('numbers inputs from the first position, and refuses records that are not contiguous', () => {
    const { globalPosition: _, ...input } = ev(0);
    const b = encodeBatch(5, [input, input]);
    const got = [...decodeRecords(b)];
    expect(got.map((r) => r.globalPosition)).toEqual([5n, 6n]);
    expect(() => encodeBatch([ev(0), ev(2)])).toThrow(/position 2, want 1/);
    expect(() => encodeBatch([])).toThrow();
  });

  it('scans a Buffer exactly as it scans the file', async () => {
    const p = log('buf.log', [[ev(0), ev(1)], [ev(2)]]);
    appendFileSync(p, encodeBatch([ev(3)]).subarray(0, 50));
    const bytes = readFileSync(p);
    const fromFile = await scanLog(p, { chunkSize: 33 });
    expect(scanBuffer(bytes)).toEqual(fromFile);
    expect(await scanLog(bytes)).toEqual(fromFile);
    expect(fromFile).toMatchObject({ version: 3, tail: 'torn', records: 3, lastGlobalPosition: 2n, fileSize: bytes.length });
  });

  it('decodes the events of a whole log, of a segment at a batch boundary, and of a file in small chunks', async () => {
    const batches = [[ev(0), ev(1)], [ev(2)], [ev(3, 'x'.repeat(5000))]];
    const p = log('decode.log', batches);
    appendFileSync(p, Buffer.from('EFBB\x01\x00\x00\x00tornbytes', 'latin1'));
    const bytes = readFileSync(p);
    const want = ['p0', 'p1', 'p2', 'x'.repeat(5000)];
    expect([...decodeRecords(bytes)].map((r) => r.payload.toString())).toEqual(want);
    const seg = bytes.subarray(8 + encodeBatch(batches[0] as EventRecord[]).length);
    expect([...decodeRecords(seg)].map((r) => r.globalPosition)).toEqual([2n, 3n]);
    const streamed: EventRecord[] = [];
    for await (const r of readLogRecords(p, { chunkSize: 100 })) streamed.push(r);
    expect(streamed.map((r) => r.payload.toString())).toEqual(want);
    expect(streamed[3]).toMatchObject({ streamId: stream, eventType: 'Thing.Happened', streamVersion: 3n, recordedAt: 1_700_000_000_003n });
  });

  it('a corrupt batch in the middle (CRC) ends the valid prefix there, as the server would cut it', async () => {
    const a = encodeBatch([ev(0)]);
    const b = Buffer.from(encodeBatch([ev(1)]));
    b.writeUInt8((b[30] as number) ^ 1, 30);
    const bytes = Buffer.concat([encodeFileHeader(), a, b, encodeBatch([ev(2)])]);
    const r = scanBuffer(bytes);
    expect(r).toMatchObject({ tail: 'torn', validEnd: 8 + a.length, lastGlobalPosition: 0n, records: 1 });
    expect(r.problem).toMatch(/CRC mismatch/);
  });

  it('a bad batch magic at the very end is only a torn tail', () => {
    const bytes = Buffer.concat([encodeFileHeader(), encodeBatch([ev(0)]), Buffer.from('XXXX\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00', 'latin1')]);
    expect(scanBuffer(bytes)).toMatchObject({ tail: 'torn', lastGlobalPosition: 0n });
  });

  it('refuses another version from a Buffer too', () => {
    const h = encodeFileHeader();
    h.writeUInt32LE(4, 4);
    expect(() => scanBuffer(h)).toThrow(/version 4/);
    expect(() => [...decodeRecords(h)]).toThrow(/version 4/);
  });

  it('an empty log (header only) is clean with no position', () => {
    expect(scanBuffer(encodeFileHeader())).toMatchObject({ tail: 'clean', batches: 0, records: 0, lastGlobalPosition: null, validEnd: 8 });
  });
});
