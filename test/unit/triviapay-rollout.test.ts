// triviapay.rollout against the OCI CLI stand-in and the stand-in cloud: real HTTP instances on
// 127.0.0.N, a load balancer that health-checks (150 ms interval, 2 s timeout, 2 retries) and
// proxies, with time scaled down (drain grace 1 s, polls every 0.2 s).
import { execa } from 'execa';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TAG_PREVIOUS } from '../../runbooks/triviapay/pool.ts';
import { IDS } from '../standins/oci/cloud-seed.ts';
import { startTraffic } from './triviapay-traffic.ts';
import { ROOT, type World, finished, poolSummary, runbook, startWorld, waitUntil } from './triviapay-world.ts';

let worlds: World[] = [];
afterEach(async () => {
  for (const w of worlds.splice(0)) await w.stop();
});
const world = async (o: Parameters<typeof startWorld>[0]) => {
  const w = await startWorld(o);
  worlds.push(w);
  return w;
};

describe('triviapay.rollout', { timeout: 180_000 }, () => {
  it('rolls A to B under traffic: no failed request, never under the floor, in-flight requests finish during drain', async () => {
    const w = await world({ size: 2, tag: 'A' });
    const traffic = startTraffic(w.lbUrl, { slowMs: 700, slowEveryMs: 100 });
    const t0 = Date.now();
    const r = await finished(runbook(w, 'triviapay.rollout', w.env({ IMAGE_TAG: 'B' })));
    const t1 = Date.now();
    const samples = await traffic.stop();
    expect(r.exitCode, r.stderr + r.stdout.slice(-3000)).toBe(0);

    const s = poolSummary(w.state());
    expect(s).toMatchObject({ size: 2, configImage: 'B', images: ['B', 'B'], drained: [], orphans: [] });
    expect(s.backends).toEqual(s.memberBackends);
    expect(Object.keys(s.tags)).toEqual([]);

    const failed = samples.filter((x) => x.status !== 200);
    expect(failed, `${JSON.stringify(failed.slice(0, 3))} serving: ${JSON.stringify(w.servingLog().slice(-12))} run: ${t0}-${t1}`).toEqual([]);
    expect(samples.length).toBeGreaterThan(50);
    const during = w.servingLog().filter((x) => x.t >= t0 && x.t <= t1);
    expect(Math.min(...during.map((x) => x.serving), 2)).toBeGreaterThanOrEqual(2);
    const before = w.servingLog().filter((x) => x.t < t0).at(-1);
    expect(before?.serving).toBe(2);

    // Each old backend was drained while slow requests were on it, and they finished with 200. The
    // drain takes effect when the load balancer's serving count drops after the CLI call started.
    const drains = w.calls().filter((c) => c.argv.includes('update') && c.argv.includes('--drain') && c.argv[c.argv.indexOf('--drain') + 1] === 'true');
    expect(drains.length).toBe(2);
    const log = w.servingLog();
    for (const d of drains) {
      const name = d.argv[d.argv.indexOf('--backend-name') + 1] as string;
      const i = log.findIndex((x, k) => k > 0 && x.t >= Date.parse(d.at) && x.serving < (log[k - 1]?.serving ?? 0));
      expect(i, `the serving count drops after the drain of ${name}`).toBeGreaterThan(0);
      const at = log[i]?.t as number;
      const across = samples.filter((x) => x.backend === name && x.path.startsWith('/slow') && x.start < at && x.end > at);
      expect(across.length, `a slow request in flight on ${name} across its drain`).toBeGreaterThan(0);
      expect(across.every((x) => x.status === 200)).toBe(true);
    }
  });

  it('returns to A by itself when B never becomes healthy, capacity restored', async () => {
    const w = await world({ size: 1, tag: 'A', images: { bad: { healthStatus: 503 } } });
    const r = await finished(runbook(w, 'triviapay.rollout', w.env({ IMAGE_TAG: 'bad', LB_WAIT_TIMEOUT_SECONDS: '3' })));
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/never became healthy within 3 s: instance ocid1\.instance\S+ backend 127\.0\.0\.\d+:\d+ last health CRITICAL \(INVALID_STATUS_CODE/);
    expect(r.stderr).toMatch(/back on configuration ocid1\.instanceconfiguration\S+ at size 1/);
    await waitUntil(() => poolSummary(w.state()).orphans.length === 0, 10_000, 'the bad instance to terminate');
    const s = poolSummary(w.state());
    expect(s).toMatchObject({ size: 1, configImage: 'A', images: ['A'], drained: [], orphans: [] });
    expect(s.backends).toEqual(s.memberBackends);
    expect(Object.keys(s.tags)).toEqual([]);
    expect(w.servingLog().at(-1)?.serving).toBe(1);
  });

  it('the new configuration carries the first-boot user-data; nothing new is unchanged; new user-data alone makes a new configuration', async () => {
    const w = await world({ size: 1, tag: 'A' });
    const current = () => {
      const s = w.state();
      const c = s.configs[s.pools[IDS.pool]?.instanceConfigurationId as string];
      return { id: c?.id as string, tags: c?.freeformTags ?? {}, metadata: (c?.instanceDetails.launchDetails as { metadata: Record<string, string> }).metadata };
    };
    const userData = async (env: string) => Buffer.from(String((await execa('node', [join(ROOT, 'dist/cli/runbook.mjs'), 'user-data', 'triviapay.rollout', '--env', env], { stripFinalNewline: false })).stdout)).toString('base64');
    const env = w.env({ IMAGE_TAG: 'B' });
    const r = await finished(runbook(w, 'triviapay.rollout', env));
    expect(r.exitCode, r.stderr).toBe(0);
    const first = current();
    expect(first.metadata.triviapay_image_tag).toBe('B');
    expect(first.metadata.user_data).toBe(await userData(env));
    expect(first.metadata.user_data).not.toBe('I2Nsb3VkLWNvbmZpZwo=');

    const again = await finished(runbook(w, 'triviapay.rollout', env));
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.events.filter((e) => e.type === 'step-unchanged')).toHaveLength(2);
    expect(current().id).toBe(first.id);

    const env2 = w.env({ IMAGE_TAG: 'B', BOOT_DEADLINE_SECONDS: '900' });
    const r2 = await finished(runbook(w, 'triviapay.rollout', env2));
    expect(r2.exitCode, r2.stderr).toBe(0);
    expect(r2.stdout).toContain('new configuration with new first-boot user-data');
    const second = current();
    expect(second.id).not.toBe(first.id);
    expect(second.tags[TAG_PREVIOUS]).toBe(first.id);
    expect(second.metadata.user_data).toBe(await userData(env2));
    expect(poolSummary(w.state())).toMatchObject({ size: 1, images: ['B'], orphans: [] });
  });

  it('retries "Out of host capacity" on the scale-up and then succeeds', async () => {
    const w = await world({ size: 1, tag: 'A', faults: [{ match: 'compute-management instance-pool update', argv: '--size', status: 500, code: 'InternalError', message: 'Out of host capacity.', times: 2 }] });
    const r = await finished(runbook(w, 'triviapay.rollout', w.env({ IMAGE_TAG: 'B', CAPACITY_RETRIES: '3' })));
    expect(r.exitCode, r.stderr).toBe(0);
    const logs = r.events.filter((e) => e.type === 'log').map((e) => (e as { message: string }).message);
    expect(logs.filter((m) => m.includes('out of host capacity'))).toHaveLength(2);
    expect(poolSummary(w.state())).toMatchObject({ size: 1, images: ['B'], orphans: [] });
  });

  it('gives up on "Out of host capacity" after CAPACITY_RETRIES, the pool at its original size and configuration', async () => {
    const w = await world({ size: 1, tag: 'A', faults: [{ match: 'compute-management instance-pool update', argv: '--size', status: 500, code: 'InternalError', message: 'Out of host capacity.' }] });
    const r = await finished(runbook(w, 'triviapay.rollout', w.env({ IMAGE_TAG: 'B', CAPACITY_RETRIES: '2' })));
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/out of host capacity for size 2 after 2 tries/);
    const s = poolSummary(w.state());
    expect(s).toMatchObject({ size: 1, configImage: 'A', images: ['A'], drained: [], orphans: [] });
    expect(Object.keys(s.tags)).toEqual([]);
    expect(w.state().pools[IDS.pool]?.size).toBe(1);
  });
});
