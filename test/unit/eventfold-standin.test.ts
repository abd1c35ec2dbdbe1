// The EventfoldDB stand-in behaves like the real server (reference facts) on 127.0.0.1.
import { execa } from 'execa';
import { randomUUID } from 'node:crypto';
import { appendFileSync, chmodSync, copyFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../lib/vm/free-port.ts';
import { spawnedProcesses } from './spawned.ts';
import { waitFor } from '../../lib/core/wait.ts';
import { EventfoldClient } from '../../runbooks/eventfold-db/protocol/client.ts';
import { encodeBatch, encodeFileHeader, scanLog } from '../../runbooks/eventfold-db/protocol/logformat.ts';

const SERVER = new URL('../standins/eventfold-db/server.ts', import.meta.url).pathname;
const procs = spawnedProcesses();


async function start(data: string, extra: Record<string, string> = {}, cmd: string[] = ['--import', 'tsx', SERVER]) {
  const port = await freePort();
  const metrics = await freePort();
  const p = execa('node', cmd, { env: { EVENTFOLD_DATA: data, EVENTFOLD_LISTEN: `127.0.0.1:${port}`, EVENTFOLD_METRICS_LISTEN: `127.0.0.1:${metrics}`, ...extra }, reject: false, all: true });
  procs.push(p);
  const c = new EventfoldClient(`127.0.0.1:${port}`, { deadlineMs: 2_000, token: extra.TOKEN, ...clientOpts(extra) });
  await waitFor(async () => {
    if (p.exitCode !== null && p.exitCode !== undefined) return { done: false, retryable: false, reason: `exited ${p.exitCode}` };
    return c.health().then((s) => (s === 'SERVING' ? { done: true, value: undefined } : { done: false, reason: s }), (e: Error) => ({ done: false, reason: e.message }));
  }, { what: 'stand-in health', deadlineMs: 20_000, initialDelayMs: 200 });
  return { p, c, port, metrics };
}

const clientOpts = (extra: Record<string, string>) => (extra.EVENTFOLD_TLS_CA_FOR_CLIENT ? { tls: { ca: readFileSync(extra.EVENTFOLD_TLS_CA_FOR_CLIENT), serverName: 'localhost' } } : {});
const ev = (n: number) => Array.from({ length: n }, (_, i) => ({ event_id: randomUUID(), event_type: 'Order.Placed', payload: Buffer.from(`order ${i}`) }));

describe('EventfoldDB stand-in', () => {
  it('exits 1 without EVENTFOLD_DATA or with a missing parent directory', async () => {
    const a = await execa('node', ['--import', 'tsx', SERVER], { reject: false, env: { EVENTFOLD_DATA: '' }, extendEnv: true });
    expect(a.exitCode).toBe(1);
    const b = await execa('node', ['--import', 'tsx', SERVER], { reject: false, env: { EVENTFOLD_DATA: '/nonexistent/dir/x.log' } });
    expect(b.exitCode).toBe(1);
    expect(b.stdout).toMatch(/parent directory does not exist/);
  }, 30_000);

  it('appends, reads back in global order, rejects a wrong expected version, and serves metrics', async () => {
    const data = join(mkdtempSync(join(tmpdir(), 'ef-')), 'eventfold.log');
    const { c, metrics } = await start(data);
    const s = randomUUID();
    const r = await c.append(s, { no_stream: {} }, ev(3));
    expect(r).toMatchObject({ first_global_position: '0', last_global_position: '2' });
    await c.append(randomUUID(), { any: {} }, ev(2));
    await expect(c.append(s, { exact: 0 }, ev(1))).rejects.toMatchObject({ code: 9 });
    const all = await c.readAll(0, 100);
    expect(all.map((e) => e.global_position)).toEqual(['0', '1', '2', '3', '4']);
    expect(await c.readAll(0, 0)).toEqual([]);
    const m = await fetch(`http://127.0.0.1:${metrics}/metrics`).then((x) => x.text());
    expect(m).toMatch(/eventfold_events_total 5/);
    const scan = await scanLog(data);
    expect(scan).toMatchObject({ tail: 'clean', batches: 2, records: 5 });
    c.close();
  }, 30_000);

  it('recovers after a restart and truncates a torn trailing batch', async () => {
    const data = join(mkdtempSync(join(tmpdir(), 'ef-')), 'eventfold.log');
    const a = await start(data);
    await a.c.append(randomUUID(), { any: {} }, ev(4));
    const before = await a.c.readAll(0, 100);
    a.c.close();
    a.p.kill('SIGKILL');
    await a.p.catch(() => undefined);
    const size = statSync(data).size;
    appendFileSync(data, Buffer.from('EFBB\x02\x00\x00\x00garbage'));
    const b = await start(data);
    expect(await b.c.readAll(0, 100)).toEqual(before);
    expect(statSync(data).size).toBe(size);
    b.c.close();
  }, 40_000);

  it('requires a valid HS256 bearer token when EVENTFOLD_JWT_SECRET is set; health never does', async () => {
    const { createHmac } = await import('node:crypto');
    const secret = 'jwt-secret-for-tests-0123456789';
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const unsigned = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'test' })}`;
    const token = `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
    const data = join(mkdtempSync(join(tmpdir(), 'ef-')), 'eventfold.log');
    const { port, c } = await start(data, { EVENTFOLD_JWT_SECRET: secret, TOKEN: token });
    expect((await c.append(randomUUID(), { any: {} }, ev(1))).last_global_position).toBe('0');
    const anon = new EventfoldClient(`127.0.0.1:${port}`);
    expect(await anon.health()).toBe('SERVING');
    await expect(anon.readAll()).rejects.toMatchObject({ code: 16 });
    anon.close();
    c.close();
  }, 30_000);
});

const tmpLog = () => join(mkdtempSync(join(tmpdir(), 'ef-')), 'eventfold.log');
const run = (env: Record<string, string>) => execa('node', ['--import', 'tsx', SERVER], { reject: false, env: { EVENTFOLD_LISTEN: '127.0.0.1:0', EVENTFOLD_METRICS_LISTEN: '', ...env }, timeout: 20_000 });
const rec = (pos: number, stream = randomUUID()) => ({ globalPosition: BigInt(pos), recordedAt: 1n, streamId: stream, streamVersion: BigInt(pos), eventId: randomUUID(), eventType: 'T', metadata: Buffer.alloc(0), payload: Buffer.from(`e${pos}`) });

describe('EventfoldDB stand-in: API details', () => {
  it('ReadStream, ListStreams, NOT_FOUND, max_count, and INVALID_ARGUMENT for bad input', async () => {
    const { c } = await start(tmpLog());
    const a = randomUUID();
    const b = randomUUID();
    await c.append(a, { no_stream: {} }, ev(3));
    await c.append(b, { any: {} }, ev(1));
    expect(await c.append(a, { exact: 2 }, ev(2))).toMatchObject({ first_stream_version: '3', last_stream_version: '4', first_global_position: '4', last_global_position: '5' });
    await expect(c.append(a, { no_stream: {} }, ev(1))).rejects.toMatchObject({ code: 9 });
    await expect(c.append(randomUUID(), { exact: 0 }, ev(1))).rejects.toMatchObject({ code: 9 });
    const s = await c.readStream(a, 1, 2);
    expect(s.map((e) => [e.stream_version, e.global_position])).toEqual([['1', '1'], ['2', '2']]);
    expect(await c.readStream(a, 0, 0)).toEqual([]);
    await expect(c.readStream(randomUUID())).rejects.toMatchObject({ code: 5 });
    expect((await c.readAll(3, 2)).map((e) => e.global_position)).toEqual(['3', '4']);
    const ls = await c.listStreams();
    expect(ls.find((x) => x.stream_id === a)).toMatchObject({ event_count: '5', latest_version: '4' });
    expect(ls.find((x) => x.stream_id === b)).toMatchObject({ event_count: '1', latest_version: '0' });
    const bad = async (e: object[]) => expect(c.append(randomUUID(), { any: {} }, e as never)).rejects.toMatchObject({ code: 3 });
    await bad([{ event_id: randomUUID(), event_type: '' }]);
    await bad([{ event_id: randomUUID(), event_type: 'x'.repeat(257) }]);
    await bad([{ event_id: 'not-a-uuid', event_type: 'T' }]);
    await bad([{ event_id: randomUUID(), event_type: 'T', payload: Buffer.alloc(64 * 1024) }]);
    await expect(c.append('nope', { any: {} }, ev(1))).rejects.toMatchObject({ code: 3 });
    // A rejected request writes nothing: 6 events, 4 batches, all fsynced before the replies.
    expect(await c.append(randomUUID(), { any: {} }, [{ event_id: randomUUID(), event_type: 'x'.repeat(256) }])).toMatchObject({ first_global_position: '6' });
    c.close();
  }, 30_000);

  it('SubscribeAll replays, says caught_up, then delivers live events', async () => {
    const { c } = await start(tmpLog());
    const sid = randomUUID();
    await c.append(sid, { any: {} }, ev(2));
    const seen: string[] = [];
    const sub = c.subscribeAll(1, (m) => seen.push('event' in m ? m.event.global_position : 'caught_up'));
    await waitFor(async () => (seen.includes('caught_up') ? { done: true, value: 0 } : { done: false, reason: seen.join() }), { what: 'caught_up', deadlineMs: 5_000, initialDelayMs: 20 });
    await c.append(sid, { exact: 1 }, ev(2));
    await waitFor(async () => (seen.length >= 4 ? { done: true, value: 0 } : { done: false, reason: seen.join() }), { what: 'live events', deadlineMs: 5_000, initialDelayMs: 20 });
    expect(seen).toEqual(['1', 'caught_up', '2', '3']);
    sub.cancel();
    c.close();
  }, 30_000);

  it('a subscriber that falls more than EVENTFOLD_BROKER_CAPACITY events behind is cut off with INVALID_ARGUMENT', async () => {
    const { c } = await start(tmpLog(), { EVENTFOLD_BROKER_CAPACITY: '2' });
    let caught = false;
    let ended: { code?: number } | null | undefined;
    c.subscribeAll(0, (m) => void ('caught_up' in m && (caught = true)), (e) => (ended = e));
    await waitFor(async () => (caught ? { done: true, value: 0 } : { done: false, reason: 'not caught up' }), { what: 'caught_up', deadlineMs: 5_000, initialDelayMs: 20 });
    await c.append(randomUUID(), { any: {} }, ev(10));
    await waitFor(async () => (ended !== undefined ? { done: true, value: 0 } : { done: false, reason: 'still open' }), { what: 'subscription end', deadlineMs: 5_000, initialDelayMs: 20 });
    expect(ended).toMatchObject({ code: 3 });
    c.close();
  }, 30_000);

  it('SIGTERM: health Watch turns NOT_SERVING, then the process drains and exits 0', async () => {
    const { p, port, c } = await start(tmpLog());
    await c.append(randomUUID(), { any: {} }, ev(1));
    const { loadPackages } = await import('../../runbooks/eventfold-db/protocol/client.ts');
    const { health } = loadPackages();
    const grpc = await import('@grpc/grpc-js');
    const h = new health.Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const states: string[] = [];
    const w = h.Watch({ service: 'eventfold.EventStore' });
    w.on('data', (m: { status: string }) => states.push(m.status));
    w.on('error', () => undefined);
    await waitFor(async () => (states.length ? { done: true, value: 0 } : { done: false, reason: 'no status yet' }), { what: 'watch', deadlineMs: 5_000, initialDelayMs: 20 });
    c.close();
    p.kill('SIGTERM');
    const r = await p;
    expect(states).toEqual(['SERVING', 'NOT_SERVING']);
    expect(r.exitCode).toBe(0);
    expect(String(r.all)).toMatch(/SIGTERM received/);
    h.close();
  }, 30_000);

  it('exits 1 for a log of another version, or a bad batch magic followed by valid batches (file untouched)', async () => {
    const v2 = tmpLog();
    const h = encodeFileHeader();
    h.writeUInt32LE(2, 4);
    writeFileSync(v2, h);
    const a = await run({ EVENTFOLD_DATA: v2 });
    expect(a.exitCode).toBe(1);
    expect(a.stdout).toMatch(/ERROR eventfold_db: .*version 2/);
    const bad = tmpLog();
    const mid = Buffer.from(encodeBatch([rec(1)]));
    mid.write('XXXX', 0, 'latin1');
    const bytes = Buffer.concat([encodeFileHeader(), encodeBatch([rec(0)]), mid, encodeBatch([rec(2)])]);
    writeFileSync(bad, bytes);
    const b = await run({ EVENTFOLD_DATA: bad });
    expect(b.exitCode).toBe(1);
    expect(b.stdout).toMatch(/corrupt/);
    expect(readFileSync(bad).equals(bytes)).toBe(true);
  }, 30_000);

  it('a corrupt last batch is truncated with a WARN line; the batches before it stay', async () => {
    const data = tmpLog();
    const last = Buffer.from(encodeBatch([rec(2)]));
    last.writeUInt8((last[40] as number) ^ 0xff, 40);
    const good = Buffer.concat([encodeFileHeader(), encodeBatch([rec(0)]), encodeBatch([rec(1)])]);
    writeFileSync(data, Buffer.concat([good, last]));
    const { c, p } = await start(data);
    expect((await c.readAll(0, 10)).map((e) => e.payload.toString())).toEqual(['e0', 'e1']);
    expect(statSync(data).size).toBe(good.length);
    expect((await c.append(randomUUID(), { any: {} }, ev(1))).first_global_position).toBe('2');
    c.close();
    p.kill('SIGTERM');
    expect(String((await p).all)).toMatch(/WARN eventfold_db: truncating torn tail/);
  }, 30_000);

  it('refuses only one of the TLS cert/key, bad capacities; metrics answer 404 elsewhere; metrics can be disabled', async () => {
    const data = tmpLog();
    const a = await run({ EVENTFOLD_DATA: data, EVENTFOLD_TLS_CERT: '/etc/hostname' });
    expect(a.exitCode).toBe(1);
    expect(a.stdout).toMatch(/EVENTFOLD_TLS_CERT and EVENTFOLD_TLS_KEY/);
    expect((await run({ EVENTFOLD_DATA: data, EVENTFOLD_BROKER_CAPACITY: 'lots' })).exitCode).toBe(1);
    const { metrics, c } = await start(tmpLog());
    expect((await fetch(`http://127.0.0.1:${metrics}/other`)).status).toBe(404);
    const m = await fetch(`http://127.0.0.1:${metrics}/metrics`);
    expect(m.headers.get('content-type')).toMatch(/text\/plain/);
    expect(await m.text()).toMatch(/# TYPE eventfold_global_position gauge\neventfold_global_position 0\n/);
    c.close();
    const off = await start(tmpLog(), { EVENTFOLD_METRICS_LISTEN: '' });
    await expect(fetch(`http://127.0.0.1:${off.metrics}/metrics`)).rejects.toThrow();
    off.c.close();
  }, 30_000);

  it('serves TLS when both cert and key are set', async (ctx) => {
    const dir = mkdtempSync(join(tmpdir(), 'ef-tls-'));
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    const r = await execa('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', key, '-out', cert], { reject: false });
    if (r.exitCode !== 0) return ctx.skip();
    const { c, port } = await start(tmpLog(), { EVENTFOLD_TLS_CERT: cert, EVENTFOLD_TLS_KEY: key, EVENTFOLD_TLS_CA_FOR_CLIENT: cert });
    expect((await c.append(randomUUID(), { any: {} }, ev(1))).last_global_position).toBe('0');
    const plain = new EventfoldClient(`127.0.0.1:${port}`, { deadlineMs: 1_000 });
    await expect(plain.health()).rejects.toMatchObject({ code: 14 });
    plain.close();
    c.close();
  }, 30_000);
});

describe('EventfoldDB stand-in: the release-shaped bundle', () => {
  it('scripts/build.ts makes one executable file that runs alone, with no proto files beside it', async () => {
    const root = new URL('../../', import.meta.url).pathname;
    const out = mkdtempSync(join(tmpdir(), 'ef-release-'));
    await execa('node', ['--import', 'tsx', join(root, 'scripts/build.ts')], { cwd: root });
    // Copied somewhere with no package.json and no protos, as a release binary would be.
    const bin = join(out, 'eventfold-db');
    copyFileSync(join(root, 'dist/standins/eventfold-db'), bin);
    chmodSync(bin, 0o755);
    const data = tmpLog();
    const a = await start(data, {}, ['--jitless', bin]);
    await a.c.append(randomUUID(), { no_stream: {} }, ev(2));
    expect((await a.c.readAll(0, 10)).map((e) => e.global_position)).toEqual(['0', '1']);
    a.c.close();
    a.p.kill('SIGTERM');
    expect((await a.p).exitCode).toBe(0);
    expect(await scanLog(data)).toMatchObject({ tail: 'clean', records: 2, lastGlobalPosition: 1n });
  }, 60_000);
});
