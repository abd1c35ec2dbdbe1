// The smoke checklist against the Gratonite stand-ins and a real coturn on 127.0.0.1: all six
// green on a healthy world, and each failure reported on its own line naming the check.
import { describe, expect, it } from 'vitest';
import { CHECKS, type CheckLine, runSmoke, uploadGate } from '../../runbooks/gratonite/smoke/checks.ts';
import { websocketOpens } from '../../runbooks/gratonite/smoke/realtime.ts';
import { turnAllocate } from '../../runbooks/gratonite/smoke/turn.ts';
import { smokeLine } from '../../runbooks/gratonite/smoke.ts';
import { spawnedProcesses } from './spawned.ts';
import { TURN_PASS, TURN_USER, world } from './gratonite-world.ts';
import { freePort } from '../../lib/vm/free-port.ts';

const procs = spawnedProcesses();
const byName = (lines: CheckLine[]) => Object.fromEntries(lines.map((l) => [l.name, l]));

describe('gratonite smoke checklist', () => {
  it('reports the six checks, one line each, all passing on a healthy world', async () => {
    const t = await world(procs);
    const printed: string[] = [];
    const lines = await runSmoke(t, (l) => printed.push(smokeLine(l)));
    expect(lines.map((l) => l.name)).toEqual([...CHECKS]);
    for (const l of lines) expect(l.ok, `${l.name}: ${l.detail}`).toBe(true);
    expect(printed).toHaveLength(6);
    expect(printed[0]).toMatch(/^ok {3}health: .*200 status ok/);
    expect(byName(lines)['public-file']?.detail).toMatch(/renders without auth .*private id answers 401/);
    expect(byName(lines)['turn-voice']?.detail).toMatch(/udp relay 127\.0\.0\.1:\d+, tcp relay 127\.0\.0\.1:\d+; voice disabled/);
  }, 90_000);

  it('a degraded API fails health (503 said) and the others still report their own result', async () => {
    const t = await world(procs, { health: 'degraded' });
    const lines = byName(await runSmoke(t));
    expect(lines.health?.ok).toBe(false);
    expect(lines.health?.detail).toMatch(/answered 503 .*degraded.*expected 200 and status "ok"/);
    expect(lines['register-login']?.ok).toBe(true);
  }, 90_000);

  it('a wrong TURN password fails turn-voice with coturn\'s 401, and a missing voice port fails it too', async () => {
    const t = await world(procs, { turnPassword: 'not-the-password' });
    const l1 = byName(await runSmoke(t))['turn-voice'];
    expect(l1?.ok).toBe(false);
    expect(l1?.detail).toMatch(/refused: 401/);
    const closed = await freePort();
    const l2 = byName(await runSmoke({ ...t, turn: { ...t.turn, password: TURN_PASS }, voice: { host: '127.0.0.1', port: closed } }))['turn-voice'];
    expect(l2?.ok).toBe(false);
    expect(l2?.detail).toMatch(new RegExp(`voice 127\\.0\\.0\\.1:${closed}: connect ECONNREFUSED`));
  }, 90_000);

  it('CORS for another origin fails register-login, and the checks that need users say so', async () => {
    const t = await world(procs);
    const lines = byName(await runSmoke({ ...t, app: t.app.replace('127.0.0.1', 'localhost') }));
    expect(lines['register-login']?.ok).toBe(false);
    expect(lines['register-login']?.detail).toMatch(/Access-Control-Allow-Origin is missing/);
    expect(lines.realtime?.detail).toBe('not run: needs register-login');
    expect(lines['public-file']?.detail).toBe('not run: needs attachment');
  }, 90_000);

  it('the bring-up gates: a websocket opens without an account; an upload renders on cdn.', async () => {
    const t = await world(procs);
    await expect(websocketOpens(t.api, t.reach)).resolves.toMatch(/open \(transport websocket\)/);
    await expect(uploadGate(t)).resolves.toMatch(/renders them without auth/);
    const dead = `http://127.0.0.1:${await freePort()}`;
    await expect(websocketOpens(dead, t.reach)).rejects.toThrow(/websocket to .* failed/);
  }, 90_000);

  it('TURN Allocate succeeds over UDP and TCP with the credential', async () => {
    const t = await world(procs);
    for (const transport of ['udp', 'tcp'] as const) await expect(turnAllocate({ ...t.turn, username: TURN_USER, transport, timeoutMs: 5000 })).resolves.toMatch(/^127\.0\.0\.1:\d+$/);
  }, 60_000);
});
