import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type EventRecord, encodeBatch, encodeFileHeader, scanBuffer, scanLog } from '../../runbooks/eventfold-db/protocol/logformat.ts';

const ev = (pos: number): EventRecord => ({
  globalPosition: BigInt(pos),
  recordedAt: 1_700_000_000_000n,
  streamId: randomUUID(),
  streamVersion: 0n,
  eventId: randomUUID(),
  eventType: 'Thing.Happened',
  metadata: Buffer.from('{}'),
  payload: Buffer.from(`p${pos}`),
});

describe('log scanner messages', () => {
  it('name file offsets, whether the file is read in chunks or held whole', async () => {
    const header = encodeFileHeader();
    const first = encodeBatch([ev(0)]);
    const second = encodeBatch([ev(1)]);
    const record = header.length + first.length + 16; // the second batch's record: past its 16-byte batch header
    second.writeUInt8(second.readUInt8(30) ^ 0xff, 30); // a byte inside that record's body: its CRC no longer matches
    const bytes = Buffer.concat([header, first, second]);
    const p = join(mkdtempSync(join(tmpdir(), 'efoff-')), 'x.log');
    writeFileSync(p, bytes);
    for (const r of [await scanLog(p, { chunkSize: 32 }), await scanLog(p), scanBuffer(bytes)]) {
      expect(r.validEnd).toBe(header.length + first.length);
      expect(r.problem).toBe(`record CRC mismatch at offset ${record}`);
    }
  });
});
