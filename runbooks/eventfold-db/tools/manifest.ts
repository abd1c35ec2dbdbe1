// The backup manifest: each one lists its chain's every segment, so the newest manifest alone
// is enough to restore. Pure functions, tested on their own.
export interface Segment {
  name: string;
  startOffset: number;
  endOffset: number;
  size: number;
  sha256: string;
  firstGlobalPosition: string | null;
  lastGlobalPosition: string | null;
}

export interface Manifest {
  format: 1;
  chain: string;
  host: string;
  createdAt: string;
  /** The log is byte-identical to the concatenated segments up to here (a batch boundary). */
  endOffset: number;
  lastGlobalPosition: string | null;
  /** SHA-256 of the last batch's trailing 4 KiB: detects a replaced log before appending to a chain. */
  tailSha256: string;
  segments: Segment[];
}

export const pad = (n: number) => String(n).padStart(16, '0');
export const chainPrefix = (prefix: string, chain: string) => `${prefix}/${chain}`;
export const segmentName = (prefix: string, chain: string, start: number, end: number) => `${chainPrefix(prefix, chain)}/segments/${pad(start)}-${pad(end)}.seg`;
export const manifestName = (prefix: string, chain: string, end: number) => `${chainPrefix(prefix, chain)}/manifests/${pad(end)}.json`;

/** Chains are named by their start time, so names sort in time order. */
export const newChainId = (now: Date) => now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

/** Checks a manifest's shape and that its segments tile [0, endOffset) with no gap or overlap. */
export function validateManifest(m: unknown): Manifest {
  const x = m as Manifest;
  if (!x || x.format !== 1 || !Array.isArray(x.segments) || typeof x.endOffset !== 'number') throw new Error('not a backup manifest (format 1)');
  let at = 0;
  for (const s of x.segments) {
    if (s.startOffset !== at) throw new Error(`manifest gap or overlap at offset ${at} (segment ${s.name} starts at ${s.startOffset})`);
    if (s.endOffset - s.startOffset !== s.size || !/^[0-9a-f]{64}$/.test(s.sha256)) throw new Error(`segment ${s.name} has a bad size or hash`);
    at = s.endOffset;
  }
  if (at !== x.endOffset) throw new Error(`segments end at ${at}, manifest says ${x.endOffset}`);
  return x;
}

/** The newest manifest among object names (names sort by chain, then end offset). */
export function latestManifest(names: string[], prefix: string): string | null {
  const ms = names.filter((n) => n.startsWith(`${prefix}/`) && /\/manifests\/\d{16}\.json$/.test(n)).sort();
  return ms.at(-1) ?? null;
}

/** Chains to delete: every chain but the newest whose newest manifest is older than the retention. */
export function expiredChains(objects: { name: string; timeCreated: string }[], prefix: string, retentionDays: number, now: Date): string[] {
  const newest = new Map<string, number>();
  for (const o of objects) {
    const m = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/([^/]+)/`).exec(o.name);
    if (!m?.[1]) continue;
    newest.set(m[1], Math.max(newest.get(m[1]) ?? 0, Date.parse(o.timeCreated)));
  }
  const chains = [...newest.keys()].sort();
  const keep = chains.at(-1);
  const cutoff = now.getTime() - retentionDays * 86_400_000;
  return chains.filter((c) => c !== keep && (newest.get(c) ?? 0) < cutoff);
}
