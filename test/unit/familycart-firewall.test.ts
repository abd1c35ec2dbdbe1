// The FamilyCart rulesets under real nft, in network namespaces the test creates: a client
// namespace with one address inside the allowlist and one outside, the host namespace with the
// runbooks' table loaded as /etc/nftables.conf would load it, and a "container" namespace behind a
// bridge-side interface named docker0. Docker itself is not run here: its published port is
// emulated by what Docker installs for one, a DNAT in prerouting and a forward accept, in a table of
// its own ("docker-standin"), so the test shows our chain holds against Docker's accept.
import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import { readAsset, renderAsset } from '../../lib/core/assets.ts';
import { setsFile } from '../../runbooks/familycart/tools/render.ts';
import { validateAnswer } from '../../runbooks/familycart/tools/answer.ts';
import { inNs, netns } from '../netns.ts';
import { spawnedProcesses } from './spawned.ts';
import * as v from '../assets/validators.ts';
import { execa } from 'execa';

const procs = spawnedProcesses();
const shipped = validateAnswer({ status: 200, body: readFileSync(new URL('../../runbooks/familycart/files/cloudflare-ips.json', import.meta.url), 'utf8') });
const head = readAsset('nftables/nftables.conf').replace(/^include .*$/m, '');
const base = renderAsset('nftables/base-host.nft', { OPERATOR_V4_ELEMENTS: 'elements = { 198.51.100.0/24 }', OPERATOR_V6_ELEMENTS: '', SSH_PORT: '22' });
/** The app host's whole table as nftables.conf loads it: 10-base-host, 12-cloudflare, 20-familycart-app. */
const appRuleset = () => [head, base, setsFile({ ...shipped }, 'the shipped list'), readAsset('nftables/familycart-app.nft')].join('\n');
const statefulRuleset = () => [head, base, renderAsset('nftables/familycart-stateful.nft', { APP_V4_ELEMENTS: 'elements = { 10.0.0.20/32 }' })].join('\n');

/** What Docker installs for a published port, in its own table: DNAT, and forward accept to the container. */
const dockerStandin = (port: number) => `table ip docker-standin {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		tcp dport ${port} dnat to 172.17.0.2:${port}
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		iifname "docker0" accept
		oifname "docker0" ip daddr 172.17.0.2 tcp dport ${port} accept
	}
}
`;

// Listens on each port and answers with its name; one process per namespace.
const SERVER = `const net=require('net');for(const a of process.argv.slice(1)){const[p,n]=a.split('=');net.createServer(s=>{s.end(n)}).listen(Number(p),'0.0.0.0')}console.log('listening')`;
// Tries each "src>dst:port" with a 2 s bound; prints a JSON map of what answered ("timeout" when dropped).
const CLIENT = `const net=require('net');Promise.all(process.argv.slice(1).map(t=>new Promise(r=>{const[src,d]=t.split('>');const[h,p]=d.split(':');const s=net.connect({host:h,port:Number(p),localAddress:src});let got='';s.setTimeout(2000,()=>{s.destroy();r([t,'timeout'])});s.on('data',b=>got+=b);s.on('end',()=>r([t,got]));s.on('error',e=>r([t,e.code]))}))).then(x=>console.log(JSON.stringify(Object.fromEntries(x))))`;

interface Lab {
  client: { run: string[] };
  host: { run: string[] };
  box: { run: string[] };
}

/** client(eth0) <-> host(c0) ; host(docker0) <-> box(eth0) 172.17.0.2 behind 172.17.0.1. */
async function lab(clientAddrs: string[], hostAddrs: string[]): Promise<Lab> {
  const [client, host, box] = [await netns(procs), await netns(procs), await netns(procs)];
  await inNs(host, ['ip', 'link', 'add', 'c0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', String(client.pid)]);
  await inNs(host, ['ip', 'link', 'add', 'docker0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', String(box.pid)]);
  for (const a of hostAddrs) await inNs(host, ['ip', 'addr', 'add', a, 'dev', 'c0']);
  for (const a of clientAddrs) await inNs(client, ['ip', 'addr', 'add', a, 'dev', 'eth0']);
  await inNs(host, ['ip', 'addr', 'add', '172.17.0.1/16', 'dev', 'docker0']);
  await inNs(box, ['ip', 'addr', 'add', '172.17.0.2/16', 'dev', 'eth0']);
  for (const [ns, dev] of [[host, 'c0'], [host, 'docker0'], [host, 'lo'], [client, 'eth0'], [client, 'lo'], [box, 'eth0'], [box, 'lo']] as const) await inNs(ns, ['ip', 'link', 'set', dev, 'up']);
  await inNs(box, ['ip', 'route', 'add', 'default', 'via', '172.17.0.1']);
  await inNs(client, ['ip', 'route', 'add', '172.17.0.0/16', 'via', (hostAddrs[0] as string).split('/')[0] as string]);
  await inNs(host, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  return { client, host, box };
}

async function serve(ns: { run: string[] }, ports: Record<number, string>): Promise<void> {
  const p = execa(ns.run[0] as string, [...ns.run.slice(1), 'node', '-e', SERVER, ...Object.entries(ports).map(([k, n]) => `${k}=${n}`)]);
  procs.push(p);
  // Read stdout as a stream: leaving a for-await over execa's iterable() early waits for the process.
  await new Promise<void>((res, rej) => {
    let out = '';
    p.stdout?.on('data', (b: Buffer) => {
      out += String(b);
      if (out.includes('listening')) res();
    });
    p.catch((e: Error) => rej(new Error(`the test server stopped: ${e.message}`)));
  });
}

const tryAll = async (l: Lab, tries: string[]) => JSON.parse(await inNs(l.client, ['node', '-e', CLIENT, ...tries])) as Record<string, string>;
const load = (l: Lab, text: string) => inNs(l.host, ['nft', '-f', '-'], text);

describe('FamilyCart rulesets', () => {
  it.each([['app', appRuleset], ['stateful', statefulRuleset]] as const)('nft -c accepts the %s host table as nftables.conf loads it', async (_n, r) => {
    const out = await v.nftables(r());
    expect(out.output).toBe('');
    expect(out.ok).toBe(true);
  });
});

describe('app host: only Cloudflare reaches nginx and the ports Docker publishes', () => {
  const IN = '173.245.48.10'; // inside cf_v4 (173.245.48.0/20)
  const OUT = '203.0.113.10';
  const HOST = '173.245.48.1';
  let l: Lab;
  beforeEach(async () => {
    l = await lab([`${IN}/20`, `${OUT}/24`], ['173.245.48.1/20', '203.0.113.1/24']);
    await serve(l.host, { 80: 'nginx-on-host' });
    await serve(l.box, { 443: 'published-443', 8443: 'unpublished' });
    await load(l, dockerStandin(443));
  }, 60_000);

  it('without the runbooks\' table, Docker\'s published port admits anyone (what the forward chain is for)', async () => {
    const r = await tryAll(l, [`${OUT}>${HOST}:443`, `${OUT}>172.17.0.2:443`]);
    expect(r).toEqual({ [`${OUT}>${HOST}:443`]: 'published-443', [`${OUT}>172.17.0.2:443`]: 'published-443' });
  }, 60_000);

  it('with it: a source outside the allowlist reaches neither nginx nor the published port; one inside reaches both', async () => {
    await load(l, appRuleset());
    const r = await tryAll(l, [`${OUT}>${HOST}:80`, `${OUT}>${HOST}:443`, `${OUT}>172.17.0.2:443`, `${IN}>${HOST}:80`, `${IN}>${HOST}:443`, `${IN}>172.17.0.2:443`]);
    expect(r).toEqual({
      [`${OUT}>${HOST}:80`]: 'timeout',
      [`${OUT}>${HOST}:443`]: 'timeout',
      [`${OUT}>172.17.0.2:443`]: 'timeout',
      [`${IN}>${HOST}:80`]: 'nginx-on-host',
      [`${IN}>${HOST}:443`]: 'published-443',
      // Routed straight at the container, not through the published port (no DNAT): Docker's rules
      // accept it, ours drop it, even from Cloudflare.
      [`${IN}>172.17.0.2:443`]: 'timeout',
    });
    // The container still reaches out (its own traffic is left to Docker's rules).
    await serve(l.client, { 9000: 'outside-service' });
    expect(JSON.parse(await inNs(l.box, ['node', '-e', CLIENT, `172.17.0.2>${OUT}:9000`]))).toEqual({ [`172.17.0.2>${OUT}:9000`]: 'outside-service' });
  }, 60_000);

  it('with the Cloudflare sets empty, nobody gets in (closed, never open)', async () => {
    await load(l, appRuleset().replace(/elements = \{[^}]*\}/g, ''));
    const r = await tryAll(l, [`${IN}>${HOST}:80`, `${IN}>${HOST}:443`]);
    expect(r).toEqual({ [`${IN}>${HOST}:80`]: 'timeout', [`${IN}>${HOST}:443`]: 'timeout' });
  }, 60_000);
});

describe('stateful host: PostgreSQL and Redis only from the app host', () => {
  const APP = '10.0.0.20';
  const OTHER = '10.0.0.99';
  const HOST = '10.0.0.10';
  let l: Lab;
  beforeEach(async () => {
    l = await lab([`${APP}/24`, `${OTHER}/24`], [`${HOST}/24`]);
    await serve(l.host, { 6379: 'redis-on-host' });
    await serve(l.box, { 5432: 'postgres-published' });
    await load(l, dockerStandin(5432));
    await load(l, statefulRuleset());
  }, 60_000);

  it('admits the app host\'s private address on both paths and nothing else', async () => {
    const r = await tryAll(l, [`${APP}>${HOST}:5432`, `${APP}>${HOST}:6379`, `${OTHER}>${HOST}:5432`, `${OTHER}>${HOST}:6379`, `${OTHER}>${HOST}:22`]);
    expect(r).toEqual({
      [`${APP}>${HOST}:5432`]: 'postgres-published',
      [`${APP}>${HOST}:6379`]: 'redis-on-host',
      [`${OTHER}>${HOST}:5432`]: 'timeout',
      [`${OTHER}>${HOST}:6379`]: 'timeout',
      [`${OTHER}>${HOST}:22`]: 'timeout',
    });
  }, 60_000);
});
