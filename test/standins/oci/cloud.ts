// TEST STAND-IN, NOT THE PRODUCT.
//
// The stand-in cloud behind the OCI CLI stand-in: one long-running process over the state folder
// (cloud-state.ts) that does what OCI does by itself after an API call returns:
//   - instance pools keep `size` members: new ones boot from the pool's instance configuration
//     (a TriviaPay API stand-in on 127.0.0.N and the attachment's port, running the configuration's
//     image tag), extra ones are terminated oldest first; a pool attached to a load balancer
//     registers a member as a backend once it runs and deregisters it when it leaves;
//   - the load balancer health-checks every backend with its backend set's interval, timeout and
//     retries (OK after `retries` passing probes in a row, CRITICAL after `retries` failures),
//     proxies HTTP to OK backends that are neither draining nor offline (lb-proxy.ts), and appends
//     the serving count to lb-health.jsonl whenever it changes.
// Image behaviour comes from OCI_STANDIN_ROOT/images.json: {"TAG": {"healthStatus": 503}}.
//
//   node --import tsx cloud.ts   (env OCI_STANDIN_ROOT; LB_PORT: the proxy's port on 127.0.0.1)
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { type Api, startApi } from '../triviapay/api.ts';
import { type BackendHealthState, type CloudState, healthKey, imageOf, readState, updateState } from './cloud-state.ts';
import { startLbProxy } from './lb-proxy.ts';

const root = process.env.OCI_STANDIN_ROOT;
if (!root) throw new Error('OCI_STANDIN_ROOT is not set');
const TICK_MS = 20;

const servers = new Map<string, Api | 'starting'>();
const probes = new Map<string, { next: number; ok: number; bad: number; status: BackendHealthState['status']; last: string; since: number; running: boolean }>();
let lastServing = -1;
let snapshot: CloudState = readState(root);

const images = (): Record<string, { healthStatus?: number }> => {
  const f = join(root, 'images.json');
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as Record<string, { healthStatus?: number }>) : {};
};

function reconcile(s: CloudState): void {
  const now = Date.now();
  for (const p of Object.values(s.pools)) {
    const members = Object.values(s.instances).filter((i) => i.poolId === p.id && (i.state === 'Provisioning' || i.state === 'Running'));
    for (let n = members.length; n < p.size; n++) {
      const host = s.nextHost++;
      const id = `ocid1.instance.oc1.iad.standin${String(host).padStart(4, '0')}${Math.random().toString(36).slice(2, 10)}`;
      s.instances[id] = { id, poolId: p.id, compartmentId: p.compartmentId, configId: p.instanceConfigurationId, displayName: `inst-${id.slice(-5)}-${p.displayName}`, ip: `127.0.0.${host}`, subnetId: p.subnetId, image: imageOf(s.configs[p.instanceConfigurationId]), state: 'Provisioning', nextAt: now + s.bootMs, faultDomain: `FAULT-DOMAIN-${(host % 3) + 1}`, timeCreated: new Date().toISOString() };
    }
    const extra = members.length - p.size;
    if (extra > 0) {
      for (const i of members.sort((a, b) => a.timeCreated.localeCompare(b.timeCreated)).slice(0, extra)) {
        i.state = 'Terminating';
        i.nextAt = now + s.terminateMs;
        for (const a of p.loadBalancers) deregister(s, a.loadBalancerId, a.backendSetName, `${i.ip}:${a.port}`);
      }
    }
  }
  for (const i of Object.values(s.instances)) {
    const pool = i.poolId ? s.pools[i.poolId] : undefined;
    const port = pool?.loadBalancers[0]?.port ?? 8000;
    if (i.state === 'Provisioning' && now >= i.nextAt) {
      const srv = servers.get(i.id);
      if (!srv) {
        servers.set(i.id, 'starting');
        startApi({ host: i.ip, port, tag: i.image, healthStatus: images()[i.image]?.healthStatus }).then(
          (api) => servers.set(i.id, api),
          (err: unknown) => process.stderr.write(`cloud: ${i.ip}:${port} did not start: ${String(err)}\n`),
        );
      } else if (srv !== 'starting') {
        i.state = 'Running';
        for (const a of pool?.loadBalancers ?? []) {
          const bs = s.lbs[a.loadBalancerId]?.backendSets[a.backendSetName];
          if (bs && !bs.backends[`${i.ip}:${a.port}`]) bs.backends[`${i.ip}:${a.port}`] = { ipAddress: i.ip, port: a.port, weight: 1, backup: false, drain: false, offline: false, maxConnections: null };
        }
      }
    }
    if (i.state === 'Terminating' && now >= i.nextAt) i.state = 'Terminated';
    if (i.state === 'Terminated') stopServer(i.id);
  }
}

function deregister(s: CloudState, lbId: string, bs: string, name: string): void {
  const set = s.lbs[lbId]?.backendSets[bs];
  if (set) delete set.backends[name];
  delete s.health[healthKey(lbId, bs, name)];
}

function stopServer(id: string): void {
  const srv = servers.get(id);
  if (srv && srv !== 'starting') {
    servers.delete(id);
    void srv.close();
  }
}

/** One probe per backend per interval; results land in the state at the next tick. */
function probeAll(s: CloudState): void {
  const now = Date.now();
  const seen = new Set<string>();
  for (const lb of Object.values(s.lbs)) {
    for (const bs of Object.values(lb.backendSets)) {
      const hc = bs.healthChecker;
      for (const [name, b] of Object.entries(bs.backends)) {
        const key = healthKey(lb.id, bs.name, name);
        seen.add(key);
        let p = probes.get(key);
        if (!p) probes.set(key, (p = { next: now, ok: 0, bad: 0, status: 'UNKNOWN', last: 'UNKNOWN', since: now, running: false }));
        if (p.running || now < p.next) continue;
        p.running = true;
        p.next = now + hc.intervalMs;
        const probe = p;
        probeOnce(b.ipAddress, hc.port || b.port, hc.urlPath, hc.timeoutMs, hc.returnCode).then((res) => {
          probe.running = false;
          probe.last = res;
          if (res === 'OK') {
            probe.ok++;
            probe.bad = 0;
          } else {
            probe.bad++;
            probe.ok = 0;
          }
          const next = probe.ok >= hc.retries ? 'OK' : probe.bad >= hc.retries ? 'CRITICAL' : probe.status;
          if (next !== probe.status) {
            probe.status = next;
            probe.since = Date.now();
          }
        }, () => undefined);
      }
    }
  }
  for (const k of probes.keys()) if (!seen.has(k)) probes.delete(k);
}

function probeOnce(host: string, port: number, path: string, timeoutMs: number, want: number): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ host, port, path, method: 'GET', timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === want ? 'OK' : 'INVALID_STATUS_CODE');
    });
    req.on('timeout', () => {
      req.destroy();
      resolve('TIMED_OUT');
    });
    req.on('error', () => resolve('CONNECT_FAILED'));
    req.end();
  });
}

function writeHealth(s: CloudState): void {
  for (const [key, p] of probes) {
    const cur = s.health[key];
    if (!cur || cur.status !== p.status || cur.last !== p.last) s.health[key] = { status: p.status, last: p.last, at: new Date().toISOString(), since: p.since };
  }
  let serving = 0;
  for (const lb of Object.values(s.lbs))
    for (const bs of Object.values(lb.backendSets))
      for (const [name, b] of Object.entries(bs.backends)) if (!b.drain && !b.offline && s.health[healthKey(lb.id, bs.name, name)]?.status === 'OK') serving++;
  if (serving !== lastServing) {
    lastServing = serving;
    appendFileSync(join(root as string, 'lb-health.jsonl'), `${JSON.stringify({ t: Date.now(), serving })}\n`);
  }
}

const lbPort = Number(process.env.LB_PORT ?? 0);
const proxy = await startLbProxy(lbPort, () => snapshot);
process.stdout.write(`cloud ready lb=127.0.0.1:${proxy.port}\n`);

const timer = setInterval(() => {
  try {
    snapshot = updateState(root, (s) => {
      reconcile(s);
      writeHealth(s);
      return s;
    });
    probeAll(snapshot);
    proxy.enforce(snapshot);
  } catch (e) {
    process.stderr.write(`cloud tick: ${String(e)}\n`);
  }
}, TICK_MS);

const stop = () => {
  clearInterval(timer);
  for (const id of servers.keys()) stopServer(id);
  proxy.close();
  setTimeout(() => process.exit(0), 50).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
