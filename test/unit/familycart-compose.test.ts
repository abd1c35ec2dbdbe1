// FamilyCart's compose files and nginx site under the tools that consume them: compose v2's
// `config -q` with the variables the runbooks set, and Debian's nginx `-t` with the real-IP list
// cf-allowlist generates.
import { type ResultPromise, execa } from 'execa';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { readAsset, renderAsset } from '../../lib/core/assets.ts';
import { validateAnswer } from '../../runbooks/familycart/tools/answer.ts';
import { nginxRealIp } from '../../runbooks/familycart/tools/render.ts';
import * as v from '../assets/validators.ts';
import { inNs, netns } from '../netns.ts';
import { spawnedProcesses } from './spawned.ts';

const composeTimeout = 600_000;
const stateful = readAsset('compose/familycart/stateful.yaml');
const app = readAsset('compose/familycart/app.yaml');
const envFiles = { 'stateful.env': '', 'app.env': '' };

describe('FamilyCart compose files', () => {
  it('compose config accepts stateful.yaml with the private address set', async () => {
    const r = await v.compose(stateful, 'PRIVATE_IP=10.0.0.10\n', envFiles);
    expect(r.output).toBe('');
    expect(r.ok).toBe(true);
  }, composeTimeout);

  it('compose config accepts app.yaml with the commit SHA set, and refuses it without one', async () => {
    const ok = await v.compose(app, 'FAMILYCART_SHA=3f2c1ab\n', envFiles);
    expect(ok.output).toBe('');
    expect(ok.ok).toBe(true);
    const missing = await v.compose(app, '', envFiles);
    expect(missing.ok).toBe(false);
    expect(missing.output).toMatch(/FAMILYCART_SHA is missing a value: the commit SHA to deploy/);
  }, composeTimeout);

  it('stateful.yaml refuses to publish without the private address (never on every interface)', async () => {
    const r = await v.compose(stateful, '', envFiles);
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/PRIVATE_IP is missing a value/);
  }, composeTimeout);

  it.each([['stateful', stateful], ['app', app]])('%s: no version key, images from variables defaulting to the upstream names, memory limits on every service', (_n, text) => {
    const doc = parse(text) as { version?: unknown; services: Record<string, { image: string; mem_limit?: string; env_file?: unknown }> };
    expect(doc.version).toBeUndefined();
    for (const [name, s] of Object.entries(doc.services)) {
      expect(s.image, name).toMatch(/^\$\{[A-Z_]+_IMAGE:-[a-z0-9./-]+(:[\w.-]+)?\}/);
      expect(s.mem_limit, name).toMatch(/^\d+m$/);
      expect(s.env_file, name).toBeDefined();
    }
  });

  it('the memory limits fit a 1 GB host with room for the OS and Docker', () => {
    const mib = (t: string) => Object.values((parse(t) as { services: Record<string, { mem_limit: string }> }).services).reduce((a, s) => a + parseInt(s.mem_limit, 10), 0);
    expect(mib(stateful)).toBeLessThanOrEqual(600);
    expect(mib(app)).toBeLessThanOrEqual(600);
  });

  it('the Redis password is never on a command line: a config on stdin, REDISCLI_AUTH for the health check', () => {
    const redis = (parse(stateful) as { services: { redis: { command: string[]; healthcheck: { test: string[] } } } }).services.redis;
    const cmd = redis.command.join(' ');
    expect(cmd).toMatch(/printf 'requirepass "%s"\\n.*' "\$\$REDIS_PASSWORD"\s*\| exec redis-server -$/);
    expect(cmd).not.toMatch(/--requirepass|-a /);
    expect(redis.healthcheck.test.join(' ')).toMatch(/REDISCLI_AUTH="\$\$REDIS_PASSWORD" redis-cli/);
    expect(redis.healthcheck.test.join(' ')).not.toMatch(/ -a /);
  });
});

describe('FamilyCart nginx site', () => {
  it('nginx -t accepts the site with the real-IP list generated from the shipped Cloudflare list', async () => {
    const { nginx, dir, args } = await scratchNginx();
    const r = await execa(nginx, ['-t', '-q', ...args], { reject: false });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    // And it would catch a broken list: a set_real_ip_from nginx cannot parse.
    writeFileSync(join(dir, 'etc/conf.d/cloudflare-realip.conf'), 'set_real_ip_from 10.0.0.0/33;\n');
    const bad = await execa(nginx, ['-t', '-q', ...args], { reject: false });
    expect(bad.exitCode).not.toBe(0);
  }, 600_000);

  it('a forged CF-Connecting-IP is trusted only from Cloudflare\'s ranges (real nginx in a namespace)', async () => {
    const { nginx, args } = await scratchNginx();
    const ns = await netns(procs);
    for (const a of ['173.245.48.10/32', '203.0.113.10/32']) await inNs(ns, ['ip', 'addr', 'add', a, 'dev', 'lo']);
    await inNs(ns, ['ip', 'link', 'set', 'lo', 'up']);
    // The frontend stand-in echoes the client address headers nginx passes on.
    const echo = execa(ns.run[0] as string, [...ns.run.slice(1), 'node', '-e', "require('http').createServer((q,s)=>s.end(JSON.stringify({real:q.headers['x-real-ip'],xff:q.headers['x-forwarded-for'],cf:q.headers['cf-connecting-ip']}))).listen(3000,'127.0.0.1',()=>console.log('listening'))"]);
    procs.push(echo);
    await started(echo);
    const server = execa(ns.run[0] as string, [...ns.run.slice(1), nginx, '-g', 'daemon off; master_process off;', ...args]);
    procs.push(server);
    const ask = `const http=require('http');const [src]=process.argv.slice(1);let n=0;const go=()=>http.get({host:'203.0.113.10',port:80,path:'/',localAddress:src,headers:{'CF-Connecting-IP':'198.51.100.7','X-Forwarded-For':'198.51.100.7'}},r=>{let b='';r.on('data',d=>b+=d);r.on('end',()=>console.log(b))}).on('error',e=>{if(++n<100)setTimeout(go,100);else{console.error(e.message);process.exit(1)}});go()`;
    const fromCf = JSON.parse(await inNs(ns, ['node', '-e', ask, '173.245.48.10'])) as Record<string, string>;
    const fromElsewhere = JSON.parse(await inNs(ns, ['node', '-e', ask, '203.0.113.10'])) as Record<string, string>;
    expect(fromCf).toEqual({ real: '198.51.100.7', xff: '198.51.100.7', cf: '198.51.100.7' });
    expect(fromElsewhere).toEqual({ real: '203.0.113.10', xff: '203.0.113.10', cf: '203.0.113.10' });
  }, 120_000);
});

const procs = spawnedProcesses();

async function started(p: ResultPromise): Promise<void> {
  await new Promise<void>((res, rej) => {
    let out = '';
    p.stdout?.on('data', (b: Buffer) => {
      out += String(b);
      if (out.includes('listening')) res();
    });
    p.catch((e: Error) => rej(new Error(`stopped: ${e.message}`)));
  });
}

/** Debian's nginx (unpacked by scripts/fetch-nginx.ts) with Debian's nginx.conf moved into a scratch folder, the site and the real-IP list in its conf.d. */
async function scratchNginx(): Promise<{ nginx: string; dir: string; args: string[] }> {
  const fetch = fileURLToPath(new URL('../../scripts/fetch-nginx.ts', import.meta.url));
  const nginx = (await execa('node', ['--import', 'tsx', fetch], { timeout: 600_000 })).stdout.trim().split('\n').at(-1) as string;
  const root = join(nginx, '../../..');
  const dir = mkdtempSync(join(tmpdir(), 'nginx-'));
  cpSync(join(root, 'etc/nginx'), join(dir, 'etc'), { recursive: true });
  mkdirSync(join(dir, 'etc/conf.d'), { recursive: true });
  const list = validateAnswer({ status: 200, body: readFileSync(new URL('../../runbooks/familycart/files/cloudflare-ips.json', import.meta.url), 'utf8') });
  // The package's compiled-in temp paths (/var/lib/nginx/...) moved into the scratch folder.
  writeFileSync(join(dir, 'etc/conf.d/00-temp-paths.conf'), ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${dir}/${t};`).join('\n'));
  writeFileSync(join(dir, 'etc/conf.d/cloudflare-realip.conf'), nginxRealIp(list, 'the shipped list'));
  writeFileSync(join(dir, 'etc/conf.d/familycart.conf'), renderAsset('runbooks/familycart/files/nginx-familycart.conf', { SERVER_NAMES: 'app.familycart.app api.familycart.app' }));
  const conf = readFileSync(join(dir, 'etc/nginx.conf'), 'utf8')
    .replace(/^include \/etc\/nginx\/modules-enabled\/\*\.conf;$/m, '')
    .replace(/^user .*$/m, '')
    .replace(/^pid .*$/m, `pid ${dir}/nginx.pid;`)
    .replaceAll('/etc/nginx/', `${dir}/etc/`)
    .replaceAll('/var/log/nginx/', `${dir}/`);
  writeFileSync(join(dir, 'etc/nginx.conf'), conf);
  return { nginx, dir, args: ['-p', dir, '-c', join(dir, 'etc/nginx.conf'), '-e', join(dir, 'error.log')] };
}
