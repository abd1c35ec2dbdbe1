// Incremental hot backup of the live log to Object Storage. The log is append-only and every
// batch is fsynced before its reply, so the bytes up to the last whole, CRC-verified batch are a
// consistent snapshot: each run uploads exactly the batches appended since the previous run as a
// new segment, then a manifest listing the whole chain. Objects are never overwritten.
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { FILE_HEADER_LEN, scanLog } from '../../../lib/eventfold/logformat.ts';
import type { OciCli } from '../../../lib/oci/cli.ts';
import { type Manifest, type Segment, expiredChains, manifestName, newChainId, segmentName } from './manifest.ts';
import { copyRange } from './segment.ts';

export interface BackupConfig {
  logPath: string;
  bucket: string;
  prefix: string;
  retentionDays: number;
  fullEveryDays: number;
  stateDir: string;
}

export interface BackupResult {
  uploadedBytes: number;
  segment?: string;
  manifest?: string;
  lastGlobalPosition: string | null;
  newChain: boolean;
  deletedChains: string[];
}

interface State {
  chain: string;
  chainStarted: string;
  manifest: Manifest;
}

async function tailSha(path: string, end: number): Promise<string> {
  const n = Math.min(4096, end);
  const b = Buffer.alloc(n);
  const fh = await open(path, 'r');
  try {
    await fh.read(b, 0, n, end - n);
  } finally {
    await fh.close();
  }
  return createHash('sha256').update(b).digest('hex');
}

function loadState(dir: string): State | null {
  try {
    return JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as State;
  } catch {
    return null;
  }
}

function saveState(dir: string, s: State): void {
  writeFileSync(join(dir, 'state.json.new'), JSON.stringify(s), { mode: 0o600 });
  renameSync(join(dir, 'state.json.new'), join(dir, 'state.json'));
}

/** Uploads one object, never replacing one that exists; an existing object must be identical. */
async function putOnce(oci: OciCli, bucket: string, name: string, file: string, md5: string | undefined, size: number): Promise<void> {
  const r = await oci.putObject({ bucket, name, file, ifExists: 'keep', contentMd5: md5 });
  if (r !== null) return;
  // --no-overwrite skipped it: only an identical object (from an interrupted earlier run) is acceptable.
  const head = await oci.headObject({ bucket, name });
  if (Number(head['content-length']) !== size || (head['content-md5'] && head['content-md5'] !== md5)) {
    throw new Error(`object ${name} already exists in ${bucket} with different content; refusing to overwrite it`);
  }
}

export async function runBackup(oci: OciCli, c: BackupConfig, now = new Date()): Promise<BackupResult> {
  mkdirSync(c.stateDir, { recursive: true, mode: 0o700 });
  const staging = join(c.stateDir, 'staging');
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { mode: 0o700 });
  const size = statSync(c.logPath).size;
  let state = loadState(c.stateDir);
  let newChain = false;
  if (state && now.getTime() - Date.parse(state.chainStarted) > c.fullEveryDays * 86_400_000) state = null;
  if (state) {
    const m = state.manifest;
    if (size < m.endOffset) throw new Error(`the log is shorter (${size} B) than the last backup (${m.endOffset} B): it was truncated or replaced; start a new chain with --full after checking the server`);
    if ((await tailSha(c.logPath, m.endOffset)) !== m.tailSha256) throw new Error(`the log no longer matches the last backup at offset ${m.endOffset}: it was replaced; start a new chain with --full after checking the server`);
  }
  if (!state) {
    newChain = true;
    const chain = newChainId(now);
    state = { chain, chainStarted: now.toISOString(), manifest: { format: 1, chain, host: hostname(), createdAt: now.toISOString(), endOffset: 0, lastGlobalPosition: null, tailSha256: '', segments: [] } };
  }
  const prev = state.manifest;
  const from = prev.endOffset;
  const scan = await scanLog(c.logPath, { from: Math.max(from, FILE_HEADER_LEN), limit: size, expectFirst: prev.lastGlobalPosition === null ? undefined : BigInt(prev.lastGlobalPosition) + 1n });
  if (scan.tail === 'corrupt') throw new Error(`the log is corrupt after offset ${scan.validEnd}: ${scan.problem}`);
  const end = scan.validEnd;
  const result: BackupResult = { uploadedBytes: 0, lastGlobalPosition: prev.lastGlobalPosition, newChain, deletedChains: [] };
  if (end > from) {
    const name = segmentName(c.prefix, state.chain, from, end);
    const file = join(staging, 'segment');
    const h = await copyRange(c.logPath, file, from, end);
    await putOnce(oci, c.bucket, name, file, h.md5, h.size);
    const seg: Segment = { name, startOffset: from, endOffset: end, size: h.size, sha256: h.sha256, firstGlobalPosition: scan.firstGlobalPosition?.toString() ?? null, lastGlobalPosition: scan.lastGlobalPosition?.toString() ?? null };
    const manifest: Manifest = { ...prev, createdAt: now.toISOString(), endOffset: end, lastGlobalPosition: seg.lastGlobalPosition ?? prev.lastGlobalPosition, tailSha256: await tailSha(c.logPath, end), segments: [...prev.segments, seg] };
    const mName = manifestName(c.prefix, state.chain, end);
    const mFile = join(staging, 'manifest.json');
    const body = JSON.stringify(manifest, null, 2);
    writeFileSync(mFile, body);
    await putOnce(oci, c.bucket, mName, mFile, createHash('md5').update(body).digest('base64'), Buffer.byteLength(body));
    saveState(c.stateDir, { ...state, manifest });
    Object.assign(result, { uploadedBytes: h.size, segment: name, manifest: mName, lastGlobalPosition: manifest.lastGlobalPosition });
  }
  const objects = await oci.listObjects({ bucket: c.bucket, prefix: `${c.prefix}/` });
  for (const chain of expiredChains(objects.map((o) => ({ name: o.name, timeCreated: o['time-created'] ?? now.toISOString() })), c.prefix, c.retentionDays, now)) {
    for (const o of objects.filter((x) => x.name.startsWith(`${c.prefix}/${chain}/`))) await oci.deleteObject({ bucket: c.bucket, name: o.name });
    result.deletedChains.push(chain);
  }
  rmSync(staging, { recursive: true, force: true });
  return result;
}
