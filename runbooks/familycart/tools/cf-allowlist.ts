// cf-allowlist: keeps the nftables sets cf_v4/cf_v6 of table `inet runbook` (and nginx's real-IP
// trust) equal to Cloudflare's published edge ranges. Runs on the host under Node 18.
//
//   cf-allowlist check   [--url URL]   fetch and validate; print the sets it would load, touch nothing
//   cf-allowlist refresh [--url URL]   fetch, validate, load atomically, persist (the daily timer)
//   cf-allowlist load                  make sure the sets are loaded: last good list, else the shipped one
//
// Silent on success (check prints the sets). Any refusal or failure: one line on stderr (the
// journal, under the timer) saying why, exit 1, and the sets stay loaded with the last good list.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type AllowList, DEFAULT_LIMITS, type Limits, Refusal, checkChange, sameList, validateAnswer } from './answer.ts';
import { httpGet } from './fetch.ts';
import { type Host, type Saved, applyList, ensureLoaded, lastGoodOrNote, loadedCounts, readShipped } from './host.ts';
import { setsFile } from './render.ts';

export const DEFAULT_URL = 'https://api.cloudflare.com/client/v4/ips';

const { values: o, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string', default: DEFAULT_URL },
    'state-dir': { type: 'string', default: '/var/lib/runbook/cloudflare' },
    'nft-file': { type: 'string', default: '/etc/nftables.d/12-cloudflare.nft' },
    'nginx-file': { type: 'string' },
    shipped: { type: 'string', default: join(dirname(fileURLToPath(import.meta.url)), 'cloudflare-ips.json') },
    nft: { type: 'string', default: 'nft' },
    nginx: { type: 'string', default: 'nginx' },
    'reload-nginx': { type: 'string', default: 'systemctl try-reload-or-restart nginx.service' },
    'max-change': { type: 'string', default: String(DEFAULT_LIMITS.maxChange) },
    'min-prefix-v4': { type: 'string', default: String(DEFAULT_LIMITS.minPrefix[4]) },
    'min-prefix-v6': { type: 'string', default: String(DEFAULT_LIMITS.minPrefix[6]) },
    timeout: { type: 'string', default: '30000' },
  },
});

const num = (k: keyof typeof o, lo: number, hi: number): number => {
  const n = Number(o[k]);
  if (!Number.isFinite(n) || n < lo || n > hi) throw new Error(`--${k} must be a number from ${lo} to ${hi}`);
  return n;
};

let limits: Limits;
let host: Host;
function configure(): void {
  limits = { maxChange: num('max-change', 0, 1), minPrefix: { 4: num('min-prefix-v4', 1, 32), 6: num('min-prefix-v6', 1, 128) } };
  host = {
    stateDir: o['state-dir'] as string,
    nftFile: o['nft-file'] as string,
    nginxFile: (o['nginx-file'] as string | undefined) || undefined,
    shipped: o.shipped as string,
    nft: (o.nft as string).split(' ').filter(Boolean),
    nginx: (o.nginx as string).split(' ').filter(Boolean),
    reloadNginx: (o['reload-nginx'] as string).split(' ').filter(Boolean),
    limits,
  };
}
const url = o.url as string;

/** The list a new answer is compared with: the last good one, else the shipped one (what is loaded). */
function previous(): Saved | null {
  const { good } = lastGoodOrNote(host);
  if (good) return good;
  try {
    return readShipped(host);
  } catch {
    return null;
  }
}

async function fetchValid(prev: AllowList | null): Promise<AllowList> {
  let answer;
  try {
    answer = await httpGet(url, { timeoutMs: num('timeout', 1000, 600_000), maxBytes: 1 << 20 });
  } catch (e) {
    throw new Refusal((e as Error).message);
  }
  const l = validateAnswer(answer, limits);
  if (prev) checkChange(prev, l, limits);
  return l;
}

async function refresh(): Promise<void> {
  const prev = previous();
  let l: AllowList;
  try {
    l = await fetchValid(prev);
  } catch (e) {
    if (!(e instanceof Refusal)) throw e;
    const kept = await ensureLoaded(host).catch((x: Error) => `and the sets could not be loaded either: ${x.message}`);
    throw new Error(`refused the answer of ${url}: ${e.message}; ${kept}`);
  }
  const { good } = lastGoodOrNote(host);
  const n = await loadedCounts(host);
  if (good && sameList(good, l) && n.v4 === l.v4.length && n.v6 === l.v6.length) return;
  try {
    await applyList(host, { ...l, source: url, fetchedAt: new Date().toISOString() }, { persist: true });
  } catch (e) {
    const kept = await ensureLoaded(host).catch((x: Error) => `and the sets could not be loaded either: ${x.message}`);
    throw new Error(`${(e as Error).message}; ${kept}`);
  }
}

async function main(): Promise<void> {
  configure();
  const cmd = positionals[0] ?? 'refresh';
  if (cmd === 'check') {
    const prev = previous();
    const l = await fetchValid(prev);
    const bound = prev ? `compared with ${prev.fetchedAt ? `the last good list of ${prev.fetchedAt}` : prev.source}` : 'no previous list: the change bound was not applied';
    process.stdout.write(`# ${url}: ${l.v4.length} IPv4 and ${l.v6.length} IPv6 ranges pass every check (${bound}).\n${setsFile(l, url)}`);
  } else if (cmd === 'refresh') {
    await refresh();
  } else if (cmd === 'load') {
    const said = await ensureLoaded(host);
    if (!said.startsWith('the loaded sets stay')) process.stdout.write(`cf-allowlist: ${said}\n`);
  } else {
    throw new Error('usage: cf-allowlist check|refresh|load [--url URL] [--state-dir DIR] [--nft-file FILE] [--nginx-file FILE] [--shipped FILE] [--max-change 0..1]');
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`cf-allowlist: ${(e as Error).message.replace(/\s*\n\s*/g, ' ')}\n`);
  process.exitCode = 1;
});
