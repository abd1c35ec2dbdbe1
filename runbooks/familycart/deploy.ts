// Deploy by commit SHA, gated on health, rolling itself back to the SHA recorded as live.
import { RunbookError, asRunbookError } from '../../lib/core/errors.ts';
import { waitFor } from '../../lib/core/wait.ts';
import { ensureFile } from '../../lib/exec/files.ts';
import type { Executor } from '../../lib/exec/types.ts';
import type { Step } from '../../lib/engine/types.ts';
import { envText } from '../../lib/config/schema.ts';
import { type AppConfig, COMPOSE_ENV } from './config.ts';
import { DEPLOY_STATE, type DeployState, fcCmds, nextState, parseHealth, parseState, platformProblem } from './commands.ts';

export const composeEnv = (c: AppConfig, sha: string) => envText(['FAMILYCART_SHA', 'BACKEND_IMAGE', 'FRONTEND_IMAGE'], { FAMILYCART_SHA: sha, BACKEND_IMAGE: c.backendImage, FRONTEND_IMAGE: c.frontendImage }, '# Written by familycart.app: the images and the commit SHA that is live.');

async function readState(exec: Executor): Promise<DeployState> {
  const r = await exec.run(fcCmds.readState());
  return r.exitCode === 0 ? parseState(r.stdout) : {};
}

const writeState = (exec: Executor, s: DeployState) => ensureFile(exec, { path: DEPLOY_STATE, content: `${JSON.stringify(s)}\n`, mode: '0644' });

/** One probe of both gates: the backend's /health and the frontend's /. */
export async function probeHealth(exec: Executor): Promise<{ ok: boolean; reason: string; warning?: string }> {
  const b = await exec.run(fcCmds.backendHealth());
  const h = b.exitCode === 0 ? parseHealth(b.stdout) : { ok: false, reason: `/health: ${b.stderr.trim() || `curl exit ${b.exitCode}`}` };
  if (!h.ok) return h;
  const f = await exec.run(fcCmds.frontendStatus());
  if (f.stdout.trim() !== '200') return { ok: false, reason: `frontend / answered ${f.stdout.trim() || f.stderr.trim() || 'nothing'}` };
  return { ok: true, reason: `${h.reason}; frontend 200`, warning: 'warning' in h ? h.warning : undefined };
}

async function waitHealthy(exec: Executor, c: AppConfig, sha: string, log: (m: string) => void): Promise<void> {
  const h = await waitFor(
    async () => {
      const p = await probeHealth(exec);
      return p.ok ? { done: true as const, value: p } : { done: false as const, reason: p.reason };
    },
    { what: `FamilyCart ${sha} health (backend /health, frontend /)`, deadlineMs: c.healthDeadlineSeconds * 1000, initialDelayMs: 1000, maxDelayMs: 5000, host: exec.host },
  );
  if (h.warning) log(`warning: ${h.warning}`);
}

/** Points compose.env at `sha`, pulls, refuses a non-arm64 image before anything restarts, starts, waits for health. */
export async function goLive(exec: Executor, c: AppConfig, sha: string, log: (m: string) => void): Promise<void> {
  const old = await exec.run(fcCmds.readState());
  await ensureFile(exec, { path: COMPOSE_ENV, content: composeEnv(c, sha), mode: '0600' });
  await exec.run(fcCmds.pull('app'));
  for (const image of [`${c.backendImage}:${sha}`, `${c.frontendImage}:${sha}`]) {
    const problem = platformProblem(image, (await exec.run(fcCmds.platform(image))).stdout);
    if (problem && !exec.dryRun) {
      const live = old.exitCode === 0 ? parseState(old.stdout).current : undefined;
      if (live) await ensureFile(exec, { path: COMPOSE_ENV, content: composeEnv(c, live), mode: '0600' });
      throw new RunbookError('precondition', `${problem}; nothing was restarted`, { host: exec.host, hint: 'push linux/arm64 images for this SHA, then re-run' });
    }
  }
  await exec.run(fcCmds.upNoWait('app'));
  if (!exec.dryRun) await waitHealthy(exec, c, sha, log);
}

export function deployStep(): Step<AppConfig> {
  return {
    id: 'app.deploy',
    title: 'Deploy the commit SHA, gated on health, rolling back by itself',
    doc: 'Logs in with `--password-stdin` (when `REGISTRY_USER` is set), points `compose.env` at `FAMILYCART_SHA`, pulls, refuses an image that is not linux/arm64 before anything restarts, `up -d --remove-orphans`, then waits (bounded by `HEALTH_DEADLINE_SECONDS`) for the backend\'s `/health` to say `healthy` (a `degraded` cache is a warning) and the frontend\'s `/` to answer 200. On failure it goes back to the SHA recorded as live in `/var/lib/familycart/deploy.json` and proves that healthy.',
    async check({ exec, config }) {
      const s = await readState(exec);
      if (s.current !== config.sha) return { done: false, reason: s.current ? `${s.current} is live` : 'nothing deployed yet' };
      const h = await probeHealth(exec);
      return h.ok ? { done: true, reason: `${config.sha} is live: ${h.reason}` } : { done: false, reason: `${config.sha} is recorded live but ${h.reason}` };
    },
    async apply({ exec, config: c, log }) {
      const s = await readState(exec);
      if (c.registryUser && c.registryPassword) await exec.run(fcCmds.login(c.registry, c.registryUser, c.registryPassword));
      try {
        await goLive(exec, c, c.sha, log);
      } catch (err) {
        const e = asRunbookError(err);
        if (e.kind === 'precondition' || exec.dryRun) throw e;
        const back = s.current && s.current !== c.sha ? s.current : undefined;
        if (!back) throw new RunbookError('stepFailed', `${c.sha} did not become healthy (${e.message}) and there is no earlier SHA to go back to`, { host: exec.host, hint: 'docker compose -f /opt/familycart/app.yaml logs --tail 100' });
        log(`${c.sha} failed (${e.message}); rolling back to ${back}`);
        await goLive(exec, c, back, log);
        throw new RunbookError('stepFailed', `${c.sha} did not become healthy (${e.message}); rolled back to ${back}, which is healthy`, { host: exec.host, hint: 'docker compose -f /opt/familycart/app.yaml logs --tail 100, fix, then deploy a new SHA' });
      }
      if (!exec.dryRun) await writeState(exec, nextState(s, c.sha));
    },
  };
}

export function rollbackStep(): Step<AppConfig> {
  return {
    id: 'app.rollback',
    title: 'Go back to the previous (or a named) SHA',
    doc: '`ROLLBACK_TO=previous` takes the SHA recorded before the live one; a SHA names one. Same gates as a deploy (arm64, health).',
    async check({ exec, config }) {
      const s = await readState(exec);
      const target = config.rollbackTo === 'previous' ? s.previous : config.rollbackTo;
      if (!target) throw new RunbookError('precondition', 'no previous SHA is recorded on this host', { host: exec.host, hint: 'name one: ROLLBACK_TO=<sha>' });
      return s.current === target ? { done: true, reason: `${target} is already live` } : { done: false, reason: `${s.current ?? 'nothing'} is live; going to ${target}` };
    },
    async apply({ exec, config: c, log }) {
      const s = await readState(exec);
      const target = (c.rollbackTo === 'previous' ? s.previous : c.rollbackTo) as string;
      await goLive(exec, c, target, log);
      if (!exec.dryRun) await writeState(exec, { current: target, previous: s.current });
    },
  };
}
