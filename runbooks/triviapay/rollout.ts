import { RunbookError } from '../../lib/core/errors.ts';
import type { Step, StepContext } from '../../lib/engine/types.ts';
import { need, type TriviapayConfig } from './config.ts';
import { converge } from './converge.ts';
import { checkMetadataSize, userDataMetadata } from './instance.ts';
import { Oci } from './oci.ts';
import { PoolApi, type PoolView, TAG_FLOOR, TAG_IMAGE, TAG_PREVIOUS, TAG_SIZE, isLive } from './pool.ts';

/** The pool remembers where a change came from: a failed one returns there by itself. */
export const TAG_FROM = 'triviapay-rollout-from';

type Ctx = StepContext<TriviapayConfig>;
export const apiOf = (ctx: Ctx) => new PoolApi(new Oci(ctx.exec, ctx.config), ctx.config);

interface ConfigView {
  id: string;
  tags: Record<string, string>;
  /** instance-details as printed (kebab-case keys). */
  details: Record<string, unknown>;
  /** launch-details.metadata: what the instance reads at boot (image tag, token version). */
  metadata: Record<string, string>;
  image: string;
}

export async function getConfig(api: PoolApi, id: string): Promise<ConfigView> {
  const d = await api.oci.data<Record<string, unknown>>(['compute-management', 'instance-configuration', 'get', '--instance-configuration-id', id]);
  if (!d) throw new RunbookError('stepFailed', `instance configuration ${id}: no answer`);
  const details = (d['instance-details'] ?? {}) as Record<string, unknown>;
  const meta = ((details['launch-details'] as Record<string, unknown> | undefined)?.metadata ?? {}) as Record<string, string>;
  return { id, tags: (d['freeform-tags'] ?? {}) as Record<string, string>, details, metadata: meta, image: meta.triviapay_image_tag ?? '(none)' };
}

const FREEFORM = new Set(['metadata', 'extended-metadata', 'freeform-tags', 'defined-tags']);
/** The CLI prints models kebab-case but takes complex input in the API's camelCase; free-form dicts keep their keys; nulls are left out. */
export function toApiJson(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(toApiJson);
  if (!v || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== null)
      .map(([k, x]) => [k.replace(/-([a-z0-9])/g, (_, ch: string) => ch.toUpperCase()), FREEFORM.has(k) ? x : toApiJson(x)]),
  );
}

/** Records the change on the pool and switches its configuration, in one update. */
async function switchPool(api: PoolApi, pool: PoolView, target: string, floor: number | undefined): Promise<void> {
  const tags = { ...pool.tags, [TAG_SIZE]: pool.tags[TAG_SIZE] ?? String(pool.size), [TAG_FLOOR]: pool.tags[TAG_FLOOR] ?? String(floor ?? pool.tags[TAG_SIZE] ?? pool.size), [TAG_FROM]: pool.tags[TAG_FROM] ?? pool.configId };
  if (Number(tags[TAG_FLOOR]) > Number(tags[TAG_SIZE])) throw new RunbookError('config', `HEALTHY_FLOOR ${tags[TAG_FLOOR]} is above the pool's size ${tags[TAG_SIZE]}: no rollout could keep it`, { hint: 'lower HEALTHY_FLOOR' });
  await api.oci.call(['compute-management', 'instance-pool', 'update', '--instance-pool-id', pool.id, '--instance-configuration-id', target, '--freeform-tags', JSON.stringify(tags), '--force'], { write: true, what: `point pool ${pool.id} at configuration ${target}` });
}

async function clearTags(api: PoolApi): Promise<void> {
  const pool = await api.pool();
  const tags = Object.fromEntries(Object.entries(pool.tags).filter(([k]) => k !== TAG_SIZE && k !== TAG_FLOOR && k !== TAG_FROM));
  await api.oci.call(['compute-management', 'instance-pool', 'update', '--instance-pool-id', pool.id, '--freeform-tags', JSON.stringify(tags), '--force'], { write: true, what: 'clear the rollout record on the pool' });
}

/** What a new configuration changes: metadata keys (user_data aside), said in words; null when the pool already has it. */
export interface ConfigWant {
  metadata: Record<string, string>;
  label: string;
  name: string;
}

/**
 * A copy of the pool's current instance configuration with some metadata changed and user_data
 * rendered afresh from the shipped template (recording the configuration it replaces, for
 * rollback), then the pool pointed at it with the size at the start, the floor and where it came
 * from recorded on the pool, in one update. `want` is told whether that user_data differs from the
 * current configuration's. Running instances are not touched by this: the replace step that
 * follows does that.
 */
export function newConfigurationStep(o: { id: string; title: string; doc: string; runbook: string; want: (ctx: Ctx, cur: ConfigView, newUserData: boolean) => Promise<ConfigWant | null> }): Step<TriviapayConfig> {
  const plan = async (ctx: Ctx, cur: ConfigView) => {
    const userData = userDataMetadata(ctx.config);
    return { userData, want: await o.want(ctx, cur, cur.metadata.user_data !== userData) };
  };
  return {
    id: o.id,
    title: o.title,
    doc: o.doc,
    async check(ctx) {
      need(ctx.config, o.runbook, ['poolId', 'compartmentId', 'lbId']);
      const api = apiOf(ctx);
      const pool = await api.pool();
      const cfg = await getConfig(api, pool.configId);
      const { want } = await plan(ctx, cfg);
      return want ? { done: false, reason: `pool runs ${cfg.id} (image ${cfg.image}); new configuration with ${want.label}` } : { done: true, reason: `pool ${pool.id} is on configuration ${cfg.id} (image ${cfg.image})` };
    },
    async apply(ctx) {
      const api = apiOf(ctx);
      const pool = await api.pool();
      const cur = await getConfig(api, pool.configId);
      const p = await plan(ctx, cur);
      const want = p.want as ConfigWant;
      const details = toApiJson(cur.details) as Record<string, Record<string, unknown>>;
      const launch = details.launchDetails ?? {};
      launch.metadata = { ...((launch.metadata ?? {}) as Record<string, string>), ...want.metadata, user_data: p.userData };
      checkMetadataSize(launch.metadata as Record<string, string>);
      details.launchDetails = launch;
      const image = want.metadata.triviapay_image_tag ?? cur.image;
      const created = await api.oci.data<Record<string, unknown>>(
        ['compute-management', 'instance-configuration', 'create', '--compartment-id', ctx.config.compartmentId, '--display-name', want.name, '--instance-details', JSON.stringify(details), '--freeform-tags', JSON.stringify({ [TAG_PREVIOUS]: cur.id, [TAG_IMAGE]: image })],
        { write: true, what: `create an instance configuration with ${want.label}` },
      );
      if (api.oci.dryRun) return;
      const id = String(created?.id);
      ctx.log(`instance configuration ${id} (${want.label}) replaces ${cur.id} (image ${cur.image})`);
      await switchPool(api, pool, id, ctx.config.healthyFloor);
    },
  };
}

export function configurationStep(): Step<TriviapayConfig> {
  return newConfigurationStep({
    id: 'triviapay.configuration',
    title: 'Instance configuration with the new image tag and first-boot user-data, and the pool pointed at it',
    doc: 'Copies the pool\'s current instance configuration with `metadata.triviapay_image_tag` set to `IMAGE_TAG` and `metadata.user_data` set to this version\'s first boot (`runbook user-data triviapay.rollout`; refused over OCI\'s 32,000-byte metadata limit), recording the configuration it replaces, for rollback; then points the pool at it and records the size at the start, the floor and where it came from as freeform tags on the pool, in one update. Changing the configuration touches no running instance.',
    runbook: 'triviapay.rollout',
    want: async (ctx, cur, newUserData) => {
      need(ctx.config, 'triviapay.rollout', ['imageTag']);
      const tag = ctx.config.imageTag;
      const changes = [cur.image === tag ? '' : `image ${tag}`, newUserData ? 'new first-boot user-data' : ''].filter(Boolean);
      return changes.length ? { metadata: { triviapay_image_tag: tag }, label: changes.join(' and '), name: `triviapay-${tag}` } : null;
    },
  });
}

export function rollbackSwitchStep(): Step<TriviapayConfig> {
  const target = async (api: PoolApi, c: TriviapayConfig, pool: PoolView) => {
    if (c.rollbackTo !== 'previous') return c.rollbackTo;
    const prev = (await getConfig(api, pool.configId)).tags[TAG_PREVIOUS];
    if (!prev) throw new RunbookError('precondition', `configuration ${pool.configId} records no previous configuration`, { hint: 'name one: ROLLBACK_TO=ocid1.instanceconfiguration...' });
    return prev;
  };
  return {
    id: 'triviapay.rollback-configuration',
    title: 'Pool pointed back at the previous (or the named) instance configuration',
    doc: '`ROLLBACK_TO=previous` takes the configuration the current one replaced (recorded when it was created); an OCID names one. Each run with `previous` steps back once.',
    async check(ctx) {
      need(ctx.config, 'triviapay.rollback', ['poolId', 'compartmentId', 'lbId']);
      const api = apiOf(ctx);
      const pool = await api.pool();
      if (pool.tags[TAG_SIZE]) return { done: true, reason: `a change to ${pool.configId} is in progress; the next step finishes it` };
      if (ctx.config.rollbackTo !== 'previous' && pool.configId === ctx.config.rollbackTo) return { done: true, reason: `pool is on ${pool.configId}` };
      return { done: false, reason: `pool is on ${pool.configId}; rolling back to ${await target(api, ctx.config, pool)}` };
    },
    async apply(ctx) {
      const api = apiOf(ctx);
      const pool = await api.pool();
      const to = await target(api, ctx.config, pool);
      const cfg = await getConfig(api, to);
      ctx.log(`rolling back to configuration ${to} (image ${cfg.image})`);
      await switchPool(api, pool, to, ctx.config.healthyFloor);
    },
    async verify(ctx) {
      if ((await apiOf(ctx).pool()).tags[TAG_SIZE] === undefined && !ctx.exec.dryRun) throw new RunbookError('stepFailed', 'the pool records no change in progress after the switch');
    },
  };
}

/** Whether the pool has settled: no change recorded, every member on its configuration and OK. */
async function settled(api: PoolApi): Promise<{ done: boolean; reason: string }> {
  const pool = await api.pool();
  if (pool.tags[TAG_SIZE]) return { done: false, reason: `a change to ${pool.configId} is recorded (size at the start ${pool.tags[TAG_SIZE]})` };
  const ms = (await api.members()).filter(isLive);
  const off = ms.filter((m) => m.configId !== pool.configId);
  if (off.length) return { done: false, reason: `${off.length} member(s) still on another configuration` };
  const bad = ms.filter((m) => m.backendHealth !== 'OK');
  if (ms.length !== pool.size || bad.length) return { done: false, reason: `${ms.length - bad.length} of ${pool.size} members OK` };
  const drained = (await api.backends()).filter((b) => b.drain);
  if (drained.length) return { done: false, reason: `backend(s) left draining: ${drained.map((b) => b.name).join(', ')}` };
  return { done: true, reason: `${ms.length} member(s) on ${pool.configId}, all OK` };
}

export function replaceStep(): Step<TriviapayConfig> {
  return {
    id: 'triviapay.replace',
    title: 'Members replaced behind the health gate, never under the floor',
    doc: 'Surge to size + 1 (`Out of host capacity` retried `CAPACITY_RETRIES` times), wait for the new members to be RUNNING (`MAX_WAIT_SECONDS`) and their backends OK (`LB_WAIT_TIMEOUT_SECONDS`), then one old member at a time: drain (weight, backup, offline kept), wait `BACKEND_DRAIN_TIMEOUT_SECONDS`, detach and terminate; end at the size recorded at the start. If the new backends never become healthy, or anything fails, the pool goes back to the configuration it came from the same way, and the error names the instance, backend and last health answer.',
    check: (ctx) => settled(apiOf(ctx)),
    async apply(ctx) {
      const api = apiOf(ctx);
      const pool = await api.pool();
      const size = Number(pool.tags[TAG_SIZE] ?? pool.size);
      const floor = Number(pool.tags[TAG_FLOOR] ?? ctx.config.healthyFloor ?? size);
      const from = pool.tags[TAG_FROM];
      try {
        await converge(api, { target: pool.configId, size, floor, log: ctx.log });
      } catch (err) {
        if (api.oci.dryRun || !from || from === pool.configId) throw err;
        const e = err instanceof RunbookError ? err : new RunbookError('stepFailed', String(err));
        ctx.log(`${e.message}; returning the pool to configuration ${from}`);
        try {
          await converge(api, { target: from, size, floor: Math.min(floor, size), log: ctx.log });
          await clearTags(api);
        } catch (e2) {
          throw new RunbookError('stepFailed', `${e.message}; and the return to configuration ${from} failed too: ${(e2 as Error).message}`, { hint: 're-run triviapay.rollback with ROLLBACK_TO=' + from });
        }
        throw new RunbookError('stepFailed', `${e.message}. The pool is back on configuration ${from} at size ${size}`, { hint: e.hint ?? 'fix the image, then run the rollout again' });
      }
      await clearTags(api);
    },
  };
}
