// The seed's six post-deploy checks, each a function that says what it saw. They run from outside
// the host (the operator's machine, CI, a second VM) against the public names.
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { type Answer, type Reach, json, multipart, request } from '../../../lib/core/http-client.ts';
import { type Live, connect } from './realtime.ts';
import { type AuthAnswer, type MessageEvent, ROUTES, type UploadAnswer } from './routes.ts';
import { turnAllocate } from './turn.ts';

export interface SmokeTarget {
  app: string;
  api: string;
  cdn: string;
  reach: Reach;
  turn: { host: string; port: number; username: string; password: string };
  /** LiveKit's HTTP port, when voice is enabled. */
  voice?: { host: string; port: number };
}

export interface CheckLine {
  name: string;
  ok: boolean;
  detail: string;
  ms: number;
}

export const CHECKS = ['health', 'register-login', 'realtime', 'attachment', 'public-file', 'turn-voice'] as const;

const body = (a: Answer) => a.body.toString('utf8').slice(0, 160).replace(/\s+/g, ' ');

/** GET /health answers 200 with status "ok" (a "degraded" or 503 answer fails). */
export async function checkHealth(t: SmokeTarget): Promise<string> {
  const a = await request(`${t.api}${ROUTES.health}`, t.reach, { headers: { 'cache-control': 'no-cache' } });
  const j = a.status === 200 ? json<{ status?: unknown; service?: unknown }>(a) : undefined;
  if (a.status !== 200 || j?.status !== 'ok') throw new Error(`${t.api}/health answered ${a.status} ${body(a)} (expected 200 and status "ok")`);
  return `${t.api}/health: 200 status ok (${String(j.service ?? 'no service name')})`;
}

interface User {
  auth: AuthAnswer;
  username: string;
}

const authHeaders = (token: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, ...extra });

/** The web app loads, then a throwaway user registers and logs in with the app's Origin (CORS checked). */
async function registerAndLogin(t: SmokeTarget, label: string): Promise<User> {
  const origin = new URL(t.app).origin;
  const username = `smoke_${label}_${randomBytes(5).toString('hex')}`;
  const password = randomBytes(18).toString('base64url');
  const headers = { 'content-type': 'application/json', origin };
  const reg = await request(`${t.api}${ROUTES.register}`, t.reach, { method: 'POST', headers, body: JSON.stringify({ username, email: `${username}@smoke.invalid`, password, displayName: username }) });
  if (reg.status !== 201 && reg.status !== 200) throw new Error(`register answered ${reg.status} ${body(reg)}`);
  const allowed = reg.headers['access-control-allow-origin'];
  if (allowed !== origin) throw new Error(`register from ${origin}: Access-Control-Allow-Origin is ${allowed === undefined ? 'missing' : `"${String(allowed)}"`}, so browsers on the app would be refused`);
  const login = await request(`${t.api}${ROUTES.login}`, t.reach, { method: 'POST', headers, body: JSON.stringify({ login: username, password }) });
  if (login.status !== 200) throw new Error(`login answered ${login.status} ${body(login)}`);
  const auth = json<AuthAnswer>(login);
  if (!auth.accessToken || !auth.user?.id) throw new Error('login answered 200 without accessToken and user.id');
  return { auth, username };
}

export async function checkApp(t: SmokeTarget): Promise<string> {
  const page = await request(`${t.app}/`, t.reach);
  if (page.status !== 200 || !/<html/i.test(page.body.toString('utf8'))) throw new Error(`${t.app}/ answered ${page.status} ${body(page)} (expected the web app's HTML)`);
  return `${t.app}/: 200 HTML`;
}

/** Runs every check in order; later checks that need an earlier one's result say so when it failed. */
export async function runSmoke(t: SmokeTarget, onLine: (l: CheckLine) => void = () => undefined): Promise<CheckLine[]> {
  const lines: CheckLine[] = [];
  const ms = Math.max(2_000, t.reach.timeoutMs);
  const users: User[] = [];
  const live: Live[] = [];
  let dm: string | undefined;
  let upload: (UploadAnswer & { data: Buffer }) | undefined;
  let seenUrl: string | undefined;
  const run = async (name: (typeof CHECKS)[number], needs: boolean | string, f: () => Promise<string>) => {
    const start = Date.now();
    let line: CheckLine;
    if (typeof needs === 'string') line = { name, ok: false, detail: `not run: ${needs}`, ms: 0 };
    else {
      try {
        line = { name, ok: true, detail: await f(), ms: Date.now() - start };
      } catch (e) {
        line = { name, ok: false, detail: (e as Error).message, ms: Date.now() - start };
      }
    }
    lines.push(line);
    onLine(line);
  };
  try {
    await run('health', true, () => checkHealth(t));
    await run('register-login', true, async () => {
      const page = await checkApp(t);
      users.push(await registerAndLogin(t, 'a'), await registerAndLogin(t, 'b'));
      return `${page}; two throwaway users registered and logged in with Origin ${new URL(t.app).origin}`;
    });
    const haveUsers = users.length === 2 ? true : 'needs register-login';
    await run('realtime', haveUsers, async () => {
      const [a, b] = users as [User, User];
      live.push(await connect(t.api, a.auth.accessToken, t.reach), await connect(t.api, b.auth.accessToken, t.reach));
      const ch = await request(`${t.api}${ROUTES.dmChannels}`, t.reach, { method: 'POST', headers: authHeaders(a.auth.accessToken, { 'content-type': 'application/json' }), body: JSON.stringify({ recipientId: b.auth.user.id }) });
      if (ch.status !== 200 && ch.status !== 201) throw new Error(`opening a DM answered ${ch.status} ${body(ch)}`);
      dm = json<{ id: string }>(ch).id;
      const say = async (from: User, to: Live, label: string) => {
        const content = `smoke ${label} ${randomBytes(6).toString('hex')}`;
        const got = to.next((m) => m.content === content, ms, `${label}'s message over Socket.IO`);
        const sent = await request(`${t.api}${ROUTES.messages(dm as string)}`, t.reach, { method: 'POST', headers: authHeaders(from.auth.accessToken, { 'content-type': 'application/json' }), body: JSON.stringify({ content }) });
        if (sent.status !== 200 && sent.status !== 201) throw new Error(`sending ${label}'s message answered ${sent.status} ${body(sent)}`);
        const t0 = Date.now();
        await got;
        return Date.now() - t0;
      };
      const ab = await say(users[0] as User, live[1] as Live, 'A->B');
      const ba = await say(users[1] as User, live[0] as Live, 'B->A');
      return `two Socket.IO clients (websocket) saw each other's DM: A->B ${ab} ms, B->A ${ba} ms after the send answered`;
    });
    await run('attachment', dm ? true : 'needs realtime', async () => {
      const [a] = users as [User];
      const data = Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'binary'), randomBytes(256)]);
      const form = multipart({ purpose: 'attachment' }, { field: 'file', name: 'smoke.png', type: 'image/png', data });
      const up = await request(`${t.api}${ROUTES.upload}`, t.reach, { method: 'POST', headers: authHeaders(a.auth.accessToken, { 'content-type': form.type }), body: form.body });
      if (up.status !== 201 && up.status !== 200) throw new Error(`upload answered ${up.status} ${body(up)}`);
      const u = json<UploadAnswer>(up);
      upload = { ...u, data };
      const got = (live[1] as Live).next((m: MessageEvent) => Boolean(m.attachments?.some((x) => x.id === u.id)), ms, 'the attachment message at the receiver');
      const sent = await request(`${t.api}${ROUTES.messages(dm as string)}`, t.reach, { method: 'POST', headers: authHeaders(a.auth.accessToken, { 'content-type': 'application/json' }), body: JSON.stringify({ content: 'smoke attachment', attachmentIds: [u.id] }) });
      if (sent.status !== 200 && sent.status !== 201) throw new Error(`sending the attachment answered ${sent.status} ${body(sent)}`);
      const m = await got;
      seenUrl = m.attachments?.find((x) => x.id === u.id)?.url;
      if (!seenUrl) throw new Error('the receiver got the message without the attachment\'s URL');
      return `uploaded ${data.length} bytes as ${u.hash}; the receiver got it with ${seenUrl}`;
    });
    await run('public-file', upload && seenUrl ? true : 'needs attachment', async () => {
      const u = upload as UploadAnswer & { data: Buffer };
      const url = seenUrl as string;
      if (!url.startsWith(`${t.cdn}/`)) throw new Error(`the attachment's URL ${url} is not on ${t.cdn}`);
      const pub = await request(url, t.reach);
      if (pub.status !== 200) throw new Error(`${url} without auth answered ${pub.status} ${body(pub)}`);
      const same = createHash('sha256').update(pub.body).digest('hex') === createHash('sha256').update(u.data).digest('hex');
      if (!same) throw new Error(`${url} answered 200 but not the uploaded bytes`);
      const priv = await request(`${t.cdn}${ROUTES.file(u.id)}`, t.reach);
      if (priv.status !== 401 && priv.status !== 403) throw new Error(`the private upload id ${u.id} answered ${priv.status} without auth (expected 401)`);
      return `${url} renders without auth (${pub.headers['content-type'] ?? 'no content-type'}, same bytes); the private id answers ${priv.status}`;
    });
    await run('turn-voice', true, async () => {
      const relays: string[] = [];
      for (const transport of ['udp', 'tcp'] as const) relays.push(`${transport} relay ${await turnAllocate({ ...t.turn, transport, timeoutMs: ms })}`);
      let voice = 'voice disabled (LIVEKIT_ENABLED=no)';
      if (t.voice) voice = await voicePort(t.voice.host, t.voice.port, ms);
      return `TURN Allocate on ${t.turn.host}:${t.turn.port}: ${relays.join(', ')}; ${voice}`;
    });
  } finally {
    for (const l of live) l.close();
    for (const u of users) {
      const r = await request(`${t.api}${ROUTES.me}`, t.reach, { method: 'DELETE', headers: authHeaders(u.auth.accessToken) }).catch((e: Error) => ({ status: 0, detail: e.message }));
      if (r.status !== 204 && r.status !== 200) onLine({ name: 'cleanup', ok: false, detail: `throwaway user ${u.username} not removed (answer ${r.status}); remove it by hand`, ms: 0 });
    }
  }
  return lines;
}

/** LiveKit's HTTP port answers (GET / is 200 "OK" on livekit-server). */
function voicePort(host: string, port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    const t = setTimeout(() => (s.destroy(), reject(new Error(`voice ${host}:${port}: no answer within ${timeoutMs} ms`))), timeoutMs);
    let got = '';
    s.on('connect', () => s.write(`GET / HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`));
    s.on('data', (b: Buffer) => (got += b.toString('latin1')));
    s.on('end', () => {
      clearTimeout(t);
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(got)?.[1];
      if (status === '200') resolve(`voice ${host}:${port} answers 200`);
      else reject(new Error(`voice ${host}:${port} answered ${status ?? 'no HTTP status'}`));
    });
    s.on('error', (e) => (clearTimeout(t), reject(new Error(`voice ${host}:${port}: ${e.message}`))));
  });
}

/** The bring-up's last gate: a throwaway user uploads a file and its public URL (cdn.) renders it. */
export async function uploadGate(t: SmokeTarget): Promise<string> {
  const u = await registerAndLogin(t, 'gate');
  try {
    const data = Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'binary'), randomBytes(128)]);
    const form = multipart({ purpose: 'attachment' }, { field: 'file', name: 'gate.png', type: 'image/png', data });
    const up = await request(`${t.api}${ROUTES.upload}`, t.reach, { method: 'POST', headers: authHeaders(u.auth.accessToken, { 'content-type': form.type }), body: form.body });
    if (up.status !== 201 && up.status !== 200) throw new Error(`upload answered ${up.status} ${body(up)}`);
    const { hash } = json<UploadAnswer>(up);
    const url = `${t.cdn}${ROUTES.file(hash)}`;
    const pub = await request(url, t.reach);
    if (pub.status !== 200 || !pub.body.equals(data)) throw new Error(`${url} answered ${pub.status}${pub.status === 200 ? ' but not the uploaded bytes' : ` ${body(pub)}`}`);
    return `uploaded ${data.length} bytes; ${url} renders them without auth`;
  } finally {
    await request(`${t.api}${ROUTES.me}`, t.reach, { method: 'DELETE', headers: authHeaders(u.auth.accessToken) }).catch(() => undefined);
  }
}
