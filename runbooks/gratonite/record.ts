// Each deploy that passed every gate is recorded with its image tags and a snapshot of its env
// files (copied, hashed, the hashes checked on the copies); rollback restores from these.
import { RunbookError } from '../../lib/core/errors.ts';
import { ensureFile } from '../../lib/exec/files.ts';
import type { Executor } from '../../lib/exec/types.ts';
import type { Step } from '../../lib/engine/types.ts';
import { type GratoniteConfig, OPT } from './config.ts';
import { DEPLOYS, SNAPSHOTS, SNAPSHOT_FILES, gCmds } from './commands.ts';
import { type DeployState, currentOf, parseDeploys, recordDeploy, sameDeploy } from './deploys.ts';

/** `sha256sum` output -> file name -> hash; a file it could not read is missing from the map. */
export function parseSums(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of stdout.split('\n')) {
    const m = /^([0-9a-f]{64})\s+\*?(.+)$/.exec(l.trim());
    if (m) out[(m[2] as string).split('/').pop() as string] = m[1] as string;
  }
  return out;
}

export async function readState(exec: Executor): Promise<DeployState> {
  const r = await exec.run(gCmds.readFile(DEPLOYS));
  return parseDeploys(r.exitCode === 0 ? r.stdout : null);
}

export const writeState = (exec: Executor, s: DeployState) => ensureFile(exec, { path: DEPLOYS, content: `${JSON.stringify(s, null, 1)}\n`, mode: '0600' });

/** The hashes of the live env files in /opt/gratonite. */
export async function liveHashes(exec: Executor): Promise<Record<string, string>> {
  return parseSums((await exec.run(gCmds.sha256(SNAPSHOT_FILES.map((f) => `${OPT}/${f}`)))).stdout);
}

const liveDeploy = (c: GratoniteConfig, files: Record<string, string>) => ({ at: new Date().toISOString(), tag: c.tag, apiImage: `${c.images.api}:${c.tag}`, webImage: `${c.images.web}:${c.tag}`, files, migrationsBackwardCompatible: c.migrationsBackwardCompatible });

export function recordStep(): Step<GratoniteConfig> {
  return {
    id: 'gratonite.record',
    title: 'Deploy recorded: image tags and an env snapshot with hashes',
    doc: 'Copies api.env, web.env and compose.env (the tags) into /var/lib/gratonite/snapshots/<id>/ (mode 700), checks the copies\' SHA-256 against the live files, and appends the deploy to /var/lib/gratonite/deploys.json with `MIGRATIONS_BACKWARD_COMPATIBLE`. Only a deploy that passed every gate gets here; a re-run of the same deploy records nothing.',
    async check({ exec, config }) {
      const s = await readState(exec);
      const cur = currentOf(s);
      const live = liveDeploy(config, await liveHashes(exec));
      return cur && sameDeploy(live, cur) ? { done: true, reason: `deploy #${cur.id} (${cur.tag}) is recorded with these env files` } : { done: false, reason: cur ? `#${cur.id} ${cur.tag} is recorded; this deploy differs` : 'no deploy recorded yet' };
    },
    async apply({ exec, config, log }) {
      const files = await liveHashes(exec);
      const missing = SNAPSHOT_FILES.filter((f) => !files[f]);
      if (missing.length && !exec.dryRun) throw new RunbookError('stepFailed', `cannot snapshot ${missing.map((f) => `${OPT}/${f}`).join(', ')}: not readable`, { host: exec.host, hint: 'runbook run gratonite --from gratonite.files' });
      const { state, record, added } = recordDeploy(await readState(exec), liveDeploy(config, files));
      if (!added) return;
      const dir = `${SNAPSHOTS}/${record.id}`;
      await exec.run(gCmds.snapshot(record.id));
      for (const f of SNAPSHOT_FILES) await exec.run(gCmds.copy(`${OPT}/${f}`, `${dir}/${f}`));
      if (!exec.dryRun) {
        const copies = parseSums((await exec.run(gCmds.sha256(SNAPSHOT_FILES.map((f) => `${dir}/${f}`)))).stdout);
        const bad = SNAPSHOT_FILES.filter((f) => copies[f] !== files[f]);
        if (bad.length) throw new RunbookError('stepFailed', `the snapshot copies of ${bad.join(', ')} in ${dir} do not match the live files`, { host: exec.host, hint: 'the disk may be full: df -h /var/lib/gratonite, then re-run' });
      }
      await writeState(exec, state);
      log(`recorded deploy #${record.id}: ${record.tag}, env snapshot in ${dir}`);
    },
  };
}
