// familycart.smoke's checks against a local server standing in front of the app host: each check's
// verdict, the Host header kept while the connection is pinned, and a failure naming the check.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runSmoke, smokeConfig } from '../../runbooks/familycart/smoke.ts';

let server: http.Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

async function serve(routes: Record<string, [number, string]>): Promise<{ port: number; hosts: string[] }> {
  const hosts: string[] = [];
  server = http.createServer((req, res) => {
    hosts.push(req.headers.host ?? '');
    const [status, body] = routes[req.url ?? ''] ?? [404, 'not found'];
    res.statusCode = status;
    res.end(body);
  });
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as AddressInfo).port, hosts };
}

const config = (port: number) => smokeConfig.build({ PUBLIC_URL: 'http://familycart.test', SMOKE_DATA_PATH: '/api/v1/ready', CHECK_CONNECT_TO: `127.0.0.1:${port}`, CHECK_CA_FILE: '', CHECK_TIMEOUT_SECONDS: '5' });

describe('familycart.smoke', () => {
  it('passes the three checks against a healthy site, sending the public name as Host', async () => {
    const { port, hosts } = await serve({ '/': [200, '<html></html>'], '/health': [200, '{"status":"healthy","checks":{"cache":"healthy"}}'], '/api/v1/ready': [200, '{"database":"ok","cache":"ok"}'] });
    const lines = await runSmoke(config(port));
    expect(lines.map((l) => l.ok)).toEqual([true, true, true]);
    expect(new Set(hosts)).toEqual(new Set(['familycart.test']));
  });

  it('fails each check on its own: an unhealthy backend, a data route that cannot reach the database, a frontend error', async () => {
    const { port } = await serve({ '/': [502, 'bad gateway'], '/health': [200, '{"status":"unhealthy"}'], '/api/v1/ready': [503, '{"database":"connection refused"}'] });
    const lines = await runSmoke(config(port));
    expect(lines.map((l) => l.ok)).toEqual([false, false, false]);
    expect(lines[0]?.detail).toBe('answered 502');
    expect(lines[1]?.detail).toMatch(/unhealthy/);
    expect(lines[2]?.detail).toMatch(/503.*connection refused/);
  });

  it('a degraded cache still passes /health (as in a deploy); nothing listening fails every check with the reason', async () => {
    const { port } = await serve({ '/': [200, 'ok'], '/health': [200, '{"status":"healthy","checks":{"cache":"degraded"}}'], '/api/v1/ready': [200, '{}'] });
    expect((await runSmoke(config(port))).every((l) => l.ok)).toBe(true);
    await new Promise<void>((r) => server?.close(() => r()));
    server = undefined;
    const lines = await runSmoke(config(port));
    expect(lines.every((l) => !l.ok && /ECONNREFUSED/.test(l.detail))).toBe(true);
  });

  it('refuses a data path outside /api/ and a URL with a path', () => {
    expect(smokeConfig.vars.SMOKE_DATA_PATH?.check?.('/health')).toMatch(/under \/api\//);
    expect(smokeConfig.vars.PUBLIC_URL?.check?.('https://familycart.app/x')).toMatch(/without a path/);
    expect(smokeConfig.vars.PUBLIC_URL?.check?.('https://familycart.app')).toBeNull();
  });
});
