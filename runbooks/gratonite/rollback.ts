// `gratonite.rollback`: the previous (or a named) recorded deploy's env files and image tags back,
// API and web restarted alone and gated, then the smoke checklist again.
import { write } from '../../lib/core/cmd.ts';
import { RunbookError } from '../../lib/core/errors.ts';
import type { Executor } from '../../lib/exec/types.ts';
import type { Step } from '../../lib/engine/types.ts';
import { apiHealthy, gate, readMigrated, webAnswers } from './bringup.ts';
import { type GratoniteConfig, OPT } from './config.ts';
import { SNAPSHOTS, SNAPSHOT_FILES, composeHint, gCmds } from './commands.ts';
import { type Attempt, currentOf, planRollback } from './deploys.ts';
import { liveHashes, parseSums, readState, writeState } from './record.ts';
import { smokeStep } from './smoke.ts';

/** What is live when it is not the current record (a deploy stopped by a gate), with its migrations. */
async function liveAttempt(exec: Executor, files: Record<string, string>, cur: { tag: string; files: Record<string, string> }): Promise<Attempt | undefined> {
  const same = SNAPSHOT_FILES.every((f) => files[f] === cur.files[f]);
  if (same) return undefined;
  const m = await readMigrated(exec);
  // Its migrations count only when they ran (the migrated tag is not the recorded one).
  const ran = m.tag !== undefined && m.tag !== cur.tag;
  return { tag: ran ? (m.tag as string) : 'the live, unrecorded env files', migrationsBackwardCompatible: ran ? m.backwardCompatible === true : true };
}

async function plan(exec: Executor, c: GratoniteConfig) {
  const state = await readState(exec);
  const cur = currentOf(state);
  const files = await liveHashes(exec);
  const attempt = cur ? await liveAttempt(exec, files, cur) : undefined;
  return { state, files, attempt, ...planRollback(state, c.rollbackTo, c.rollbackAcrossMigrations, attempt) };
}

export function rollbackSteps(): Step<GratoniteConfig>[] {
  return [
    {
      id: 'gratonite.rollback',
      title: 'Back to the previous (or ROLLBACK_TO) deploy: env snapshot and image tags, API and web only',
      doc: 'Picks the deploy (`ROLLBACK_TO=previous`: the one before the current record, or the current record itself when a later deploy was stopped by a gate), refuses to cross a deploy whose migrations are not marked backward compatible unless `ROLLBACK_ACROSS_MIGRATIONS=yes`, checks the snapshot\'s SHA-256s, puts api.env, web.env and compose.env back, recreates only `api` and `web`, and gates both as a deploy does. PostgreSQL, Redis and MinIO are not touched.',
      async check({ exec, config }) {
        const p = await plan(exec, config);
        const at = SNAPSHOT_FILES.every((f) => p.files[f] === p.target.files[f]) && p.state.current === p.target.id && !p.attempt;
        if (at && (await apiHealthy(exec)).ok) return { done: true, reason: `deploy #${p.target.id} (${p.target.tag}) is live and healthy` };
        return { done: false, reason: `${'id' in p.from && !p.attempt ? `#${p.from.id} ${p.from.tag}` : p.attempt?.tag ?? 'unknown'} is live; going back to #${p.target.id} ${p.target.tag}` };
      },
      async apply({ exec, config, log }) {
        const p = await plan(exec, config);
        const dir = `${SNAPSHOTS}/${p.target.id}`;
        const sums = parseSums((await exec.run(gCmds.sha256(SNAPSHOT_FILES.map((f) => `${dir}/${f}`)))).stdout);
        const bad = SNAPSHOT_FILES.filter((f) => sums[f] !== p.target.files[f]);
        if (bad.length && !exec.dryRun) throw new RunbookError('precondition', `the snapshot of deploy #${p.target.id} does not match its recorded hashes (${bad.join(', ')}); nothing was changed`, { host: exec.host, hint: `ls -l ${dir}; pick another deploy with ROLLBACK_TO` });
        for (const f of SNAPSHOT_FILES) {
          await exec.run(gCmds.copy(`${dir}/${f}`, `${OPT}/${f}.runbook-new`));
          await exec.run(write(['mv', '-f', '--', `${OPT}/${f}.runbook-new`, `${OPT}/${f}`]));
        }
        log(`env files and tags of #${p.target.id} (${p.target.tag}) restored; recreating api and web`);
        await exec.run(gCmds.restart(['api', 'web']));
        if (exec.dryRun) return;
        const deadline = config.healthDeadlineSeconds * 1000;
        await gate(exec, `rollback to ${p.target.tag}: API /health status ok`, deadline, () => apiHealthy(exec), composeHint('logs --tail 50 api'));
        await gate(exec, `rollback to ${p.target.tag}: web answers 200`, deadline, () => webAnswers(exec), composeHint('logs --tail 50 web'));
        await writeState(exec, { ...p.state, current: p.target.id });
      },
      // "previous" moves with every rollback, so the proof is the recorded current deploy being live.
      async verify({ exec }) {
        const s = await readState(exec);
        const cur = currentOf(s);
        const files = await liveHashes(exec);
        if (!cur || !SNAPSHOT_FILES.every((f) => files[f] === cur.files[f])) throw new RunbookError('stepFailed', 'after the rollback the live env files differ from the deploy recorded as current', { host: exec.host, hint: 'runbook run gratonite.rollback again, or inspect /var/lib/gratonite' });
      },
    },
    smokeStep('gratonite.rollback-smoke'),
  ];
}
