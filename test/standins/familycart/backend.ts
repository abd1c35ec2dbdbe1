// Stand-in for the FamilyCart backend (FastAPI in the real image; this is not FamilyCart): the
// routes the runbook and its smoke check use, on the backend's port, with the env the runbook's
// app.env gives the containers. What it copies from the real backend (apps.md): GET /health's
// answer, whose cache check is a Redis PING and which never checks the database. GET /api/v1/ready
// is the stand-in's own: it proves PostgreSQL (a count on `items`) and Redis (SET then GET) answer
// over the network. It talks to them with psql and redis-cli (STANDIN_PSQL / STANDIN_REDIS_CLI
// override the paths), the Redis password in REDISCLI_AUTH, never on a command line.
// GET /api/v1/whoami (the stand-in's own) echoes the client address nginx passed on.
// STANDIN_HEALTH=unhealthy stands for a broken release: /health answers 503 "unhealthy".
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';

const env = process.env;
const PORT = Number(env.PORT ?? 8000);
const HOST = env.HOST ?? '0.0.0.0';
for (const k of ['POSTGRES_SERVER', 'POSTGRES_USER', 'POSTGRES_DB', 'POSTGRES_PASSWORD', 'REDIS_HOST', 'REDIS_PASSWORD', 'SECRET_KEY']) {
  if (!env[k]) (process.stderr.write(`familycart-backend stand-in: ${k} is not set\n`), process.exit(1));
}
const PSQL = env.STANDIN_PSQL ?? '/usr/lib/postgresql/17/bin/psql';
const REDIS_CLI = env.STANDIN_REDIS_CLI ?? '/usr/bin/redis-cli';
const base = { PATH: env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };
const pgEnv = { ...base, PGHOST: env.POSTGRES_SERVER, PGPORT: env.POSTGRES_PORT ?? '5432', PGUSER: env.POSTGRES_USER, PGPASSWORD: env.POSTGRES_PASSWORD, PGDATABASE: env.POSTGRES_DB, PGCONNECT_TIMEOUT: '5', PGCLIENTENCODING: 'UTF8' };
const redisEnv = { ...base, REDISCLI_AUTH: env.REDIS_PASSWORD };
const redisArgs = ['-h', env.REDIS_HOST as string, '-p', env.REDIS_PORT ?? '6379'];

interface Run { ok: boolean; out: string; err: string }
/** Runs a child bounded by timeoutMs; never rejects (a missing binary or a timeout is a failure). */
const run = (file: string, args: string[], childEnv: NodeJS.ProcessEnv, input: string, timeoutMs: number): Promise<Run> =>
  new Promise((resolve) => {
    const c = spawn(file, args, { env: childEnv, timeout: timeoutMs, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (b: Buffer) => (out += String(b)));
    c.stderr.on('data', (b: Buffer) => (err += String(b)));
    c.stdin.on('error', () => undefined);
    c.on('error', (e) => resolve({ ok: false, out, err: e.message }));
    c.on('close', (code, signal) => resolve({ ok: code === 0, out: out.trim(), err: (err.trim() || (signal ? `killed by ${signal} (timed out)` : `exit ${code}`)).split('\n')[0]?.slice(0, 200) ?? '' }));
    c.stdin.end(input);
  });

// Every query first creates `items` when missing, so a fresh database is ready at once.
const SCHEMA = 'SET client_min_messages = warning;\nCREATE TABLE IF NOT EXISTS items (id bigserial PRIMARY KEY, name text NOT NULL, created_at timestamptz DEFAULT now());\n';
/** SQL on stdin after the schema; vars become psql variables, quoted in the SQL as :'name'. */
const pg = (sql: string, vars: Record<string, string> = {}) =>
  run(PSQL, ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', ...Object.entries(vars).flatMap(([k, v]) => ['-v', `${k}=${v}`])], pgEnv, SCHEMA + sql, 10_000);
const redis = (...args: string[]) => run(REDIS_CLI, [...redisArgs, ...args], redisEnv, '', 5_000);

const send = (res: http.ServerResponse, status: number, body: unknown): void => {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
};
const readBody = (req: http.IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    let s = '';
    req.on('data', (b: Buffer) => (s.length > 65536 ? req.destroy(new Error('body over 64 KiB')) : (s += String(b))));
    req.on('end', () => resolve(s));
    req.on('error', reject);
  });

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const p = new URL(req.url ?? '/', 'http://x').pathname;
  if (req.method === 'GET' && p === '/health') {
    const ping = await redis('PING');
    const cache = ping.ok && ping.out === 'PONG' ? 'healthy' : 'degraded';
    if (env.STANDIN_HEALTH === 'unhealthy') return send(res, 503, { status: 'unhealthy', checks: { cache } });
    return send(res, 200, { status: 'healthy', checks: { cache } });
  }
  // The client address as nginx passed it on (X-Real-IP): which address nginx trusted.
  if (req.method === 'GET' && p === '/api/v1/whoami') return send(res, 200, { ip: req.headers['x-real-ip'] ?? req.socket.remoteAddress, forwardedFor: req.headers['x-forwarded-for'] ?? null });
  if (req.method === 'GET' && p === '/api/v1/ready') {
    const token = randomBytes(8).toString('hex');
    const [db, set] = await Promise.all([pg('SELECT count(*) FROM items;\n'), redis('SET', 'familycart-standin:ready', token, 'EX', '60')]);
    const got = set.ok && set.out === 'OK' ? await redis('GET', 'familycart-standin:ready') : set;
    const database = db.ok && /^\d+$/.test(db.out) ? 'ok' : `failed: ${db.err || db.out}`;
    const cache = got.ok && got.out === token ? 'ok' : `failed: ${got.err || got.out || 'no answer'}`;
    if (database === 'ok' && cache === 'ok') return send(res, 200, { database, cache, items: Number(db.out) });
    return send(res, 503, { database, cache });
  }
  if (p === '/api/v1/items' && req.method === 'POST') {
    let name: unknown;
    try {
      name = (JSON.parse(await readBody(req)) as { name?: unknown }).name;
    } catch {
      return send(res, 422, { detail: 'the body must be JSON' });
    }
    if (typeof name !== 'string' || !name || name.length > 1000 || name.includes('\0')) return send(res, 422, { detail: 'name must be a non-empty string' });
    const r = await pg("INSERT INTO items (name) VALUES (:'name') RETURNING json_build_object('id', id, 'name', name);\n", { name });
    return r.ok ? send(res, 201, JSON.parse(r.out)) : send(res, 503, { detail: `database: ${r.err}` });
  }
  if (p === '/api/v1/items' && req.method === 'GET') {
    const r = await pg("SELECT coalesce(json_agg(json_build_object('id', id, 'name', name) ORDER BY id), '[]') FROM items;\n");
    return r.ok ? send(res, 200, JSON.parse(r.out)) : send(res, 503, { detail: `database: ${r.err}` });
  }
  return send(res, 404, { detail: 'Not Found' });
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((e: Error) => send(res, 500, { detail: e.message }));
});
server.listen(PORT, HOST, () => {
  const a = server.address();
  process.stdout.write(`familycart-backend stand-in listening on ${HOST}:${typeof a === 'object' && a ? a.port : PORT}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
