// What cf-allowlist does to a host: swap the sets in one checked nft transaction, keep nginx's
// real-IP trust in step (nginx -t first), persist the last good list, and make sure the sets are
// never missing or empty, whatever else failed.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type AllowList, DEFAULT_LIMITS, type Limits, validateBody } from './answer.ts';
import { SETS, TABLE, nginxRealIp, setsFile, swapTransaction } from './render.ts';

export interface Host {
  stateDir: string;
  /** The sets file in /etc/nftables.d that every load of /etc/nftables.conf includes. */
  nftFile: string;
  /** nginx's real-IP include; unset when the host has no nginx in front. */
  nginxFile?: string;
  /** The list shipped with the runbooks, for a host that never fetched a good one. */
  shipped: string;
  /** argv prefixes, so a test can run nft inside a network namespace of its own. */
  nft: string[];
  nginx: string[];
  reloadNginx: string[];
  limits?: Limits;
}

export interface Saved extends AllowList {
  source: string;
  fetchedAt: string;
}

export function run(argv: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(argv[0] as string, argv.slice(1), { timeout: timeoutMs, maxBuffer: 8 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 127) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr || (err && !stderr ? err.message : '')) });
    });
  });
}

const firstLine = (s: string) => s.trim().split('\n').slice(0, 3).join(' ').slice(0, 300);

function writeAtomic(path: string, content: string, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.new`;
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, path);
}

const readOr = (p: string): string | null => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return null;
  }
};

export const lastGoodPath = (h: Host) => join(h.stateDir, 'last-good.json');

/** The last good list this host fetched, or null when it never fetched one. */
export function readLastGood(h: Host): Saved | null {
  const t = readOr(lastGoodPath(h));
  if (t === null) return null;
  const s = JSON.parse(t) as Saved;
  // A hand-edited or damaged file is checked like any answer before it is trusted.
  validateBody({ success: true, result: { ipv4_cidrs: s.v4, ipv6_cidrs: s.v6 } }, h.limits ?? DEFAULT_LIMITS);
  return s;
}

export function readShipped(h: Host): Saved {
  const body = readOr(h.shipped);
  if (body === null) throw new Error(`the list shipped with the runbooks is missing (${h.shipped})`);
  return { ...validateBody(JSON.parse(body), h.limits ?? DEFAULT_LIMITS), source: `the list shipped with the runbooks (${h.shipped})`, fetchedAt: '' };
}

/** Element counts of the loaded sets (null: the set does not exist). */
export async function loadedCounts(h: Host): Promise<{ v4: number | null; v6: number | null }> {
  const count = async (set: string) => {
    const r = await run([...h.nft, 'list', 'set', ...TABLE.split(' '), set]);
    if (r.code !== 0) return null;
    const m = /elements = \{([^}]*)\}/.exec(r.stdout);
    return m ? (m[1] as string).split(',').filter((x) => x.trim()).length : 0;
  };
  return { v4: await count(SETS.v4), v6: await count(SETS.v6) };
}

/** Loads a list: nft -c, nginx -t, one nft transaction, then the files that make it survive a reboot. */
export async function applyList(h: Host, l: Saved, opts: { persist: boolean }): Promise<void> {
  mkdirSync(h.stateDir, { recursive: true, mode: 0o700 });
  const candidate = join(h.stateDir, 'candidate.nft');
  writeFileSync(candidate, swapTransaction(l, l.source), { mode: 0o600 });
  try {
    const c = await run([...h.nft, '-c', '-f', candidate]);
    if (c.code !== 0) throw new Error(`nft -c refused the candidate sets: ${firstLine(c.stderr)}`);
    let oldNginx: string | null = null;
    const nginxText = h.nginxFile ? nginxRealIp(l, l.source) : null;
    if (h.nginxFile && nginxText !== null) {
      oldNginx = readOr(h.nginxFile);
      writeAtomic(h.nginxFile, nginxText);
      const t = await run([...h.nginx, '-t', '-q']);
      if (t.code !== 0) {
        restore(h.nginxFile, oldNginx);
        throw new Error(`nginx -t refused the real-IP list: ${firstLine(t.stderr)}`);
      }
    }
    const f = await run([...h.nft, '-f', candidate]);
    if (f.code !== 0) {
      if (h.nginxFile) restore(h.nginxFile, oldNginx);
      throw new Error(`nft -f failed, the sets are unchanged: ${firstLine(f.stderr)}`);
    }
    writeAtomic(h.nftFile, setsFile(l, l.source));
    if (opts.persist) writeAtomic(lastGoodPath(h), `${JSON.stringify(l, null, 2)}\n`, 0o600);
    if (h.nginxFile && nginxText !== oldNginx) {
      const r = await run(h.reloadNginx);
      if (r.code !== 0) throw new Error(`the sets are loaded but nginx did not reload: ${firstLine(r.stderr)}`);
    }
  } finally {
    rmSync(candidate, { force: true });
  }
}

function restore(path: string, old: string | null): void {
  if (old === null) rmSync(path, { force: true });
  else writeAtomic(path, old);
}

/**
 * Makes sure both sets exist and hold elements: when either is missing or empty, loads the last
 * good list, or the shipped one if this host never fetched one. Says what it found or did.
 */
export async function ensureLoaded(h: Host): Promise<string> {
  const n = await loadedCounts(h);
  if (n.v4 && n.v6) return `the loaded sets stay as they are (${n.v4} IPv4, ${n.v6} IPv6)`;
  const { good, note } = lastGoodOrNote(h);
  const l = good ?? readShipped(h);
  await applyList(h, l, { persist: false });
  return good ? `the sets were ${n.v4 === null ? 'missing' : 'empty'}: loaded the last good list (${l.v4.length} IPv4, ${l.v6.length} IPv6, fetched ${good.fetchedAt})` : `${note}: loaded ${l.source} (${l.v4.length} IPv4, ${l.v6.length} IPv6)`;
}

/** The last good list, or why there is none (never fetched, or a damaged file that is not trusted). */
export function lastGoodOrNote(h: Host): { good: Saved | null; note: string } {
  if (!existsSync(lastGoodPath(h))) return { good: null, note: 'no good list was ever fetched' };
  try {
    return { good: readLastGood(h), note: '' };
  } catch (e) {
    return { good: null, note: `${lastGoodPath(h)} is not a valid list (${(e as Error).message})` };
  }
}
