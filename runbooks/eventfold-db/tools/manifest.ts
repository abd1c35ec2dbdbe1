// The backup manifest: each one lists its chain's every segment, so the newest manifest alone
// is enough to restore. Object names carry the chain (start time and host), so a host finds its
// own backups, and retention touches only what this host wrote. Pure functions, tested alone.
export interface Segment {
  name: string;
  startOffset: number;
  endOffset: number;
  /** Log bytes in the segment (endOffset - startOffset). */
  size: number;
  /** Format 1: SHA-256 of the log bytes, which were stored as they are. */
  sha256?: string;
  /** Format 2: how the object holds the bytes (see frames.ts), its size and SHA-256 as stored. */
  encoding?: Encoding;
  storedSize?: number;
  storedSha256?: string;
  firstGlobalPosition: string | null;
  lastGlobalPosition: string | null;
}

export type Encoding = 'identity' | 'brotli-frames';
export const MANIFEST_FORMAT = 2;

export interface Manifest {
  /** 1: raw segments (the first version); 2: segments with an encoding and the stored hash. */
  format: 1 | 2;
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

/** What a segment's object holds, whatever the manifest's format. */
export const stored = (s: Segment) => ({ encoding: s.encoding ?? 'identity', size: s.storedSize ?? s.size, sha256: (s.storedSha256 ?? s.sha256) as string });

export const pad = (n: number) => String(n).padStart(16, '0');
export const chainPrefix = (prefix: string, chain: string) => `${prefix}/${chain}`;
/** Segment names carry the scan's start and its limit (the file size read): the same name always means the same bytes. */
export const segmentName = (prefix: string, chain: string, start: number, limit: number) => `${chainPrefix(prefix, chain)}/segments/${pad(start)}-${pad(limit)}.seg`;
export const manifestName = (prefix: string, chain: string, end: number) => `${chainPrefix(prefix, chain)}/manifests/${pad(end)}.json`;

/** A host name as it appears in object names. */
export const hostTag = (host: string) => host.replace(/[^A-Za-z0-9.-]/g, '-');

/** Chains are named by their start time (so they sort in time order) and the host that writes them. */
export const newChainId = (now: Date, host: string) => `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}.${hostTag(host)}`;

const CHAIN = /^(\d{8}T\d{6}Z)(?:\.([A-Za-z0-9.-]+))?$/;
export interface ObjectName {
  chain: string;
  /** The host tag of the chain; undefined for chains written before names carried it. */
  host: string | undefined;
  kind: 'segment' | 'manifest';
  start: number;
  end: number;
}

/** Parses a name this tool writes under `prefix`; null for anything else (never touched). */
export function parseName(name: string, prefix: string): ObjectName | null {
  if (!name.startsWith(`${prefix}/`)) return null;
  const parts = name.slice(prefix.length + 1).split('/');
  if (parts.length !== 3) return null;
  const [chain, dir, file] = parts as [string, string, string];
  const c = CHAIN.exec(chain);
  if (!c) return null;
  const seg = dir === 'segments' ? /^(\d{16})-(\d{16})\.seg$/.exec(file) : null;
  if (seg) return { chain, host: c[2], kind: 'segment', start: Number(seg[1]), end: Number(seg[2]) };
  const man = dir === 'manifests' ? /^(\d{16})\.json$/.exec(file) : null;
  if (man) return { chain, host: c[2], kind: 'manifest', start: 0, end: Number(man[1]) };
  return null;
}

/** Checks a manifest's shape and that its segments tile [0, endOffset) with no gap or overlap. */
export function validateManifest(m: unknown): Manifest {
  const x = m as Manifest;
  if (x && typeof x.format === 'number' && x.format > MANIFEST_FORMAT) throw new Error(`manifest format ${x.format} is newer than this tool (it reads formats 1 and ${MANIFEST_FORMAT}): install the newer eventfold-tools with the eventfold-db runbook`);
  if (!x || (x.format !== 1 && x.format !== 2) || !Array.isArray(x.segments) || typeof x.endOffset !== 'number') throw new Error('not a backup manifest (format 1 or 2)');
  let at = 0;
  for (const s of x.segments) {
    if (s.startOffset !== at) throw new Error(`manifest gap or overlap at offset ${at} (segment ${s.name} starts at ${s.startOffset})`);
    const st = stored(s);
    const encodingOk = x.format === 1 ? s.encoding === undefined : st.encoding === 'identity' || st.encoding === 'brotli-frames';
    if (s.endOffset - s.startOffset !== s.size || !/^[0-9a-f]{64}$/.test(st.sha256 ?? '') || !Number.isSafeInteger(st.size) || !encodingOk) throw new Error(`segment ${s.name} has a bad size, hash or encoding`);
    at = s.endOffset;
  }
  if (at !== x.endOffset) throw new Error(`segments end at ${at}, manifest says ${x.endOffset}`);
  return x;
}

const byChainThenEnd = (a: ObjectName & { name: string }, b: ObjectName & { name: string }) => (a.chain.slice(0, 16) === b.chain.slice(0, 16) ? (a.chain === b.chain ? a.end - b.end : a.chain < b.chain ? -1 : 1) : a.chain < b.chain ? -1 : 1);

/**
 * Manifests a restore for `host` may use, newest first: those of the host's own chains, and those
 * of chains written before names carried a host (the caller checks the host inside them).
 */
export function candidateManifests(names: string[], prefix: string, host: string): string[] {
  const tag = hostTag(host);
  return names
    .map((name) => ({ name, ...parseName(name, prefix) }))
    .filter((x): x is ObjectName & { name: string } => x.kind === 'manifest' && (x.host === undefined || x.host === tag))
    .sort(byChainThenEnd)
    .reverse()
    .map((x) => x.name);
}

/** Backups newer than manifest `m`: segments past its end in its chain, or later chains of the same host. */
export function newerThan(names: string[], prefix: string, m: Manifest): string[] {
  const tag = hostTag(m.host);
  return names.filter((n) => {
    const p = parseName(n, prefix);
    if (!p || p.kind !== 'segment') return false;
    if (p.chain === m.chain) return p.start >= m.endOffset && m.endOffset > 0;
    return p.host === tag && p.chain.slice(0, 16) > m.chain.slice(0, 16);
  });
}

/**
 * Chains to delete: only this host's (by name, or for older unnamed chains by the host their
 * manifest names, given in `untaggedHosts`), never the newest chain that has a manifest nor any
 * chain after it, and only once their newest object is older than the retention.
 */
export function expiredChains(objects: { name: string; timeCreated: string }[], prefix: string, retentionDays: number, now: Date, host: string, untaggedHosts: Map<string, string | null> = new Map()): string[] {
  const tag = hostTag(host);
  const newest = new Map<string, number>();
  const complete = new Set<string>();
  for (const o of objects) {
    const p = parseName(o.name, prefix);
    if (!p) continue;
    const mine = p.host === undefined ? untaggedHosts.get(p.chain) === host : p.host === tag;
    if (!mine) continue;
    newest.set(p.chain, Math.max(newest.get(p.chain) ?? 0, Date.parse(o.timeCreated)));
    if (p.kind === 'manifest') complete.add(p.chain);
  }
  const chains = [...newest.keys()].sort((a, b) => (a.slice(0, 16) === b.slice(0, 16) ? 0 : a < b ? -1 : 1));
  let keepFrom = chains.length - 1;
  while (keepFrom >= 0 && !complete.has(chains[keepFrom] as string)) keepFrom--;
  if (keepFrom < 0) return [];
  const cutoff = now.getTime() - retentionDays * 86_400_000;
  return chains.slice(0, keepFrom).filter((c) => (newest.get(c) ?? 0) < cutoff);
}

/** Chains without a host in their name that retention would look at (their manifest says whose they are). */
export function untaggedChains(names: string[], prefix: string): Map<string, string> {
  const newestManifest = new Map<string, ObjectName & { name: string }>();
  for (const name of names) {
    const p = parseName(name, prefix);
    if (!p || p.host !== undefined || p.kind !== 'manifest') continue;
    const cur = newestManifest.get(p.chain);
    if (!cur || cur.end < p.end) newestManifest.set(p.chain, { ...p, name });
  }
  return new Map([...newestManifest].map(([c, x]) => [c, x.name]));
}
