import { RunbookError } from '../../lib/core/errors.ts';
import { waitFor } from '../../lib/core/wait.ts';
import { OciServiceError, isOutOfCapacity } from './oci.ts';
import { type BackendView, type Member, type PoolApi, isLive, isRunning } from './pool.ts';

export interface ConvergeOptions {
  /** The instance configuration every member must run. */
  target: string;
  /** The pool size to end at (the size before the change started). */
  size: number;
  /** Fewest backends that must stay healthy and serving at every moment. */
  floor: number;
  log(message: string): void;
}

/** New backends that never became healthy: names the instance, the backend and the last answer. */
export class HealthGateError extends RunbookError {}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Brings the pool to `size` members of `target` without ever serving from fewer than `floor`
 * healthy backends. Every decision is made from what OCI reports now, so a run that was killed at
 * any point and is started again picks up where the pool is:
 *   surge to size + 1; wait (bounded) for the target's members to run and their backends to be OK;
 *   then, one old member at a time: drain its backend (keeping weight/backup/offline), wait the
 *   drain grace period, detach and terminate it (the pool launches a target replacement unless
 *   enough target members already exist, in which case the detach shrinks the pool).
 */
export async function converge(api: PoolApi, o: ConvergeOptions): Promise<void> {
  const c = api.c;
  const ips = new Map<string, string>();
  const pool0 = await api.pool();
  if (pool0.configId !== o.target) {
    o.log(`pool ${c.poolId}: instance configuration ${pool0.configId} -> ${o.target}`);
    await api.oci.call(['compute-management', 'instance-pool', 'update', '--instance-pool-id', c.poolId, '--instance-configuration-id', o.target], { write: true, what: 'switch the pool\'s instance configuration' });
  }
  if (api.oci.dryRun) {
    o.log(`would surge pool ${c.poolId} to ${o.size + 1}, replace every member not on ${o.target} one at a time (drain ${c.drainSeconds} s each), and end at size ${o.size}`);
    return;
  }
  const rounds = 4 * o.size + 20;
  for (let round = 0; round < rounds; round++) {
    const pool = await api.pool();
    const members = (await api.members()).filter(isLive);
    for (const m of members.filter(isRunning)) if (!ips.has(m.id)) {
      const ip = await api.privateIp(m.id);
      if (ip) ips.set(m.id, ip);
    }
    const old = members.filter((m) => m.configId !== o.target);
    const fresh = members.filter((m) => m.configId === o.target);
    if (!old.length) {
      if (pool.size < o.size) {
        await scaleTo(api, o, o.size);
        continue;
      }
      await waitHealthy(api, o, pool.size, ips);
      const backends = await api.backends();
      if (pool.size > o.size) {
        const extra = pickToRemove(fresh, backends, ips, c.backendPort);
        await removeMember(api, o, extra, backends, true, ips, members);
        continue;
      }
      for (const b of backends.filter((x) => x.drain && fresh.some((m) => `${ips.get(m.id)}:${c.backendPort}` === x.name))) {
        o.log(`backend ${b.name} was left draining by an interrupted run: undrain`);
        await api.setDrain(b, false);
      }
      return;
    }
    if (pool.size < o.size + 1) {
      await scaleTo(api, o, o.size + 1);
      continue;
    }
    await waitHealthy(api, o, pool.size - old.length, ips);
    // Health read after the gate: the round's first read predates the new backends turning OK,
    // and the floor must be counted on what serves now.
    const backends = await api.backends();
    const now = (await api.members()).filter(isLive);
    const victim = pickToRemove(now.filter((m) => m.configId !== o.target), backends, ips, c.backendPort);
    await removeMember(api, o, victim, backends, fresh.length >= o.size, ips, now);
  }
  throw new RunbookError('stepFailed', `pool ${c.poolId} did not converge on ${o.target} within ${rounds} rounds`, { hint: 'something else is changing the pool (autoscaling, another run?): inspect it, then re-run' });
}

/** Unhealthy or already draining members first: removing them takes nothing from what serves. */
function pickToRemove(ms: Member[], backends: BackendView[], ips: Map<string, string>, port: number): Member {
  const backendOf = (m: Member) => backends.find((b) => b.name === `${ips.get(m.id)}:${port}`);
  const rank = (m: Member) => (m.backendHealth !== 'OK' ? 0 : backendOf(m)?.drain ? 1 : 2);
  return [...ms].sort((a, b) => rank(a) - rank(b))[0] as Member;
}

async function removeMember(api: PoolApi, o: ConvergeOptions, m: Member, backends: BackendView[], decrement: boolean, ips: Map<string, string>, members: Member[]): Promise<void> {
  const c = api.c;
  const ip = ips.get(m.id) ?? (await api.privateIp(m.id));
  const name = ip ? `${ip}:${c.backendPort}` : null;
  const b = backends.find((x) => x.name === name);
  if (b && m.backendHealth === 'OK' && !b.offline) {
    if (!b.drain) {
      const serving = members.filter((x) => x.backendHealth === 'OK' && !backends.find((y) => y.name === `${ips.get(x.id)}:${c.backendPort}`)?.drain).length;
      if (serving - 1 < o.floor) {
        throw new RunbookError('stepFailed', `draining backend ${b.name} (instance ${m.id}) would leave ${serving - 1} healthy backends serving, under the floor of ${o.floor}`, { hint: 'wait for the other backends to be OK (oci lb backend-set-health get), or lower HEALTHY_FLOOR, then re-run' });
      }
      o.log(`drain backend ${b.name} (instance ${m.id}; weight ${b.weight}, backup ${b.backup}, offline ${b.offline} kept)`);
      await api.setDrain(b, true);
    }
    o.log(`waiting ${c.drainSeconds} s for requests in flight on ${b.name} to finish (drain grace period)`);
    await sleep(c.drainSeconds * 1000);
  }
  o.log(`detach and terminate instance ${m.id}${name ? ` (${name})` : ''}; ${decrement ? 'the pool shrinks by one' : 'the pool launches a replacement'}`);
  const r = await api.oci.call<{ data?: Record<string, unknown> }>(
    ['compute-management', 'instance-pool-instance', 'detach', '--instance-pool-id', c.poolId, '--instance-id', m.id, '--is-decrement-size', String(decrement), '--is-auto-terminate', 'true', '--wait-for-state', 'SUCCEEDED', '--wait-for-state', 'FAILED', '--max-wait-seconds', String(Math.ceil(c.runningWaitSeconds)), '--wait-interval-seconds', String(Math.max(1, Math.ceil(c.pollSeconds)))],
    { write: true, what: `detach instance ${m.id}` },
  ).catch((e: unknown) => {
    // A detach that already happened (a killed run's) leaves the instance out of the pool: fine.
    if (e instanceof OciServiceError && e.status === 404) return null;
    throw e;
  });
  const st = r?.data?.status;
  if (r && st !== 'SUCCEEDED') throw new RunbookError('stepFailed', `detaching instance ${m.id} ended ${String(st)}`, { hint: 're-run; the runbook converges from where it stopped' });
  ips.delete(m.id);
}

/** A scale-up that meets "Out of host capacity" is tried CAPACITY_RETRIES times, then refused. */
export async function scaleTo(api: PoolApi, o: ConvergeOptions, n: number): Promise<void> {
  const c = api.c;
  for (let attempt = 1; ; attempt++) {
    try {
      o.log(`pool ${c.poolId}: size -> ${n}`);
      await api.oci.call(['compute-management', 'instance-pool', 'update', '--instance-pool-id', c.poolId, '--size', String(n)], { write: true, what: `resize pool ${c.poolId} to ${n}` });
      return;
    } catch (e) {
      if (!isOutOfCapacity(e)) throw e;
      if (attempt >= c.capacityRetries) {
        throw new RunbookError('stepFailed', `pool ${c.poolId}: out of host capacity for size ${n} after ${attempt} tries`, { hint: 'A1 capacity comes and goes: re-run later, or add fault/availability domains to the pool\'s placement' });
      }
      o.log(`out of host capacity for size ${n} (try ${attempt} of ${c.capacityRetries}); trying again in ${c.capacityRetrySeconds} s`);
      await sleep(c.capacityRetrySeconds * 1000);
    }
  }
}

/** Bounded: `expected` target members RUNNING with an IP (MAX_WAIT_SECONDS), then their backends OK (LB_WAIT_TIMEOUT_SECONDS). */
async function waitHealthy(api: PoolApi, o: ConvergeOptions, expected: number, ips: Map<string, string>): Promise<void> {
  const c = api.c;
  const poll = { initialDelayMs: c.pollSeconds * 1000, maxDelayMs: c.pollSeconds * 1000, factor: 1, jitter: 0.1 };
  const running = await waitFor(
    async () => {
      const ms = (await api.members()).filter((m) => m.configId === o.target && isLive(m));
      const up = ms.filter(isRunning);
      for (const m of up) if (!ips.has(m.id)) {
        const ip = await api.privateIp(m.id);
        if (ip) ips.set(m.id, ip);
      }
      const ready = up.filter((m) => ips.has(m.id));
      return ready.length >= expected ? { done: true as const, value: ready } : { done: false as const, reason: `${ready.length} of ${expected} running with an IP (${ms.map((m) => m.state).join(', ') || 'none yet'})` };
    },
    { what: `${expected} instance(s) of configuration ${o.target} RUNNING in pool ${c.poolId}`, deadlineMs: c.runningWaitSeconds * 1000, ...poll, hint: `oci compute-management instance-pool list-instances --instance-pool-id ${c.poolId} --compartment-id ${c.compartmentId}` },
  );
  const last = new Map<string, string>();
  try {
    await waitFor(
      async () => {
        const pending: string[] = [];
        for (const m of running) {
          const name = `${ips.get(m.id)}:${c.backendPort}`;
          if (last.get(name)?.startsWith('OK')) continue;
          const h = await api.health(name).catch((e: unknown) => {
            if (e instanceof OciServiceError && e.status === 404) return { status: 'NOT_REGISTERED', last: 'the pool has not added it to the backend set yet' };
            throw e;
          });
          last.set(name, `${h.status} (${h.last})`);
          // UNKNOWN, WARNING, CRITICAL and UNKNOWN_ENUM_VALUE are all "not yet".
          if (h.status !== 'OK') pending.push(`${name} ${h.status}`);
          else o.log(`backend ${name} (instance ${m.id}) is OK`);
        }
        return pending.length ? { done: false as const, reason: pending.join(', ') } : { done: true as const, value: undefined };
      },
      { what: `backends of configuration ${o.target} OK in ${c.backendSet}`, deadlineMs: c.healthWaitSeconds * 1000, ...poll },
    );
  } catch (e) {
    const bad = running.map((m) => ({ m, name: `${ips.get(m.id)}:${c.backendPort}` })).filter((x) => !last.get(x.name)?.startsWith('OK'));
    const which = bad.map((x) => `instance ${x.m.id} backend ${x.name} last health ${last.get(x.name) ?? 'none'}`).join('; ');
    throw new HealthGateError('stepFailed', `new backends never became healthy within ${c.healthWaitSeconds} s: ${which}`, { hint: `look at the instance's app (journalctl -u triviapay on it), then: oci lb backend-health get --load-balancer-id ${c.lbId} --backend-set-name ${c.backendSet} --backend-name ${bad[0]?.name ?? 'IP:PORT'}`, cause: e });
  }
}
