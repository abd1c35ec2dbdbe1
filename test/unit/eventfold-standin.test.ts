// The EventfoldDB stand-in behaves like the real server (reference facts) on 127.0.0.1.
import { execa, type ResultPromise } from 'execa';
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdtempSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../lib/core/wait.ts';
import { EventfoldClient } from '../../lib/eventfold/client.ts';
import { scanLog } from '../../lib/eventfold/logformat.ts';

const SERVER = new URL('../standins/eventfold-db/server.ts', import.meta.url).pathname;
const procs: ResultPromise[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) {
    p.kill('SIGKILL');
    await p.catch(() => undefined);
  }
});

const freePort = () =>
  new Promise<number>((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address() as { port: number };
      s.close(() => res(a.port));
    });
  });

async function start(data: string, extra: Record<string, string> = {}) {
  const port = await freePort();
  const metrics = await freePort();
  const p = execa('node', ['--import', 'tsx', SERVER], { env: { EVENTFOLD_DATA: data, EVENTFOLD_LISTEN: `127.0.0.1:${port}`, EVENTFOLD_METRICS_LISTEN: `127.0.0.1:${metrics}`, ...extra }, reject: false, all: true });
  procs.push(p);
  const c = new EventfoldClient(`127.0.0.1:${port}`, { deadlineMs: 2_000, token: extra.TOKEN });
  await waitFor(async () => {
    if (p.exitCode !== null && p.exitCode !== undefined) return { done: false, retryable: false, reason: `exited ${p.exitCode}` };
    return c.health().then((s) => (s === 'SERVING' ? { done: true, value: undefined } : { done: false, reason: s }), (e: Error) => ({ done: false, reason: e.message }));
  }, { what: 'stand-in health', deadlineMs: 20_000, initialDelayMs: 200 });
  return { p, c, port, metrics };
}

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
