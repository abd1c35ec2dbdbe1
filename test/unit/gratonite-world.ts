// Gratonite stand-ins (API and web) and a real coturn (Debian's turnserver) on 127.0.0.1, each on
// a free port, for the smoke and gate tests. Every process is stopped by its PID after each test.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { SmokeTarget } from '../../runbooks/gratonite/smoke/checks.ts';
import { freePort } from '../../lib/vm/free-port.ts';
import { turnserverBin } from './test-servers.ts';

const API = new URL('../standins/gratonite/api.ts', import.meta.url).pathname;
const WEB = new URL('../standins/gratonite/web.ts', import.meta.url).pathname;

/** Starts a process and resolves once it printed `marker` (bounded). */
export async function started(procs: ResultPromise[], file: string, args: string[], env: Record<string, string>, marker: RegExp, what: string): Promise<string> {
  const p = execa(file, args, { env: { ...process.env, ...env }, all: true, reject: false });
  procs.push(p);
  return new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`${what} did not start within 30 s: ${out}`)), 30_000);
    p.all?.on('data', (b: Buffer) => {
      out += String(b);
      const m = marker.exec(out);
      if (m) (clearTimeout(t), resolve(m[1] ?? m[0]));
    });
    void p.then((r) => (clearTimeout(t), reject(new Error(`${what} exited ${r.exitCode}: ${out}`))));
  });
}

export const TURN_USER = 'smoketurnuser';
export const TURN_PASS = 'smoke-turn-password-not-secret';

export async function world(procs: ResultPromise[], o: { health?: 'ok' | 'degraded'; turnPassword?: string; origin?: string; cdn?: string } = {}): Promise<SmokeTarget & { ports: { api: number; web: number } }> {
  const [apiPort, webPort, turnPort] = [await freePort(), await freePort(), await freePort()];
  const origin = o.origin ?? `http://127.0.0.1:${webPort}`;
  const api = `http://127.0.0.1:${apiPort}`;
  await started(procs, process.execPath, ['--import', 'tsx', API], { PORT: String(apiPort), HOST: '127.0.0.1', CORS_ORIGIN: origin, CDN_BASE_URL: o.cdn ?? api, JWT_SECRET: 'standin-jwt', DATABASE_URL: 'postgres://standin', STANDIN_HEALTH: o.health ?? 'ok' }, /listening on/, 'the API stand-in');
  await started(procs, process.execPath, ['--import', 'tsx', WEB], { PORT: String(webPort), HOST: '127.0.0.1', VITE_API_URL: api }, /listening on/, 'the web stand-in');
  const dir = mkdtempSync(join(tmpdir(), 'turn-'));
  const relay = 50000 + (turnPort % 10000);
  writeFileSync(join(dir, 'turnserver.conf'), [`listening-ip=127.0.0.1`, `relay-ip=127.0.0.1`, `listening-port=${turnPort}`, `min-port=${relay}`, `max-port=${relay + 20}`, 'realm=smoke.test', 'fingerprint', 'lt-cred-mech', `user=${TURN_USER}:${TURN_PASS}`, 'no-tls', 'no-dtls', 'no-cli', `userdb=${join(dir, 'turndb')}`, `pidfile=${join(dir, 'turn.pid')}`, 'log-file=stdout', 'simple-log', ''].join('\n'));
  await started(procs, turnserverBin(), ['-c', join(dir, 'turnserver.conf')], {}, /(?:Total General servers|IPv4\. TCP listener opened on|listener opened on)/, 'turnserver');
  return { ports: { api: apiPort, web: webPort }, app: origin, api, cdn: api, reach: { timeoutMs: 5_000 }, turn: { host: '127.0.0.1', port: turnPort, username: TURN_USER, password: o.turnPassword ?? TURN_PASS } };
}
