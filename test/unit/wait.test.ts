import { describe, expect, it } from 'vitest';
import { waitFor } from '../../lib/core/wait.ts';

function fakeClock() {
  let t = 0;
  const sleeps: number[] = [];
  return { now: () => t, sleep: async (ms: number) => void (sleeps.push(ms), (t += ms)), sleeps };
}

describe('waitFor', () => {
  it('returns as soon as the attempt is done', async () => {
    const c = fakeClock();
    let n = 0;
    const v = await waitFor(async () => (++n >= 3 ? { done: true, value: 'ok' } : { done: false, reason: 'not yet' }), { what: 'x', deadlineMs: 60_000, ...c, jitter: 0 });
    expect(v).toBe('ok');
    expect(c.sleeps).toEqual([500, 1000]);
  });

  it('gives up at the deadline with the last reason, never sleeping past it', async () => {
    const c = fakeClock();
    await expect(waitFor(async () => ({ done: false, reason: 'port closed' }), { what: 'health', deadlineMs: 5_000, ...c, maxDelayMs: 2_000 })).rejects.toThrow(/health: gave up after 5 s \(last: port closed\)/);
    expect(c.sleeps.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(5_000);
  });

  it('stops at once on a failure that a retry cannot fix', async () => {
    const c = fakeClock();
    let n = 0;
    await expect(waitFor(async () => (n++, { done: false, retryable: false, reason: '403 forbidden' }), { what: 'put', deadlineMs: 60_000, ...c })).rejects.toThrow(/put: 403 forbidden/);
    expect(n).toBe(1);
  });

  it('backs off exponentially with jitter, capped', async () => {
    for (const r of [0, 0.5, 0.999]) {
      const c = fakeClock();
      await expect(waitFor(async () => ({ done: false, reason: 'x' }), { what: 'x', deadlineMs: 100_000, ...c, maxDelayMs: 8_000, jitter: 0.5, random: () => r })).rejects.toThrow();
      const f = 1 - 0.5 * r;
      // Every sleep but the last is the capped exponential delay scaled by the jitter factor;
      // the last one is cut to what is left before the deadline.
      const body = c.sleeps.slice(0, -1);
      expect(body.slice(0, 6)).toEqual([500, 1000, 2000, 4000, 8000, 8000].map((d) => d * f));
      expect(Math.max(...c.sleeps)).toBeLessThanOrEqual(8_000);
      expect(c.sleeps.reduce((a, b) => a + b, 0)).toBe(100_000);
    }
  });

  it('draws a fresh jitter for every delay', async () => {
    const c = fakeClock();
    const draws = [0.1, 0.9, 0.3];
    let i = 0;
    await expect(waitFor(async () => ({ done: false, reason: 'x' }), { what: 'x', deadlineMs: 3_000, ...c, jitter: 1, random: () => draws[i++ % 3]! })).rejects.toThrow();
    expect(c.sleeps.slice(0, 3)).toEqual([500 * 0.9, 1000 * 0.1, 2000 * 0.7].map((x) => expect.closeTo(x, 6)));
  });
});
