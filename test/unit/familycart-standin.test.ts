// The FamilyCart stand-ins (backend and frontend) answer as the runbook and its smoke check
// expect: /health from a Redis PING only (never the database), /api/v1/ready naming the part that
// fails, a missing setting refused at start, the broken release's 503. psql and redis-cli are
// small fake scripts here (STANDIN_PSQL / STANDIN_REDIS_CLI); the addresses point at ports where
// nothing listens. Also: the amd64 frontend image's config says amd64.
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../lib/vm/free-port.ts';
import { platformProblem } from '../../runbooks/familycart/commands.ts';
import { specConfig } from '../containers/build.ts';
import { IMAGES } from '../containers/images.ts';
import { started } from './gratonite-world.ts';

const BACKEND = new URL('../standins/familycart/backend.ts', import.meta.url).pathname;
const FRONTEND = new URL('../standins/familycart/frontend.ts', import.meta.url).pathname;
const REDIS_PASSWORD = 'redis-password-not-secret';
const procs: ResultPromise[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) p.kill('SIGTERM');
});

/** A temp folder with fake redis-cli and psql scripts: good ones and failing ones. */
function fakes() {
  const dir = mkdtempSync(join(tmpdir(), 'familycart-standin-'));
  const script = (name: string, body: string) => {
    writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
    return join(dir, name);
  };
  return {
    dir,
    // Answers only with the expected password in REDISCLI_AUTH; logs its argv.
    redisGood: script('redis-good', `echo "$@" >>${dir}/redis-argv
[ "$REDISCLI_AUTH" = "${REDIS_PASSWORD}" ] || { echo "NOAUTH Authentication required."; exit 1; }
shift 4
case "$1" in
PING) echo PONG ;;
SET) printf %s "$3" >${dir}/redis-value; echo OK ;;
GET) cat ${dir}/redis-value; echo ;;
esac`),
    redisDown: script('redis-down', 'echo "Could not connect to Redis at 127.0.0.1:1: Connection refused" >&2; exit 1'),
    psqlDown: script('psql-down', `touch ${dir}/psql-called; cat >/dev/null; echo 'psql: error: connection to server at "127.0.0.1", port 1 failed: Connection refused' >&2; exit 2`),
    // Answers the count with 7 when the password and the connect timeout are in its env.
    psqlGood: script('psql-good', `touch ${dir}/psql-called; cat >/dev/null; [ "$PGPASSWORD" = pg-password ] && [ "$PGCONNECT_TIMEOUT" = 5 ] && echo 7`),
  };
}

async function backend(f: { redis: string; psql: string }, extra: Record<string, string | undefined> = {}) {
  const [pgPort, redisPort, port] = [await freePort(), await freePort(), await freePort()];
  const env = { PORT: String(port), HOST: '127.0.0.1', POSTGRES_SERVER: '127.0.0.1', POSTGRES_PORT: String(pgPort), POSTGRES_USER: 'familycart', POSTGRES_DB: 'familycart', POSTGRES_PASSWORD: 'pg-password', REDIS_HOST: '127.0.0.1', REDIS_PORT: String(redisPort), REDIS_PASSWORD, SECRET_KEY: 'secret-key-not-secret', STANDIN_PSQL: f.psql, STANDIN_REDIS_CLI: f.redis, ...extra } as Record<string, string>;
  await started(procs, process.execPath, ['--import', 'tsx', BACKEND], env, /listening on/, 'the FamilyCart backend stand-in');
  const get = async (path: string) => {
    const r = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  return { get, redisPort };
}

describe('FamilyCart backend stand-in', () => {
  it('/health: healthy, cache healthy from a PING with the password in REDISCLI_AUTH (never in argv), and never runs psql', async () => {
    const f = fakes();
    const b = await backend({ redis: f.redisGood, psql: f.psqlDown });
    expect(await b.get('/health')).toEqual({ status: 200, body: { status: 'healthy', checks: { cache: 'healthy' } } });
    expect(existsSync(join(f.dir, 'psql-called'))).toBe(false);
    const argv = readFileSync(join(f.dir, 'redis-argv'), 'utf8');
    expect(argv).toBe(`-h 127.0.0.1 -p ${b.redisPort} PING\n`);
    expect(argv).not.toContain(REDIS_PASSWORD);
  });

  it('/health: cache degraded when redis-cli fails, still 200 and still no psql', async () => {
    const f = fakes();
    const b = await backend({ redis: f.redisDown, psql: f.psqlDown });
    expect(await b.get('/health')).toEqual({ status: 200, body: { status: 'healthy', checks: { cache: 'degraded' } } });
    expect(existsSync(join(f.dir, 'psql-called'))).toBe(false);
  });

  it('/health: a wrong Redis password is a degraded cache', async () => {
    const f = fakes();
    const b = await backend({ redis: f.redisGood, psql: f.psqlDown }, { REDIS_PASSWORD: 'another-password' });
    expect((await b.get('/health')).body).toEqual({ status: 'healthy', checks: { cache: 'degraded' } });
  });

  it('/api/v1/ready: 503 naming the database when psql fails; 200 with the count when both answer', async () => {
    const f = fakes();
    const down = await backend({ redis: f.redisGood, psql: f.psqlDown });
    const r = await down.get('/api/v1/ready');
    expect(r.status).toBe(503);
    expect(r.body).toEqual({ database: expect.stringMatching(/^failed: psql: error: .*Connection refused/), cache: 'ok' });
    const good = await backend({ redis: f.redisGood, psql: f.psqlGood });
    expect(await good.get('/api/v1/ready')).toEqual({ status: 200, body: { database: 'ok', cache: 'ok', items: 7 } });
    const noCache = await backend({ redis: f.redisDown, psql: f.psqlGood });
    expect(await noCache.get('/api/v1/ready')).toEqual({ status: 503, body: { database: 'ok', cache: expect.stringMatching(/^failed: Could not connect/) } });
  }, 30_000);

  it('a missing binary is a failing part, not a crash; unknown routes are 404', async () => {
    const f = fakes();
    const b = await backend({ redis: join(f.dir, 'nothing'), psql: join(f.dir, 'nothing') });
    const r = await b.get('/api/v1/ready');
    expect([r.status, r.body.database, r.body.cache]).toEqual([503, expect.stringMatching(/ENOENT/), expect.stringMatching(/ENOENT/)]);
    expect(await b.get('/api/v1/nope')).toEqual({ status: 404, body: { detail: 'Not Found' } });
  });

  it('the broken release answers /health 503 unhealthy', async () => {
    const f = fakes();
    const b = await backend({ redis: f.redisGood, psql: f.psqlDown }, { STANDIN_HEALTH: 'unhealthy' });
    expect(await b.get('/health')).toEqual({ status: 503, body: { status: 'unhealthy', checks: { cache: 'healthy' } } });
  });

  it('exits 1 naming a missing setting', async () => {
    for (const missing of ['POSTGRES_SERVER', 'REDIS_PASSWORD', 'SECRET_KEY']) {
      const env: Record<string, string | undefined> = { ...process.env, POSTGRES_SERVER: '127.0.0.1', POSTGRES_USER: 'u', POSTGRES_DB: 'd', POSTGRES_PASSWORD: 'p', REDIS_HOST: '127.0.0.1', REDIS_PASSWORD: 'r', SECRET_KEY: 's', PORT: '1', HOST: '127.0.0.1' };
      delete env[missing];
      const r = await execa(process.execPath, ['--import', 'tsx', BACKEND], { env, extendEnv: false, reject: false });
      expect([r.exitCode, r.stderr]).toEqual([1, `familycart-backend stand-in: ${missing} is not set`]);
    }
  }, 30_000);
});

describe('FamilyCart frontend stand-in', () => {
  it('answers 200 with a page on / and 404 elsewhere', async () => {
    const port = await freePort();
    await started(procs, process.execPath, ['--import', 'tsx', FRONTEND], { PORT: String(port), HOST: '127.0.0.1' }, /listening on/, 'the FamilyCart frontend stand-in');
    const root = await fetch(`http://127.0.0.1:${port}/`);
    expect([root.status, await root.text()]).toEqual([200, expect.stringContaining('stand-in')]);
    expect((await fetch(`http://127.0.0.1:${port}/login`)).status).toBe(404);
  });
});

describe('FamilyCart stand-in images', () => {
  const config = (name: string) => {
    const spec = IMAGES.find((s) => s.name === name);
    if (!spec) throw new Error(`no image spec ${name}`);
    return JSON.parse(specConfig(spec, ['sha256:00', 'sha256:11']).toString()) as { architecture: string; variant?: string; os: string; config: { Env: string[] } };
  };

  it('the amd64 frontend claims linux/amd64 (no variant); the others linux/arm64/v8', () => {
    expect(config('familycart-frontend-amd64')).toMatchObject({ architecture: 'amd64', os: 'linux' });
    expect(config('familycart-frontend-amd64').variant).toBeUndefined();
    for (const n of ['familycart-frontend', 'familycart-backend', 'familycart-backend-broken']) expect(config(n)).toMatchObject({ architecture: 'arm64', variant: 'v8', os: 'linux' });
  });

  it("the runbook's platform check refuses the amd64 image and takes the others (as docker image inspect would print them)", () => {
    const inspect = (name: string) => {
      const c = config(name);
      return `${c.os}/${c.architecture}${c.variant ? `/${c.variant}` : ''}\n`;
    };
    expect(platformProblem('familycart-standin/frontend:amd64', inspect('familycart-frontend-amd64'))).toMatch(/is linux\/amd64, not linux\/arm64/);
    expect(platformProblem('familycart-standin/frontend:good', inspect('familycart-frontend'))).toBeNull();
    expect(platformProblem('familycart-standin/backend:good', inspect('familycart-backend'))).toBeNull();
  });

  it('the broken backend is the same layer with STANDIN_HEALTH=unhealthy; all are app images', () => {
    const specs = IMAGES.filter((s) => s.name.startsWith('familycart-'));
    expect(specs.map((s) => [s.name, s.tags, s.app])).toEqual([
      ['familycart-backend', ['familycart-standin/backend:good'], true],
      ['familycart-backend-broken', ['familycart-standin/backend:broken'], true],
      ['familycart-frontend', ['familycart-standin/frontend:good'], true],
      ['familycart-frontend-amd64', ['familycart-standin/frontend:amd64'], true],
    ]);
    expect(specs[1]?.layer).toBe('familycart-backend');
    expect(config('familycart-backend-broken').config.Env).toContain('STANDIN_HEALTH=unhealthy');
    expect(config('familycart-backend').config.Env.some((e) => e.startsWith('STANDIN_HEALTH'))).toBe(false);
  });
});
