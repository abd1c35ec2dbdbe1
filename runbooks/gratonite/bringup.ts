// The seed's bring-up order, one gate per step: stateful services healthy -> migrations (one-shot,
// exit code checked) -> API /health ok -> web -> a websocket through Caddy -> an upload and its
// public URL. The engine stops at the first gate that does not pass, so later services are never
// started; each failure says what the gate saw and the command to look closer.
import { read } from '../../lib/core/cmd.ts';
import { RunbookError } from '../../lib/core/errors.ts';
import { waitFor } from '../../lib/core/wait.ts';
import { ensureFile } from '../../lib/exec/files.ts';
import type { Executor } from '../../lib/exec/types.ts';
import type { Step } from '../../lib/engine/types.ts';
import { type GratoniteConfig, STATE } from './config.ts';
import { MIGRATED, STATEFUL, composeHint, describePs, gCmds, parseApiHealth, parsePs } from './commands.ts';
import { uploadGate } from './smoke/checks.ts';
import { websocketOpens } from './smoke/realtime.ts';
import { smokeTarget } from './target.ts';

const BUCKET_MARK = `${STATE}/bucket-ready`;
const resume = (step: string) => `runbook run gratonite --from ${step}`;

/** Each image the deploy runs, with the compose service that pulls it. */
export const imageServices = (c: GratoniteConfig): { image: string; service: string }[] => [
  { image: `${c.images.api}:${c.tag}`, service: 'api' },
  { image: `${c.images.web}:${c.tag}`, service: 'web' },
  { image: c.images.postgres, service: 'postgres' },
  { image: c.images.redis, service: 'redis' },
  { image: c.images.minio, service: 'minio' },
  { image: c.images.mc, service: 'minio-init' },
  ...(c.livekit ? [{ image: c.images.livekit, service: 'livekit' }] : []),
];
export const imagesOf = (c: GratoniteConfig) => imageServices(c).map((i) => i.image);
const platformOf = (image: string) => read(['docker', 'image', 'inspect', '--format', '{{.Os}}/{{.Architecture}}', image], { okCodes: [0, 1] });
/** The deploy's images the host does not have yet, with the services that pull them. */
async function notPulled(exec: Executor, c: GratoniteConfig) {
  const missing: { image: string; service: string }[] = [];
  for (const i of imageServices(c)) if ((await exec.run(platformOf(i.image))).exitCode !== 0) missing.push(i);
  return missing;
}

async function ps(exec: Executor) {
  const r = await exec.run(gCmds.ps());
  return r.exitCode === 0 ? parsePs(r.stdout) : [];
}

async function migrated(exec: Executor): Promise<{ tag?: string; backwardCompatible?: boolean }> {
  const r = await exec.run(gCmds.readFile(MIGRATED));
  try {
    return r.exitCode === 0 ? (JSON.parse(r.stdout) as { tag?: string; backwardCompatible?: boolean }) : {};
  } catch {
    return {};
  }
}
export { migrated as readMigrated };

/** Polls one probe until it passes or the deadline; the error carries the last thing it saw. */
export async function gate(exec: Executor, what: string, deadlineMs: number, probe: () => Promise<{ ok: boolean; saw: string }>, hint: string): Promise<string> {
  return waitFor(
    async () => {
      const p = await probe();
      return p.ok ? { done: true as const, value: p.saw } : { done: false as const, reason: p.saw };
    },
    { what, deadlineMs, initialDelayMs: 1_000, maxDelayMs: 5_000, host: exec.host, hint },
  );
}

export const apiHealthy = async (exec: Executor) => {
  const r = await exec.run(gCmds.apiHealth());
  return parseApiHealth(r.stdout, r.exitCode, r.stderr);
};
export const webAnswers = async (exec: Executor) => {
  const r = await exec.run(gCmds.webStatus());
  return { ok: r.stdout.trim() === '200', saw: r.stdout.trim() ? `HTTP ${r.stdout.trim()}` : r.stderr.trim() || `curl exit ${r.exitCode}` };
};

/** A running container of `service` with exactly `image`. */
const runs = async (exec: Executor, service: string, image: string) => {
  const row = (await ps(exec)).find((x) => x.Service === service);
  return row?.State === 'running' && row.Image === image;
};

/** A gate checked from this machine through Caddy (not on the host); a dry run only says it would. */
function remoteGate(id: string, title: string, doc: string, run: (c: GratoniteConfig) => Promise<string>): Step<GratoniteConfig> {
  return {
    id,
    title,
    doc,
    async check({ exec, config }) {
      if (exec.dryRun) return { done: false, reason: 'checked from this machine after the services start' };
      try {
        return { done: true, reason: await run(config) };
      } catch (e) {
        throw new RunbookError('stepFailed', `${title}: ${(e as Error).message}`, { host: exec.host, hint: `journalctl -u caddy -n 30; ${composeHint('logs --tail 30 api')}; then ${resume(id)}` });
      }
    },
    async apply() {},
  };
}

export function bringUpSteps(): Step<GratoniteConfig>[] {
  return [
    {
      id: 'gratonite.images',
      title: 'Images pulled, every one linux/arm64',
      doc: 'Pulls the images not on the host yet (the API and web at `GRATONITE_TAG` on a deploy; an image already there is not pulled again, so a re-run needs no registry), then refuses any image that is not linux/arm64 before a container is created from it.',
      async check({ exec, config }) {
        const missing = await notPulled(exec, config);
        return missing.length ? { done: false, reason: `not pulled: ${missing.map((i) => i.image).join(', ')}` } : { done: true, reason: 'all images present' };
      },
      async apply({ exec, config }) {
        const missing = await notPulled(exec, config);
        if (missing.length) await exec.run(gCmds.pull(missing.map((i) => i.service)));
        if (exec.dryRun) return;
        for (const i of imagesOf(config)) {
          const p = (await exec.run(platformOf(i))).stdout.trim();
          if (p !== 'linux/arm64') throw new RunbookError('precondition', `${i} is ${p || 'not present after the pull'}, not linux/arm64; nothing was started`, { host: exec.host, hint: 'push linux/arm64 images (docker buildx build --platform linux/arm64), then re-run' });
        }
      },
    },
    {
      id: 'gratonite.stateful',
      title: 'Gate 1: PostgreSQL, Redis and MinIO healthy, the bucket there',
      doc: '`up -d --wait` for postgres, redis and minio only (bounded by HEALTH_DEADLINE_SECONDS), then the one-shot `minio-init` creates the bucket (re-runs find it). Nothing else starts before this passes.',
      async check({ exec }) {
        const rows = await ps(exec);
        const healthy = STATEFUL.every((s) => rows.some((r) => r.Service === s && r.State === 'running' && r.Health === 'healthy'));
        const bucket = (await exec.run(gCmds.readFile(BUCKET_MARK))).exitCode === 0;
        return healthy && bucket ? { done: true, reason: `${describePs(rows, STATEFUL)}; bucket ready` } : { done: false, reason: `${describePs(rows, STATEFUL)}${bucket ? '' : '; bucket not created yet'}` };
      },
      async apply({ exec, config }) {
        const up = await exec.run(gCmds.upStateful(config.healthDeadlineSeconds));
        if (exec.dryRun) return void (await exec.run(gCmds.initBucket()));
        if (up.exitCode !== 0) {
          const rows = await ps(exec);
          throw new RunbookError('stepFailed', `gate 1 (stateful) did not pass: ${describePs(rows, STATEFUL)}; nothing after it was started`, { host: exec.host, hint: `${composeHint('logs --tail 50 postgres redis minio')}; then ${resume('gratonite.stateful')}` });
        }
        const init = await exec.run(gCmds.initBucket());
        if (init.exitCode !== 0) throw new RunbookError('stepFailed', `gate 1 (stateful): creating the bucket exited ${init.exitCode}: ${(init.stderr || init.stdout).trim().split('\n').slice(-3).join(' ')}`, { host: exec.host, hint: `${composeHint('logs --tail 50 minio')}; then ${resume('gratonite.stateful')}` });
        await ensureFile(exec, { path: BUCKET_MARK, content: `${new Date().toISOString()}\n`, mode: '0644' });
      },
    },
    {
      id: 'gratonite.migrate',
      title: 'Gate 2: migrations run once as a one-shot, exit code checked',
      doc: '`docker compose run --rm migrate` (the API image with `MIGRATE_COMMAND`). A non-zero exit stops the bring-up with its last lines; the API is not started. Recorded per tag in /var/lib/gratonite/migrated (with MIGRATIONS_BACKWARD_COMPATIBLE), so a re-run for the same tag skips it; running it again is safe by contract.',
      async check({ exec, config }) {
        const m = await migrated(exec);
        return m.tag === config.tag ? { done: true, reason: `migrations of ${config.tag} ran (exit 0)` } : { done: false, reason: m.tag ? `last migrated: ${m.tag}` : 'never migrated' };
      },
      async apply({ exec, config, log }) {
        const r = await exec.run(gCmds.migrate());
        if (exec.dryRun) return;
        if (r.exitCode !== 0) {
          const tail = `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-5).join(' | ');
          throw new RunbookError('stepFailed', `gate 2 (migrations of ${config.tag}) exited ${r.exitCode}: ${tail}; the API was not started`, { host: exec.host, hint: `fix the migration, then ${resume('gratonite.migrate')} (it is run again from the start)` });
        }
        log(`migrations of ${config.tag} exited 0`);
        await ensureFile(exec, { path: MIGRATED, content: `${JSON.stringify({ tag: config.tag, backwardCompatible: config.migrationsBackwardCompatible, at: new Date().toISOString() })}\n`, mode: '0644' });
      },
    },
    {
      id: 'gratonite.api',
      title: 'Gate 3: the API at GRATONITE_TAG answers /health with status ok',
      doc: 'Starts the API alone (`up -d --no-deps api`) and waits, bounded by HEALTH_DEADLINE_SECONDS, for `GET /health` on 127.0.0.1:4000 to answer 200 `{"status":"ok"}` (a 503 `degraded` does not pass). The web is not started until it does.',
      async check({ exec, config }) {
        const want = `${config.images.api}:${config.tag}`;
        if (!(await runs(exec, 'api', want))) return { done: false, reason: `api is not running ${want}` };
        const h = await apiHealthy(exec);
        return h.ok ? { done: true, reason: `${want}: ${h.saw}` } : { done: false, reason: `${want} runs but /health: ${h.saw}` };
      },
      async apply({ exec, config }) {
        await exec.run(gCmds.up('api'));
        if (exec.dryRun) return;
        await gate(exec, `gate 3 (API ${config.tag} /health status ok; the web was not started)`, config.healthDeadlineSeconds * 1000, () => apiHealthy(exec), `${composeHint('logs --tail 50 api')}; roll back with: runbook run gratonite.rollback, or fix and ${resume('gratonite.api')}`);
      },
    },
    {
      id: 'gratonite.web',
      title: 'Gate 4: the web app answers 200',
      async check({ exec, config }) {
        const want = `${config.images.web}:${config.tag}`;
        if (!(await runs(exec, 'web', want))) return { done: false, reason: `web is not running ${want}` };
        const w = await webAnswers(exec);
        return w.ok ? { done: true, reason: `${want}: ${w.saw}` } : { done: false, reason: `${want} runs but answers ${w.saw}` };
      },
      async apply({ exec, config }) {
        await exec.run(gCmds.up('web'));
        if (exec.dryRun) return;
        await gate(exec, `gate 4 (web ${config.tag} answers 200 on 127.0.0.1:8080)`, config.healthDeadlineSeconds * 1000, () => webAnswers(exec), `${composeHint('logs --tail 50 web')}; then ${resume('gratonite.web')}`);
      },
    },
    {
      id: 'gratonite.voice',
      title: 'LiveKit running (when LIVEKIT_ENABLED=yes)',
      async check({ exec, config }) {
        if (!config.livekit) return { done: true, reason: 'LiveKit disabled' };
        return (await runs(exec, 'livekit', config.images.livekit)) ? { done: true, reason: 'livekit running' } : { done: false, reason: 'livekit not running' };
      },
      async apply({ exec }) {
        await exec.run(gCmds.up('livekit'));
      },
    },
    remoteGate('gratonite.websocket', 'Gate 5: a websocket through Caddy reaches Socket.IO on api.', 'From this machine: an Engine.IO websocket to `wss://api.<DOMAIN>/socket.io/` through Caddy (TLS, the upgrade passed through) opens.', (c) => { const t = smokeTarget(c); return websocketOpens(t.api, t.reach); }),
    remoteGate('gratonite.upload', 'Gate 6: an upload, then its public URL on cdn. renders', 'From this machine: a throwaway user uploads a small image through `api.`, its public `/api/v1/files/<hash>.<ext>` on `cdn.` answers the same bytes without auth, and the user is removed.', (c) => uploadGate(smokeTarget(c))),
  ];
}
