// triviapay.rollout killed (SIGKILL, no chance to clean up) at several points of one rollout, then
// started again each time: the pool converges with no orphan instance, no backend left draining,
// no surge left behind, and the traffic through the load balancer never fails.
import { afterEach, expect, it } from 'vitest';
import { startTraffic } from './triviapay-traffic.ts';
import { type World, finished, poolSummary, runbook, startWorld, waitUntil } from './triviapay-world.ts';

let w: World | undefined;
afterEach(async () => {
  await w?.stop();
  w = undefined;
});

const has = (argv: string[], words: string[]) => words.every((x) => argv.includes(x));

it('converges when run again after being killed at several points', { timeout: 300_000 }, async () => {
  w = await startWorld({ size: 2, tag: 'A' });
  const world = w;
  const env = world.env({ IMAGE_TAG: 'B' });
  const traffic = startTraffic(world.lbUrl, { slowMs: 300, slowEveryMs: 200 });
  // The calls a run is killed right after (each matched among the calls that run made).
  const points: [string, string[]][] = [
    ['the switch to the new configuration', ['update', '--instance-configuration-id']],
    ['the surge', ['update', '--size', '3']],
    ['the first drain', ['--drain', 'true']],
    ['a detach', ['detach']],
  ];
  const killedAt: string[] = [];
  for (const [what, words] of points) {
    const from = world.calls().length;
    const p = runbook(world, 'triviapay.rollout', env);
    const seen = await waitUntil(() => world.calls().slice(from).some((c) => has(c.argv, words)), 150_000, `the rollout to reach ${what}`).then(() => true, () => false);
    p.kill('SIGKILL');
    await p.catch(() => undefined);
    if (seen) killedAt.push(what);
  }
  expect(killedAt).toEqual(points.map(([what]) => what));
  const r = await finished(runbook(world, 'triviapay.rollout', env));
  const samples = await traffic.stop();
  expect(r.exitCode, r.stderr + r.stdout.slice(-2000)).toBe(0);
  await waitUntil(() => poolSummary(world.state()).orphans.length === 0, 10_000, 'no instance outside the pool still running');
  const s = poolSummary(world.state());
  expect(s).toMatchObject({ size: 2, configImage: 'B', images: ['B', 'B'], drained: [], orphans: [] });
  expect(s.backends).toEqual(s.memberBackends);
  expect(Object.keys(s.tags)).toEqual([]);
  expect(samples.filter((x) => x.status !== 200)).toEqual([]);
  expect(Math.min(...world.servingLog().slice(1).map((x) => x.serving))).toBeGreaterThanOrEqual(2);
  // A run on the converged pool changes nothing.
  const again = await finished(runbook(world, 'triviapay.rollout', env));
  expect(again.exitCode).toBe(0);
  expect(again.events.filter((e) => e.type === 'step-unchanged')).toHaveLength(2);
});
