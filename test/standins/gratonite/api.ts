// Stand-in for the Gratonite API (its code cannot be built here): a small server speaking the
// routes the runbooks and the smoke checks use, on the API's port with Socket.IO on the same
// origin. It is not Gratonite: it keeps users, DMs and files in memory. What it copies from the
// real API (apps.md): GET /health's answer, the files route's public rule (an id with a dot is a
// public object, served without auth; any other id needs auth), CORS from CORS_ORIGIN only.
// STANDIN_HEALTH=degraded|fail stands for a broken release (503 "degraded" or no listener at all).
import { createHash, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { Server } from 'socket.io';

const env = process.env;
const PORT = Number(env.PORT ?? 4000);
const HOST = env.HOST ?? '127.0.0.1';
const ORIGINS = (env.CORS_ORIGIN ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const CDN = env.CDN_BASE_URL ?? `http://${HOST}:${PORT}`;
const started = Date.now();

if (env.STANDIN_HEALTH === 'fail') {
  process.stderr.write('gratonite-api stand-in: STANDIN_HEALTH=fail, exiting as a broken release would\n');
  process.exit(1);
}
for (const k of ['JWT_SECRET', 'DATABASE_URL']) if (!env[k]) (process.stderr.write(`gratonite-api stand-in: ${k} is not set\n`), process.exit(1));

interface User { id: string; username: string; salt: Buffer; hash: Buffer }
const users = new Map<string, User>();
const tokens = new Map<string, string>();
const channels = new Map<string, string[]>();
const pending = new Map<string, { hash: string; owner: string }>();
const objects = new Map<string, { data: Buffer; type: string }>();
const id = () => randomBytes(8).toString('hex');

const send = (res: http.ServerResponse, status: number, body?: unknown): void => {
  res.statusCode = status;
  if (body === undefined) {
    res.end();
    return;
  }
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
};
const readBody = (req: http.IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (b: Buffer) => parts.push(b));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
const userOf = (req: http.IncomingMessage) => {
  const t = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  return t ? tokens.get(t) : undefined;
};
const issue = (u: User) => {
  const t = randomBytes(24).toString('base64url');
  tokens.set(t, u.id);
  return { accessToken: t, user: { id: u.id, username: u.username } };
};

const server = http.createServer((req, res) => {
  handle(req, res).catch((e: Error) => send(res, 500, { code: 'INTERNAL_ERROR', message: e.message }));
});
const io = new Server(server, { cors: { origin: ORIGINS, credentials: true }, transports: ['websocket', 'polling'] });
io.use((socket, next) => {
  const uid = tokens.get(String((socket.handshake.auth as { token?: unknown }).token ?? ''));
  if (!uid) return next(new Error('Authentication required'));
  (socket.data as { uid?: string }).uid = uid;
  next();
});
io.on('connection', (socket) => void socket.join(`user:${(socket.data as { uid: string }).uid}`));

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  const origin = req.headers.origin;
  if (origin && ORIGINS.includes(origin)) {
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('access-control-allow-credentials', 'true');
    res.setHeader('vary', 'Origin');
  }
  if (req.method === 'OPTIONS') return send(res, 204);
  const p = url.pathname;
  if (req.method === 'GET' && p === '/health') {
    if (env.STANDIN_HEALTH === 'degraded') return send(res, 503, { status: 'degraded', service: 'gratonite-api', timestamp: new Date().toISOString(), uptime: (Date.now() - started) / 1000 });
    return send(res, 200, { status: 'ok', service: 'gratonite-api', timestamp: new Date().toISOString(), uptime: (Date.now() - started) / 1000 });
  }
  if (req.method === 'POST' && p === '/api/v1/auth/register') {
    const b = JSON.parse((await readBody(req)).toString() || '{}') as { username?: string; password?: string };
    if (!b.username || !b.password || b.password.length < 8) return send(res, 400, { code: 'VALIDATION_ERROR' });
    if ([...users.values()].some((u) => u.username === b.username)) return send(res, 409, { code: 'USERNAME_TAKEN' });
    const salt = randomBytes(16);
    const u = { id: id(), username: b.username, salt, hash: scryptSync(b.password, salt, 32) };
    users.set(u.id, u);
    return send(res, 201, issue(u));
  }
  if (req.method === 'POST' && p === '/api/v1/auth/login') {
    const b = JSON.parse((await readBody(req)).toString() || '{}') as { login?: string; password?: string };
    const u = [...users.values()].find((x) => x.username === b.login);
    if (!u || !timingSafeEqual(u.hash, scryptSync(b.password ?? '', u.salt, 32))) return send(res, 401, { code: 'INVALID_CREDENTIALS' });
    return send(res, 200, issue(u));
  }
  const fileId = /^\/api\/v1\/files\/([^/]+)$/.exec(p)?.[1];
  if (req.method === 'GET' && fileId && fileId !== 'upload') {
    // The real rule: an id with a dot is a public object; anything else needs auth.
    if (fileId.includes('.')) {
      const o = objects.get(fileId);
      if (!o) return send(res, 404, { code: 'NOT_FOUND', message: 'Asset not found' });
      res.setHeader('content-type', o.type);
      res.setHeader('cache-control', 'public, max-age=31536000, immutable');
      return void res.end(o.data);
    }
    if (!userOf(req)) return send(res, 401, { code: 'UNAUTHORIZED', message: 'Authentication required' });
    const up = pending.get(fileId);
    return up ? send(res, 200, { id: fileId, hash: up.hash }) : send(res, 404, { code: 'NOT_FOUND' });
  }
  const uid = userOf(req);
  if (!uid) return send(res, 401, { code: 'UNAUTHORIZED', message: 'Authentication required' });
  if (req.method === 'DELETE' && p === '/api/v1/users/@me') {
    users.delete(uid);
    for (const [t, u] of tokens) if (u === uid) tokens.delete(t);
    return send(res, 204);
  }
  if (req.method === 'POST' && p === '/api/v1/users/@me/channels') {
    const b = JSON.parse((await readBody(req)).toString() || '{}') as { recipientId?: string };
    if (!b.recipientId || !users.has(b.recipientId)) return send(res, 404, { code: 'UNKNOWN_USER' });
    const cid = id();
    channels.set(cid, [uid, b.recipientId]);
    return send(res, 201, { id: cid, type: 'DM' });
  }
  const ch = /^\/api\/v1\/channels\/([^/]+)\/messages$/.exec(p)?.[1];
  if (req.method === 'POST' && ch) {
    const members = channels.get(ch);
    if (!members?.includes(uid)) return send(res, 404, { code: 'UNKNOWN_CHANNEL' });
    const b = JSON.parse((await readBody(req)).toString() || '{}') as { content?: string; attachmentIds?: string[] };
    const attachments = (b.attachmentIds ?? []).map((a) => ({ id: a, hash: pending.get(a)?.hash })).filter((a) => a.hash).map((a) => ({ id: a.id, url: `${CDN}/api/v1/files/${a.hash}` }));
    const m = { id: id(), channelId: ch, content: b.content ?? '', authorId: uid, attachments };
    for (const member of members) io.to(`user:${member}`).emit('MESSAGE_CREATE', m);
    return send(res, 201, m);
  }
  if (req.method === 'POST' && p === '/api/v1/files/upload') {
    const form = await new Request('http://x/', { method: 'POST', headers: { 'content-type': req.headers['content-type'] ?? '' }, body: new Uint8Array(await readBody(req)) }).formData();
    const file = form.get('file');
    if (!file || typeof file === 'string') return send(res, 400, { code: 'NO_FILE', message: 'No file provided' });
    const data = Buffer.from(await file.arrayBuffer());
    const ext = (/\.(\w{1,8})$/.exec(file.name)?.[1] ?? 'bin').toLowerCase();
    const hash = `${createHash('sha256').update(data).digest('hex')}.${ext}`;
    objects.set(hash, { data, type: file.type || 'application/octet-stream' });
    const pid = id();
    pending.set(pid, { hash, owner: uid });
    return send(res, 201, { id: pid, hash, url: `${CDN}/api/v1/files/${hash}` });
  }
  return send(res, 404, { code: 'NOT_FOUND', message: 'The requested resource was not found' });
}

server.listen(PORT, HOST, () => {
  const a = server.address();
  process.stdout.write(`gratonite-api stand-in listening on ${HOST}:${typeof a === 'object' && a ? a.port : PORT}\n`);
});
const stop = () => void io.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
