// TEST STAND-IN, NOT THE PRODUCT.
//
// The TriviaPay API as the load balancer and the smoke checks see it: `GET /health` answers 200
// `{"status":"healthy"}` (the real FastAPI app checks nothing there), `GET /slow?ms=N` answers after
// N ms (an in-flight request for drain tests), anything else answers its image tag. An image tag
// can be made unhealthy: /health then answers 503. Node built-ins only.
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';

export interface ApiOptions {
  host: string;
  port: number;
  tag: string;
  /** Status /health answers (200 = healthy). */
  healthStatus?: number;
}

export interface Api {
  server: Server;
  /** Stops listening and cuts open connections (the instance is gone). */
  close(): Promise<void>;
}

export function startApi(o: ApiOptions): Promise<Api> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'x-image-tag': o.tag, 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/health') {
      const st = o.healthStatus ?? 200;
      return send(st, st === 200 ? { status: 'healthy' } : { status: 'unhealthy' });
    }
    if (url.pathname === '/slow') {
      const ms = Math.min(Number(url.searchParams.get('ms') ?? 1000), 120_000);
      const t = setTimeout(() => send(200, { tag: o.tag, ms }), ms);
      res.on('close', () => clearTimeout(t));
      return;
    }
    return send(200, { tag: o.tag, path: url.pathname });
  });
  server.keepAliveTimeout = 1_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve({
        server,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}

// Standalone: node --import tsx api.ts HOST PORT TAG [HEALTH_STATUS]
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '') && process.argv.length >= 5) {
  const [host, port, tag, health] = process.argv.slice(2) as [string, string, string, string | undefined];
  void startApi({ host, port: Number(port), tag, healthStatus: health ? Number(health) : 200 }).then(() => process.stdout.write(`listening ${host}:${port} ${tag}\n`));
}
