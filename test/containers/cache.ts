// Cache entries of the container image builder: one folder per input hash under
// ${RUNBOOK_CACHE_DIR:-~/.cache/oci-arm-runbooks}/containers/, built in a temporary folder beside
// it and renamed when complete, with SHA256SUMS written last. Every use verifies SHA256SUMS in
// full, so a partial or corrupt entry is deleted and rebuilt, never used. Builds of one entry are
// serialised with flock(1) (held by a child whose stdin is our pipe: it dies, and frees the lock,
// with this process).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';

export const cacheRoot = (): string => join(process.env.RUNBOOK_CACHE_DIR ?? join(homedir(), '.cache/oci-arm-runbooks'), 'containers');

/** First 16 hex digits of a sha256 over the given parts (each length-prefixed, so no two lists collide). */
export function inputKey(parts: (string | Buffer)[]): string {
  const h = createHash('sha256');
  for (const p of parts) {
    const b = typeof p === 'string' ? Buffer.from(p) : p;
    h.update(`${b.length}:`).update(b);
  }
  return h.digest('hex').slice(0, 16);
}

const t0 = Date.now();
/** One progress line on stderr, prefixed with the seconds since this process started. */
export function say(msg: string): void {
  process.stderr.write(`[containers ${String(Math.round((Date.now() - t0) / 1000)).padStart(4)}s] ${msg}\n`);
}

/** Says `what` (and its current detail) every `everyMs` until the returned function is called. */
export function heartbeat(what: string, detail: () => string = () => '', everyMs = 20_000): () => void {
  const timer = setInterval(() => say(`still ${what} ${detail()}`.trimEnd()), everyMs);
  return () => clearInterval(timer);
}

/** Every regular file under dir, relative to it, sorted. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * Removes a build folder. An interrupted root-mode mmdebstrap can leave /proc or /sys mounted
 * inside it, so those are unmounted first and removal never crosses into another filesystem.
 */
export function removeTree(path: string): void {
  if (!existsSync(path)) return;
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m.startsWith(`${path}/`))
    .sort()
    .reverse();
  for (const m of mounts) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
  spawnSync('rm', ['-rf', '--one-file-system', '--', path], { stdio: 'ignore' });
}

/** True when dir has a SHA256SUMS that lists files and every listed file matches. */
export function entryIntact(dir: string): boolean {
  const sums = join(dir, 'SHA256SUMS');
  if (!existsSync(sums) || statSync(sums).size === 0) return false;
  return spawnSync('sha256sum', ['--quiet', '--strict', '-c', 'SHA256SUMS'], { cwd: dir, stdio: 'ignore' }).status === 0;
}

/** Holds an exclusive flock on lockPath while fn runs; says so while it waits for another build. */
export async function withLock<T>(lockPath: string, what: string, fn: () => Promise<T>): Promise<T> {
  const child = spawn('flock', ['-x', lockPath, 'sh', '-c', 'echo locked; exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = setTimeout(() => say(`another build of ${what} is running: waiting for it`), 1_000);
  const stop = heartbeat(`waiting for the other build of ${what}`, () => '', 30_000);
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`flock ${lockPath} exited ${code} before taking the lock`)));
      child.once('error', reject);
    });
  } finally {
    clearTimeout(waiting);
    stop();
  }
  try {
    return await fn();
  } finally {
    child.stdin.end();
  }
}

/**
 * The folder of an intact cache entry `name`, built by `build(work)` when missing or corrupt.
 * `build` fills `work`; SHA256SUMS over every file in it is written last, then `work` is renamed.
 */
export async function cachedEntry(name: string, build: (work: string) => Promise<void>): Promise<string> {
  const root = cacheRoot();
  mkdirSync(root, { recursive: true });
  const dir = join(root, name);
  return withLock(join(root, `.${name}.lock`), name, async () => {
    if (existsSync(dir)) {
      if (entryIntact(dir)) return dir;
      say(`cache entry ${name} is incomplete or corrupt: deleting it`);
      rmSync(dir, { recursive: true, force: true });
    }
    // Leftovers of builds killed outright (the lock says none of them is running).
    for (const e of readdirSync(root)) if (e.startsWith(`.build-${name}.`)) removeTree(join(root, e));
    const work = mkdtempSync(join(root, `.build-${name}.`));
    try {
      await build(work);
      const files = filesUnder(work).filter((f) => f !== 'SHA256SUMS');
      const r = spawnSync('sha256sum', ['--', ...files], { cwd: work, encoding: 'utf8', maxBuffer: 64 << 20 });
      if (r.status !== 0) throw new Error(`sha256sum in ${work} failed: ${r.stderr}`);
      writeFileSync(join(work, 'SHA256SUMS'), r.stdout);
      chmodSync(work, 0o755);
      renameSync(work, dir);
      return dir;
    } catch (err) {
      removeTree(work);
      throw err;
    }
  });
}
