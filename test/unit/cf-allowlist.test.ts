// cf-allowlist end to end: a local HTTP server on 127.0.0.1 serves the recorded Cloudflare answer
// and hostile ones; the tool's nft runs inside a user and network namespace of the test's own
// (`unshare -rn`), so real nft loads real sets and the machine's own rules are never touched.
import { build } from 'esbuild';
import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { netns } from '../netns.ts';
import { spawnedProcesses } from './spawned.ts';

const SOURCE = new URL('../../runbooks/familycart/tools/cf-allowlist.ts', import.meta.url).pathname;
// Bundled as scripts/build.ts ships it (node18 target): tsx costs seconds a call on a busy machine.
const TOOL = join(mkdtempSync(join(tmpdir(), 'cfal-tool-')), 'cf-allowlist.mjs');
const SHIPPED = new URL('../../runbooks/familycart/files/cloudflare-ips.json', import.meta.url).pathname;
const recorded = readFileSync(SHIPPED, 'utf8');
const rec = JSON.parse(recorded) as { result: { ipv4_cidrs: string[]; ipv6_cidrs: string[] } };
const envelope = (v4: string[], v6: string[]) => JSON.stringify({ result: { ipv4_cidrs: v4, ipv6_cidrs: v6, etag: 'x' }, success: true, errors: [], messages: [] });
const v4 = rec.result.ipv4_cidrs;
const v6 = rec.result.ipv6_cidrs;

/** Hostile answers by path: [status, headers, body]; "truncated" promises more than it sends. */
const ROUTES: Record<string, [number, Record<string, string>, string]> = {
  '/ips': [200, {}, recorded],
  '/rate-limited': [429, {}, '{"success":false,"errors":[{"code":971,"message":"Please wait and consider throttling your request speed"}],"messages":[],"result":null}'],
  '/success-false': [200, {}, '{"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[],"result":null}'],
  '/empty-v4': [200, {}, envelope([], v6)],
  '/world-v4': [200, {}, envelope([...v4, '0.0.0.0/0'], v6)],
  '/world-v6': [200, {}, envelope(v4, [...v6, '::/0'])],
  '/bad-cidr': [200, {}, envelope([...v4.slice(1), '173.245.48.1/20'], v6)],
  '/v6-in-v4': [200, {}, envelope([...v4, '2400:cb00::/32'], v6)],
  '/not-json': [200, { 'content-type': 'text/html' }, '<html><body>Attention Required! | Cloudflare</body></html>'],
  '/moved': [301, { location: 'https://www.cloudflare.com/ips/' }, ''],
  '/huge-change': [200, {}, envelope(['1.0.0.0/16', '2.0.0.0/16', '3.0.0.0/16', ...v4.slice(10)], v6)],
  '/changed-2021': [200, {}, envelope([...v4.filter((c) => !c.startsWith('104.')), '104.16.0.0/12'], v6)],
};
const HOSTILE: [string, RegExp][] = [
  ['/rate-limited', /HTTP 429 \(errors: 971 Please wait/],
  ['/success-false', /success is false/],
  ['/empty-v4', /ipv4_cidrs is empty/],
  ['/world-v4', /0\.0\.0\.0\/0" would admit/],
  ['/world-v6', /::\/0" would admit/],
  ['/bad-cidr', /host bits set/],
  ['/v6-in-v4', /IPv6 in the IPv4 list/],
  ['/not-json', /body is not JSON/],
  ['/truncated', /cut off after|broke off after/],
  ['/moved', /HTTP 301 to https:\/\/www\.cloudflare\.com\/ips\/: a redirect is not followed/],
  ['/huge-change', /IPv4 list changes by 3 added and 10 removed of 15/],
];

let server: Server;
let base = '';
beforeAll(async () => {
  await build({ entryPoints: [SOURCE], outfile: TOOL, bundle: true, format: 'esm', platform: 'node', target: 'node18', logLevel: 'warning' });
  server = createServer((req, res) => {
    if (req.url === '/truncated') {
      res.writeHead(200, { 'content-length': String(recorded.length) });
      res.write(recorded.slice(0, 180));
      setTimeout(() => res.destroy(), 50);
      return;
    }
    const r = ROUTES[req.url ?? ''] ?? [404, {}, '{"success":false,"errors":[{"code":7003,"message":"No route"}],"result":null}'];
    res.writeHead(r[0], { 'content-type': 'application/json', ...r[1] }).end(r[2]);
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((res) => server.close(() => res())));

const procs = spawnedProcesses();
let dir: string;
let nft: string[];

/** A user+network namespace of the test's own; nft enters it with nsenter. */
async function namespace(): Promise<string[]> {
  return [...(await netns(procs, { user: true })).run, 'nft'];
}

const tool = (args: string[], extra: string[] = []) =>
  execa('node', [TOOL, ...args, '--state-dir', join(dir, 'state'), '--nft-file', join(dir, 'nftables.d/12-cloudflare.nft'), '--shipped', SHIPPED, '--nft', nft.join(' '), ...extra], { reject: false, timeout: 60_000 });
const sets = async () => (await execa(nft[0] as string, [...nft.slice(1), 'list', 'table', 'inet', 'runbook'], { reject: false })).stdout;
const elementCount = (text: string, set: string) => {
  const m = new RegExp(`set ${set} \\{[^}]*elements = \\{([^}]*)\\}`).exec(text);
  return m ? (m[1] as string).split(',').length : 0;
};

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cfal-'));
  nft = await namespace();
});

describe('cf-allowlist check (touches nothing)', () => {
  it('prints the sets it would load from the recorded answer, and writes nothing', async () => {
    const r = await tool(['check', '--url', `${base}/ips`]);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/15 IPv4 and 7 IPv6 ranges pass every check \(compared with the list shipped/);
    expect(r.stdout).toMatch(/set cf_v4 \{[^}]*elements = \{ 173\.245\.48\.0\/20, .*131\.0\.72\.0\/22 \}/);
    expect(r.stdout).toMatch(/set cf_v6 \{[^}]*2c0f:f248::\/32 \}/);
    expect(existsSync(join(dir, 'state'))).toBe(false);
    expect(existsSync(join(dir, 'nftables.d'))).toBe(false);
    expect(await sets()).toBe('');
  });

  it.each(HOSTILE)('refuses %s with the reason on one line and exit 1, writing nothing', async (path, why) => {
    const r = await tool(['check', '--url', `${base}${path}`]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(why);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(existsSync(join(dir, 'state'))).toBe(false);
    expect(await sets()).toBe('');
  });
});

describe('cf-allowlist refresh and load (real nft in a namespace)', () => {
  it('first boot with no good list loads the shipped one and says so; refresh then persists the fetched list', async () => {
    const l = await tool(['load']);
    expect(l.exitCode).toBe(0);
    expect(l.stdout).toMatch(/no good list was ever fetched: loaded the list shipped with the runbooks .* \(15 IPv4, 7 IPv6\)/);
    expect(elementCount(await sets(), 'cf_v4')).toBe(15);
    expect(existsSync(join(dir, 'state/last-good.json'))).toBe(false);

    const r = await tool(['refresh', '--url', `${base}/ips`]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('');
    expect(r.exitCode).toBe(0);
    const saved = JSON.parse(readFileSync(join(dir, 'state/last-good.json'), 'utf8')) as { v4: string[]; source: string };
    expect(saved.v4).toEqual(v4);
    expect(saved.source).toBe(`${base}/ips`);
    // The sets file that /etc/nftables.conf includes holds the same elements, so a reboot reloads them.
    expect(readFileSync(join(dir, 'nftables.d/12-cloudflare.nft'), 'utf8')).toMatch(/elements = \{ 173\.245\.48\.0\/20,/);
  });

  it('keeps the last good sets loaded through every kind of bad answer', async () => {
    expect((await tool(['refresh', '--url', `${base}/ips`])).exitCode).toBe(0);
    const before = await sets();
    const saved = readFileSync(join(dir, 'state/last-good.json'), 'utf8');
    const file = readFileSync(join(dir, 'nftables.d/12-cloudflare.nft'), 'utf8');
    for (const [path, why] of HOSTILE) {
      const r = await tool(['refresh', '--url', `${base}${path}`]);
      expect(r.exitCode, path).toBe(1);
      expect(r.stderr, path).toMatch(why);
      expect(r.stderr, path).toMatch(/the loaded sets stay as they are \(15 IPv4, 7 IPv6\)/);
      expect(r.stderr.trimEnd().split('\n'), path).toHaveLength(1);
      expect(await sets(), path).toBe(before);
      expect(readFileSync(join(dir, 'state/last-good.json'), 'utf8'), path).toBe(saved);
      expect(readFileSync(join(dir, 'nftables.d/12-cloudflare.nft'), 'utf8'), path).toBe(file);
    }
  }, 120_000);

  it('puts the last good list back when a bad answer finds the sets gone (never left without them)', async () => {
    expect((await tool(['refresh', '--url', `${base}/ips`])).exitCode).toBe(0);
    await execa(nft[0] as string, [...nft.slice(1), 'delete', 'table', 'inet', 'runbook']);
    const r = await tool(['refresh', '--url', `${base}/world-v4`]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/the sets were missing: loaded the last good list \(15 IPv4, 7 IPv6, fetched 20/);
    expect(elementCount(await sets(), 'cf_v4')).toBe(15);
    expect(elementCount(await sets(), 'cf_v6')).toBe(7);
  });

  it('with no good list ever fetched, a bad answer loads the shipped list and says so', async () => {
    const r = await tool(['refresh', '--url', `${base}/rate-limited`]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/HTTP 429.*; no good list was ever fetched: loaded the list shipped with the runbooks/);
    expect(elementCount(await sets(), 'cf_v4')).toBe(15);
  });

  it('swaps the elements in place and leaves every other table (Docker\'s) alone', async () => {
    await execa(nft[0] as string, [...nft.slice(1), '-f', '-'], { input: 'table ip filter {\n chain DOCKER-USER {\n  counter return\n }\n}\ntable inet runbook {\n chain input {\n  type filter hook input priority filter; policy drop;\n }\n}\n' });
    expect((await tool(['refresh', '--url', `${base}/changed-2021`])).exitCode).toBe(0);
    expect(await sets()).toMatch(/104\.16\.0\.0\/12/);
    const r = await tool(['refresh', '--url', `${base}/ips`]);
    expect(r.stderr).toBe('');
    const after = await sets();
    expect(after).toMatch(/104\.16\.0\.0\/13,\s+104\.24\.0\.0\/14/);
    expect(after).not.toMatch(/104\.16\.0\.0\/12/);
    expect(after).toMatch(/chain input/);
    const all = (await execa(nft[0] as string, [...nft.slice(1), 'list', 'ruleset'])).stdout;
    expect(all).toMatch(/table ip filter \{\s*chain DOCKER-USER \{\s*counter packets \d+ bytes \d+ return/);
  });

  it('accepts a large change only when the operator says so (--max-change 1)', async () => {
    expect((await tool(['refresh', '--url', `${base}/ips`])).exitCode).toBe(0);
    expect((await tool(['refresh', '--url', `${base}/huge-change`])).exitCode).toBe(1);
    const r = await tool(['refresh', '--url', `${base}/huge-change`], ['--max-change', '1']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(await sets()).toMatch(/1\.0\.0\.0\/16/);
  });

  it('writes nginx\'s real-IP trust from the same list, and refuses the whole refresh when nginx -t does', async () => {
    const conf = join(dir, 'nginx/cloudflare-realip.conf');
    const ok = await tool(['refresh', '--url', `${base}/ips`], ['--nginx-file', conf, '--nginx', 'true', '--reload-nginx', 'true']);
    expect(ok.stderr).toBe('');
    const text = readFileSync(conf, 'utf8');
    expect(text.match(/^set_real_ip_from /gm)).toHaveLength(22);
    expect(text).toMatch(/^set_real_ip_from 2a06:98c0::\/29;$/m);
    const before = await sets();
    const bad = await tool(['refresh', '--url', `${base}/changed-2021`], ['--nginx-file', conf, '--nginx', 'false', '--reload-nginx', 'true']);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/nginx -t refused the real-IP list/);
    expect(readFileSync(conf, 'utf8')).toBe(text);
    expect(await sets()).toBe(before);
  });

  it('a damaged last-good file is not trusted: the shipped list is loaded instead', async () => {
    expect((await tool(['refresh', '--url', `${base}/ips`])).exitCode).toBe(0);
    writeFileSync(join(dir, 'state/last-good.json'), '{"v4":["0.0.0.0/0"],"v6":["::/0"]}');
    await execa(nft[0] as string, [...nft.slice(1), 'flush', 'set', 'inet', 'runbook', 'cf_v4']);
    const r = await tool(['load']);
    expect(r.stdout).toMatch(/last-good\.json is not a valid list .*would admit.*: loaded the list shipped/);
    expect(elementCount(await sets(), 'cf_v4')).toBe(15);
  });
});
