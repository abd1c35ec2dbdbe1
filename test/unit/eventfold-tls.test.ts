// TLS and bearer auth for EventfoldDB: the config refuses half a pair, the pair is checked before it
// reaches a host, and the host tools (health, read-all) reach a server that requires both, using
// only the server's own environment file.
import { execa } from 'execa';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../lib/vm/free-port.ts';
import { spawnedProcesses } from './spawned.ts';
import { loadConfig } from '../../lib/config/schema.ts';
import { waitFor } from '../../lib/core/wait.ts';
import { EventfoldClient } from '../../runbooks/eventfold-db/protocol/client.ts';
import { mintToken } from '../../runbooks/eventfold-db/protocol/jwt.ts';
import { eventfoldConfig } from '../../runbooks/eventfold-db/config.ts';
import { serverEnv } from '../../runbooks/eventfold-db/deploy.ts';
import { TLS_PATHS, tlsFiles } from '../../runbooks/eventfold-db/tls.ts';
import { bootstrapConfig } from '../../runbooks/eventfold-db/bootstrap.ts';
import { runbookErrorOf } from './fakes.ts';
import { caSigned, selfSigned } from './tls-certs.ts';

const root = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'ef-tls-cfg-'));
let n = 0;
const envFile = (v: Record<string, string>) => {
  const p = join(dir, `f${n++}.env`);
  writeFileSync(p, Object.entries(v).map(([k, x]) => `${k}="${x}"\n`).join(''));
  chmodSync(p, 0o600);
  return p;
};
const base = { APP_CIDRS: '10.0.1.0/24', MONITORING_CIDRS: '10.0.2.0/24', BACKUP_BUCKET: 'b', BACKUP_PREFIX: 'p' };
const load = (v: Record<string, string>) => loadConfig(eventfoldConfig, [envFile({ ...base, ...v })]);

describe('EventfoldDB TLS config', () => {
  it('is off by default; half a pair or no server name is a config error', async () => {
    expect(load({}).tls).toBeUndefined();
    expect(serverEnv(load({}))).toMatch(/^# EVENTFOLD_TLS_CERT\/KEY not set: plaintext/m);
    expect(runbookErrorOf(() => load({ TLS_CERT_FILE: '/x.crt' })).message).toMatch(/TLS_KEY_FILE is missing/);
    expect(runbookErrorOf(() => load({ TLS_KEY_FILE: '/x.key' })).message).toMatch(/TLS_CERT_FILE is missing/);
    expect(runbookErrorOf(() => load({ TLS_CERT_FILE: '/x.crt', TLS_KEY_FILE: '/x.key' })).message).toMatch(/TLS_SERVER_NAME is required/);
    expect(runbookErrorOf(() => load({ TLS_SERVER_NAME: 'a.b' })).message).toMatch(/TLS_CERT_FILE and TLS_KEY_FILE are not/);
    const c = load({ TLS_CERT_FILE: '/x.crt', TLS_KEY_FILE: '/x.key', TLS_SERVER_NAME: 'eventfold.internal' });
    expect(c.tls).toEqual({ certFile: '/x.crt', keyFile: '/x.key', trustFile: '/x.crt', serverName: 'eventfold.internal' });
    expect(serverEnv(c)).toContain(`EVENTFOLD_TLS_CERT=${TLS_PATHS.cert}\nEVENTFOLD_TLS_KEY=${TLS_PATHS.key}\n`);
    expect(serverEnv(c)).toContain('EVENTFOLD_CHECK_TLS_SERVER_NAME=eventfold.internal');
  });

  it('first-boot user-data refuses the TLS files', () => {
    const e = runbookErrorOf(() => loadConfig(bootstrapConfig, [envFile({ ...base, ADMIN_SSH_KEYS: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOpsKeyOpsKeyOpsKeyOpsKeyOpsKeyOpsKey ops@laptop', OPERATOR_CIDRS: '198.51.100.0/24', RELEASE_BUCKET: 'a', RELEASE_OBJECT: 'o', RELEASE_VERSION: '1', RELEASE_SHA256: 'a'.repeat(64), RUNBOOK_BUNDLE_BUCKET: 'a', RUNBOOK_BUNDLE_OBJECT: 'r.tgz', RUNBOOK_BUNDLE_SHA256: 'b'.repeat(64), TLS_CERT_FILE: '/x.crt', TLS_KEY_FILE: '/x.key', TLS_SERVER_NAME: 'a.b' })]));
    expect(e.message).toMatch(/TLS_CERT_FILE, TLS_KEY_FILE name files on this machine/);
  });

  it('installs a valid pair (key secret, group eventfold) and refuses a mismatched, expired, misnamed or unreadable one', async () => {
    const a = await selfSigned('eventfold.internal');
    const b = await selfSigned('eventfold.internal');
    const tls = { certFile: a.cert, keyFile: a.key, trustFile: a.cert, serverName: 'eventfold.internal' };
    const files = tlsFiles(tls);
    expect(files.map((f) => [f.path, f.mode, f.group ?? 'root', Boolean(f.secret)])).toEqual([
      [TLS_PATHS.cert, '0644', 'root', false],
      [TLS_PATHS.key, '0640', 'eventfold', true],
      [TLS_PATHS.trust, '0644', 'root', false],
    ]);
    expect(runbookErrorOf(() => tlsFiles({ ...tls, keyFile: b.key })).message).toMatch(/is not the key of the certificate/);
    expect(runbookErrorOf(() => tlsFiles({ ...tls, serverName: 'other.internal' })).message).toMatch(/not valid for TLS_SERVER_NAME other.internal/);
    expect(runbookErrorOf(() => tlsFiles(tls, new Date(Date.now() + 5 * 86_400_000))).message).toMatch(/expired on/);
    expect(runbookErrorOf(() => tlsFiles({ ...tls, certFile: a.key })).message).toMatch(/is not a PEM certificate/);
    expect(runbookErrorOf(() => tlsFiles({ ...tls, keyFile: a.cert })).message).toMatch(/is not an unencrypted PEM private key/);
    const missing = runbookErrorOf(() => tlsFiles({ ...tls, keyFile: join(a.dir, 'nope.key') }));
    expect([missing.kind, missing.message]).toEqual(['config', expect.stringMatching(/cannot read TLS_KEY_FILE .*nope.key/)]);
  }, 30_000);
});

const SERVER = `${root}test/standins/eventfold-db/server.ts`;
const TOOLS = `${root}runbooks/eventfold-db/tools/main.ts`;
const procs = spawnedProcesses();
const tools = (args: string[]) => execa('node', ['--import', 'tsx', TOOLS, ...args], { reject: false, cwd: root });

describe('EventfoldClient.connect', () => {
  it('connects before a timed call, and gives up on a closed port at its bound', async () => {
    const port = await freePort();
    const c = new EventfoldClient(`127.0.0.1:${port}`);
    const t0 = Date.now();
    await expect(c.connect(1_500)).rejects.toThrow(/no connection within 1500 ms/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_400);
    c.close();
  });
});

describe('host tools against a server with TLS and bearer auth', () => {
  it('health and read-all work from the server env file alone; without it they are refused', async () => {
    const pki = await caSigned('eventfold.internal');
    const secret = 'jwt-secret-for-tests-0123456789-abcdef';
    const port = await freePort();
    const env = { EVENTFOLD_DATA: join(pki.dir, 'eventfold.log'), EVENTFOLD_LISTEN: `127.0.0.1:${port}`, EVENTFOLD_METRICS_LISTEN: '', EVENTFOLD_TLS_CERT: pki.cert, EVENTFOLD_TLS_KEY: pki.key, EVENTFOLD_JWT_SECRET: secret };
    procs.push(execa('node', ['--import', 'tsx', SERVER], { env, reject: false }));
    // The env file as the runbook writes it, with this test's paths.
    const serverEnvFile = join(pki.dir, 'eventfold-db.env');
    writeFileSync(serverEnvFile, `${Object.entries(env).map(([k, v]) => `${k}=${v}`).join('\n')}\nEVENTFOLD_CHECK_TLS_TRUST=${pki.ca}\nEVENTFOLD_CHECK_TLS_SERVER_NAME=eventfold.internal\n`, { mode: 0o640 });
    const addr = `127.0.0.1:${port}`;
    await waitFor(async () => {
      const r = await tools(['health', '--addr', addr, '--server-env', serverEnvFile]);
      return r.exitCode === 0 ? { done: true, value: undefined } : { done: false, reason: r.stderr };
    }, { what: 'stand-in health over TLS', deadlineMs: 20_000, initialDelayMs: 300 });
    const c = new EventfoldClient(addr, { tls: { ca: readFileSync(pki.ca), serverName: 'eventfold.internal' }, token: mintToken(secret) });
    await c.append('6f1c1b6e-1c7a-4c55-9d1e-0b1b5b0c9a01', { any: {} }, [{ event_id: '0b8e2a52-5d83-4b0a-9c38-5f1f3c2b4a11', event_type: 'Order.Placed', payload: Buffer.from('x') }]);
    c.close();
    const all = await tools(['read-all', '--addr', addr, '--server-env', serverEnvFile]);
    expect(all.stderr).toBe('');
    expect(JSON.parse(all.stdout)).toMatchObject({ events: 1, last: '0' });
    // The same tools with no settings: plaintext against TLS fails.
    const plain = await tools(['health', '--addr', addr, '--server-env', join(pki.dir, 'none.env'), '--deadline', '1000']);
    expect(plain.exitCode).toBe(1);
    // TLS without the token: ReadAll is refused, health still answers (it needs no JWT).
    writeFileSync(serverEnvFile, `EVENTFOLD_TLS_CERT=${pki.cert}\nEVENTFOLD_CHECK_TLS_TRUST=${pki.ca}\nEVENTFOLD_CHECK_TLS_SERVER_NAME=eventfold.internal\n`);
    expect((await tools(['health', '--addr', addr, '--server-env', serverEnvFile])).exitCode).toBe(0);
    const noToken = await tools(['read-all', '--addr', addr, '--server-env', serverEnvFile]);
    expect([noToken.exitCode, noToken.stderr]).toEqual([1, expect.stringMatching(/UNAUTHENTICATED|bearer/i)]);
    // A wrong server name is a TLS failure, not a silent pass.
    writeFileSync(serverEnvFile, `EVENTFOLD_TLS_CERT=${pki.cert}\nEVENTFOLD_CHECK_TLS_TRUST=${pki.ca}\nEVENTFOLD_CHECK_TLS_SERVER_NAME=other.internal\n`);
    expect((await tools(['health', '--addr', addr, '--server-env', serverEnvFile, '--deadline', '1000'])).exitCode).toBe(1);
  }, 90_000);
});
