// Gratonite's ruleset under real nft, in network namespaces the test creates (as the FamilyCart
// test does): a client namespace with an admin address and an outside one, the host namespace with
// base-host's and Gratonite's files loaded as nftables.conf loads them, and a "container"
// namespace behind docker0 with Docker's published-port DNAT emulated in a table of its own.
import { beforeEach, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { exampleValues } from '../../lib/config/schema.ts';
import { readAsset, renderAsset } from '../../lib/core/assets.ts';
import { gratoniteConfig, type GratoniteConfig } from '../../runbooks/gratonite/config.ts';
import { firewallRules, securityListRules } from '../../runbooks/gratonite/firewall.ts';
import * as v from '../assets/validators.ts';
import { inNs, netns } from '../netns.ts';
import { spawnedProcesses } from './spawned.ts';

const procs = spawnedProcesses();
const example = gratoniteConfig.build(exampleValues(gratoniteConfig));
const cfg = (livekit: boolean): GratoniteConfig => ({ ...example, livekit, relay: { min: 49152, max: 49200 } });
const head = readAsset('nftables/nftables.conf').replace(/^include .*$/m, '');
const base = renderAsset('nftables/base-host.nft', { OPERATOR_V4_ELEMENTS: 'elements = { 198.51.100.0/24 }', OPERATOR_V6_ELEMENTS: '', SSH_PORT: '22' });
const ruleset = (livekit: boolean) => [head, base, firewallRules(cfg(livekit))].join('\n');

/** Docker's part for published ports, in its own table: DNAT to the container and a forward accept. */
const dockerStandin = (tcp: number[], udp: number[]) => `table ip docker-standin {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		${tcp.map((p) => `tcp dport ${p} dnat to 172.17.0.2:${p}`).join('\n\t\t')}
		${udp.map((p) => `udp dport ${p} dnat to 172.17.0.2:${p}`).join('\n\t\t')}
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		iifname "docker0" accept
		oifname "docker0" ip daddr 172.17.0.2 accept
	}
}
`;

// TCP and UDP servers answering their name; one process per namespace.
const SERVER = `const net=require('net'),dg=require('dgram');for(const a of process.argv.slice(1)){const[k,n]=a.split('=');const[pr,p]=k.split('/');if(pr==='tcp')net.createServer(s=>s.end(n)).listen(+p,'0.0.0.0');else{const u=dg.createSocket('udp4');u.on('message',(m,r)=>u.send(n,r.port,r.address));u.bind(+p,'0.0.0.0')}}setTimeout(()=>console.log('listening'),200)`;
// Tries each "src>proto/dst:port" with a 2 s bound; prints a JSON map of what answered.
const CLIENT = `const net=require('net'),dg=require('dgram');Promise.all(process.argv.slice(1).map(t=>new Promise(r=>{const[src,d]=t.split('>');const[pr,hp]=d.split('/');const[h,p]=hp.split(':');if(pr==='tcp'){const s=net.connect({host:h,port:+p,localAddress:src});let g='';s.setTimeout(2000,()=>{s.destroy();r([t,'timeout'])});s.on('data',b=>g+=b);s.on('end',()=>r([t,g]));s.on('error',e=>r([t,e.code]))}else{const u=dg.createSocket('udp4');u.bind(0,src,()=>{const to=setTimeout(()=>{u.close();r([t,'timeout'])},2000);u.on('message',m=>{clearTimeout(to);u.close();r([t,String(m)])});u.send('x',+p,h)})}}))).then(x=>console.log(JSON.stringify(Object.fromEntries(x))))`;

const ADMIN = '198.51.100.7';
const OUT = '203.0.113.10';
const HOST = '203.0.113.1';

async function lab() {
  const [client, host, box] = [await netns(procs), await netns(procs), await netns(procs)];
  await inNs(host, ['ip', 'link', 'add', 'c0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', String(client.pid)]);
  await inNs(host, ['ip', 'link', 'add', 'docker0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', String(box.pid)]);
  for (const a of ['203.0.113.1/24', '198.51.100.1/24']) await inNs(host, ['ip', 'addr', 'add', a, 'dev', 'c0']);
  for (const a of [`${OUT}/24`, `${ADMIN}/24`]) await inNs(client, ['ip', 'addr', 'add', a, 'dev', 'eth0']);
  await inNs(host, ['ip', 'addr', 'add', '172.17.0.1/16', 'dev', 'docker0']);
  await inNs(box, ['ip', 'addr', 'add', '172.17.0.2/16', 'dev', 'eth0']);
  for (const [ns, dev] of [[host, 'c0'], [host, 'docker0'], [host, 'lo'], [client, 'eth0'], [client, 'lo'], [box, 'eth0'], [box, 'lo']] as const) await inNs(ns, ['ip', 'link', 'set', dev, 'up']);
  await inNs(box, ['ip', 'route', 'add', 'default', 'via', '172.17.0.1']);
  await inNs(host, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  return { client, host, box };
}

async function serve(ns: { run: string[] }, specs: Record<string, string>): Promise<void> {
  const p = execa(ns.run[0] as string, [...ns.run.slice(1), 'node', '-e', SERVER, ...Object.entries(specs).map(([k, n]) => `${k}=${n}`)]);
  procs.push(p);
  await new Promise<void>((res, rej) => {
    let out = '';
    p.stdout?.on('data', (b: Buffer) => ((out += String(b)), out.includes('listening') && res()));
    p.catch((e: Error) => rej(new Error(`the test server stopped: ${e.message}`)));
  });
}

describe('gratonite ruleset', () => {
  it.each([false, true])('nft -c accepts the whole table (LiveKit %s)', async (lk) => {
    const r = await v.nftables(ruleset(lk));
    expect(r.output).toBe('');
    expect(r.ok).toBe(true);
  });

  it('the security-list rules mirror it: SSH from the admin CIDRs, the relay range on UDP, LiveKit only when enabled', () => {
    const ports = (lk: boolean) => securityListRules(cfg(lk)).map((r) => { const x = r as { protocol: string; source: string; tcpOptions?: { destinationPortRange: { min: number; max: number } }; udpOptions?: { destinationPortRange: { min: number; max: number } } }; const o = x.tcpOptions ?? x.udpOptions; return `${x.protocol === '6' ? 'tcp' : 'udp'} ${o?.destinationPortRange.min}-${o?.destinationPortRange.max} ${x.source}`; });
    expect(ports(false)).toEqual(['tcp 22-22 198.51.100.0/24', 'tcp 80-80 0.0.0.0/0', 'tcp 443-443 0.0.0.0/0', 'tcp 3478-3478 0.0.0.0/0', 'udp 3478-3478 0.0.0.0/0', 'tcp 5349-5349 0.0.0.0/0', 'udp 49152-49200 0.0.0.0/0']);
    expect(ports(true).slice(-3)).toEqual(['tcp 7880-7880 0.0.0.0/0', 'tcp 7881-7881 0.0.0.0/0', 'udp 7882-7882 0.0.0.0/0']);
  });
});

describe('what is open from outside, host and forward paths', () => {
  let l: Awaited<ReturnType<typeof lab>>;
  beforeEach(async () => {
    l = await lab();
    await serve(l.host, { 'tcp/22': 'ssh', 'tcp/80': 'caddy-80', 'tcp/443': 'caddy-443', 'tcp/3478': 'turn-tcp', 'udp/3478': 'turn-udp', 'udp/49160': 'relay', 'udp/49300': 'past-relay', 'tcp/4000': 'api-on-host', 'tcp/5432': 'postgres-on-host' });
    await serve(l.box, { 'tcp/7880': 'livekit', 'tcp/7881': 'livekit-tcp', 'udp/7882': 'livekit-udp', 'tcp/9000': 'minio' });
    await inNs(l.host, ['nft', '-f', '-'], dockerStandin([7880, 7881, 9000], [7882]));
  }, 60_000);

  const tries = [`${OUT}>tcp/${HOST}:22`, `${ADMIN}>tcp/${HOST}:22`, `${OUT}>tcp/${HOST}:80`, `${OUT}>tcp/${HOST}:443`, `${OUT}>tcp/${HOST}:3478`, `${OUT}>udp/${HOST}:3478`, `${OUT}>udp/${HOST}:49160`, `${OUT}>udp/${HOST}:49300`, `${OUT}>tcp/${HOST}:4000`, `${OUT}>tcp/${HOST}:5432`, `${OUT}>tcp/${HOST}:7880`, `${OUT}>tcp/${HOST}:7881`, `${OUT}>udp/${HOST}:7882`, `${OUT}>tcp/${HOST}:9000`];
  const probe = async () => JSON.parse(await inNs(l.client, ['node', '-e', CLIENT, ...tries])) as Record<string, string>;
  const load = (lk: boolean) => inNs(l.host, ['nft', '-f', '-'], ruleset(lk));
  const short = (r: Record<string, string>) => Object.fromEntries(Object.entries(r).map(([k, x]) => [k.replace(`>`, ' ').replace(`/${HOST}:`, ' '), x]));

  it('LiveKit disabled: SSH only from the admin CIDR; 80, 443 and TURN (with the relay range) open; everything else closed, published ports too', async () => {
    await load(false);
    expect(short(await probe())).toEqual({
      [`${OUT} tcp 22`]: 'timeout',
      [`${ADMIN} tcp 22`]: 'ssh',
      [`${OUT} tcp 80`]: 'caddy-80',
      [`${OUT} tcp 443`]: 'caddy-443',
      [`${OUT} tcp 3478`]: 'turn-tcp',
      [`${OUT} udp 3478`]: 'turn-udp',
      [`${OUT} udp 49160`]: 'relay',
      [`${OUT} udp 49300`]: 'timeout',
      [`${OUT} tcp 4000`]: 'timeout',
      [`${OUT} tcp 5432`]: 'timeout',
      [`${OUT} tcp 7880`]: 'timeout',
      [`${OUT} tcp 7881`]: 'timeout',
      [`${OUT} udp 7882`]: 'timeout',
      [`${OUT} tcp 9000`]: 'timeout',
    });
  }, 60_000);

  it('LiveKit enabled: its three published ports open through the forward path; MinIO\'s stays closed', async () => {
    await load(true);
    const r = short(await probe());
    expect([r[`${OUT} tcp 7880`], r[`${OUT} tcp 7881`], r[`${OUT} udp 7882`], r[`${OUT} tcp 9000`], r[`${OUT} tcp 4000`]]).toEqual(['livekit', 'livekit-tcp', 'livekit-udp', 'timeout', 'timeout']);
  }, 60_000);
});
