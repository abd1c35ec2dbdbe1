// TEST STAND-IN, NOT THE PRODUCT.
//
// The stand-in load balancer's data path: an HTTP listener on 127.0.0.1 that sends each new
// request to the next OK backend (round robin) that is neither draining nor offline; backup
// backends only when no other is OK. Draining stops new requests while requests in flight finish;
// a backend set offline, or removed (detached, terminated), has its requests in flight cut, as OCI
// does. With no backend to take it, a request gets 502.
import { type IncomingMessage, type ServerResponse, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CloudState, healthKey } from './cloud-state.ts';

export interface LbProxy {
  port: number;
  /** Cuts requests in flight to backends that went offline or away. */
  enforce(s: CloudState): void;
  close(): void;
}

export async function startLbProxy(port: number, state: () => CloudState): Promise<LbProxy> {
  const inflight = new Map<string, Set<() => void>>();
  let rr = 0;

  const pick = (): { name: string; ip: string; port: number } | null => {
    const s = state();
    const lb = Object.values(s.lbs)[0];
    if (!lb) return null;
    const all = Object.values(lb.backendSets).flatMap((bs) => Object.entries(bs.backends).map(([name, b]) => ({ name, b, ok: s.health[healthKey(lb.id, bs.name, name)]?.status === 'OK' && !b.drain && !b.offline })));
    const primary = all.filter((x) => x.ok && !x.b.backup);
    const pool = primary.length ? primary : all.filter((x) => x.ok && x.b.backup);
    if (!pool.length) return null;
    const c = pool[rr++ % pool.length] as (typeof pool)[number];
    return { name: c.name, ip: c.b.ipAddress, port: c.b.port };
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const to = pick();
    if (!to) {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('no healthy backend\n');
      return;
    }
    const up = request({ host: to.ip, port: to.port, path: req.url, method: req.method, headers: { ...req.headers, 'x-forwarded-for': req.socket.remoteAddress ?? '' }, agent: false }, (ures) => {
      res.writeHead(ures.statusCode ?? 502, { ...ures.headers, 'x-backend': to.name });
      ures.pipe(res);
    });
    const cut = () => {
      up.destroy(new Error('backend removed'));
      res.destroy();
    };
    const set = inflight.get(to.name) ?? new Set();
    inflight.set(to.name, set.add(cut));
    const done = () => set.delete(cut);
    res.on('close', done);
    up.on('error', () => {
      done();
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end('backend error\n');
      } else res.destroy();
    });
    req.pipe(up);
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));

  return {
    port: (server.address() as AddressInfo).port,
    enforce(s) {
      const lb = Object.values(s.lbs)[0];
      if (!lb) return;
      const live = new Set(Object.values(lb.backendSets).flatMap((bs) => Object.entries(bs.backends).filter(([, b]) => !b.offline).map(([n]) => n)));
      for (const [name, cuts] of inflight) {
        if (live.has(name)) continue;
        for (const c of cuts) c();
        inflight.delete(name);
      }
    },
    close() {
      server.close();
      server.closeAllConnections();
    },
  };
}
