// The shipped Caddyfile (local-CA variant) run by Debian's real caddy in front of the Gratonite
// stand-ins: redirects to HTTPS, HSTS, only the files route on cdn., and the whole smoke checklist
// through it, websocket included. The test moves Caddy's listeners and upstreams to free ports
// on 127.0.0.1 and its storage to a scratch folder; nothing else in the file changes.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exampleValues } from '../../lib/config/schema.ts';
import { Secret } from '../../lib/core/secret.ts';
import { runSteps } from '../../lib/engine/engine.ts';
import type { EngineEvent } from '../../lib/engine/types.ts';
import { recorder } from '../../lib/render/tty.ts';
import { smoke } from '../../runbooks/gratonite/index.ts';
import { ScriptedExecutor } from './fakes.ts';
import { gratoniteConfig } from '../../runbooks/gratonite/config.ts';
import { LOG_DIR, caddyfile } from '../../runbooks/gratonite/env-files.ts';
import { request } from '../../lib/core/http-client.ts';
import { runSmoke, uploadGate } from '../../runbooks/gratonite/smoke/checks.ts';
import { websocketOpens } from '../../runbooks/gratonite/smoke/realtime.ts';
import { freePort } from '../../lib/vm/free-port.ts';
import { spawnedProcesses } from './spawned.ts';
import { TURN_PASS, TURN_USER, started, world } from './gratonite-world.ts';
import { caddyBin } from './test-servers.ts';

const procs = spawnedProcesses();
const c = gratoniteConfig.build(exampleValues(gratoniteConfig));
const [APP, API, CDN] = [`https://${c.hosts.app}`, `https://${c.hosts.api}`, `https://${c.hosts.cdn}`];

async function proxied(health: 'ok' | 'degraded' = 'ok') {
  const w = await world(procs, { origin: APP, cdn: CDN, health });
  const [http, https] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'caddy-run-'));
  const text = caddyfile({ ...c, tlsIssuer: 'local' })
    .replace('{\n\tlocal_certs', `{\n\thttp_port ${http}\n\thttps_port ${https}\n\tadmin off\n\tlocal_certs`)
    .replaceAll('127.0.0.1:4000', `127.0.0.1:${w.ports.api}`)
    .replaceAll('127.0.0.1:8080', `127.0.0.1:${w.ports.web}`)
    .replaceAll(LOG_DIR, dir);
  writeFileSync(join(dir, 'Caddyfile'), text);
  await started(procs, caddyBin(), ['run', '--adapter', 'caddyfile', '--config', join(dir, 'Caddyfile')], { HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir }, /serving initial configuration/, 'caddy');
  const root = join(dir, 'caddy/pki/authorities/local/root.crt');
  for (let i = 0; i < 100 && !existsSync(root); i++) await new Promise((r) => setTimeout(r, 100));
  const reach = { connectTo: `127.0.0.1:${https}`, ca: readFileSync(root, 'utf8'), timeoutMs: 10_000 };
  // Caddy issues the local certificates after it starts serving: poll until each name's is there.
  for (const name of [APP, API, CDN]) {
    for (let i = 0; ; i++) {
      const ok = await request(`${name}/`, reach).then(() => true, (e: Error) => (i >= 150 ? Promise.reject(new Error(`${name}: no TLS within 30 s: ${e.message}`)) : false));
      if (ok) break;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return { w, reach, http, https, root };
}

describe('the Caddyfile in front of the stand-ins (real caddy, local CA)', () => {
  it('redirects HTTP to HTTPS, sends HSTS, and serves only the files route on cdn.', async () => {
    const { reach, http } = await proxied();
    const plain = await request(`http://${c.hosts.app}/x`, { ...reach, connectTo: `127.0.0.1:${http}` });
    expect(plain.status).toBe(308);
    expect(plain.headers.location).toBe(`${APP}/x`);
    const page = await request(`${APP}/`, reach);
    expect(page.status).toBe(200);
    expect(page.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    expect((await request(`${CDN}/health`, reach)).status).toBe(404);
    expect((await request(`${CDN}/api/v1/files/none.png`, reach)).status).toBe(404);
    expect((await request(`${API}/health`, reach)).status).toBe(200);
  }, 90_000);

  it('the smoke checklist passes through it, Socket.IO over websocket included', async () => {
    const { w, reach } = await proxied();
    const lines = await runSmoke({ ...w, app: APP, api: API, cdn: CDN, reach });
    for (const l of lines) expect(l.ok, `${l.name}: ${l.detail}`).toBe(true);
    expect(lines.find((l) => l.name === 'public-file')?.detail).toMatch(new RegExp(`^${CDN}/api/v1/files/[0-9a-f]{64}\\.png renders without auth`));
    // The bring-up's gates 5 and 6, through the same proxy.
    await expect(websocketOpens(API, reach)).resolves.toMatch(/open \(transport websocket\)/);
    await expect(uploadGate({ ...w, app: APP, api: API, cdn: CDN, reach })).resolves.toMatch(new RegExp(`${CDN}/api/v1/files/[0-9a-f]{64}\\.png renders them without auth`));
  }, 90_000);

  it.each([['ok', 0], ['degraded', 1]] as const)('the gratonite.smoke runbook prints a line per check and exits %s -> %s, naming what failed', async (health, code) => {
    const { w, https, root } = await proxied(health);
    const config = { ...c, check: { ...c.check, connectTo: `127.0.0.1:${https}`, caFile: root, timeoutSeconds: 10, turnAddress: `127.0.0.1:${w.turn.port}` }, secrets: { ...c.secrets, TURN_USERNAME: new Secret('TURN_USERNAME', TURN_USER), TURN_PASSWORD: new Secret('TURN_PASSWORD', TURN_PASS) } };
    const rec = recorder();
    const res = await runSteps(smoke, { exec: new ScriptedExecutor(), config, emit: rec.emit });
    const logs = rec.events.filter((e): e is Extract<EngineEvent, { type: 'log' }> => e.type === 'log').map((e) => e.message);
    expect(logs).toHaveLength(6);
    expect(res.exitCode, logs.join('\n')).toBe(code);
    const end = rec.events.find((e): e is Extract<EngineEvent, { type: 'run-end' }> => e.type === 'run-end');
    if (code) expect(end?.error?.message).toMatch(/^smoke failed: health \(.*503/);
    else expect(logs.every((l) => l.startsWith('ok '))).toBe(true);
    expect(JSON.stringify(rec.events)).not.toContain(TURN_PASS);
  }, 90_000);
});
