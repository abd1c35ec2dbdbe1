import { readAsset } from '../../lib/core/assets.ts';
import { RunbookError } from '../../lib/core/errors.ts';
import { ensureFile, fileCmds, type FileSpec, fileDrift, fileState } from '../../lib/exec/files.ts';
import type { Executor } from '../../lib/exec/types.ts';
import { type CentralDbConfig, CONTAINERS, SRV } from './config.ts';
import { healthOf, reloadPgbouncer } from './host-cmds.ts';
import { envValues, mergeEnv, parsePlatformEnv, type PlatformEnv, pgbouncerIni, redisConf, renderEnv, userlist } from './platform-env.ts';
import { read, write } from '../../lib/core/cmd.ts';

/** platform.env as it is on the host (empty when missing). */
export async function readPlatformEnv(exec: Executor): Promise<PlatformEnv> {
  const r = await exec.run(fileCmds.cat(SRV.env));
  return parsePlatformEnv(r.exitCode === 0 ? r.stdout : '');
}

/** The keys the bring-up owns in platform.env; every other line stays. */
export function platformKeys(c: CentralDbConfig): Record<string, string> {
  return { POSTGRES_USER: c.adminUser, POSTGRES_PASSWORD: c.adminPassword.reveal(), REDIS_PASSWORD: c.redisPassword.reveal(), ...c.images };
}

export const envSpec = (env: PlatformEnv): FileSpec => ({ path: SRV.env, content: renderEnv(env), mode: '0600', secret: true });

/** PgBouncer's files and Redis's config, all derived from platform.env. */
export function derivedFiles(env: PlatformEnv): FileSpec[] {
  const v = envValues(env);
  const redisPw = v.get('REDIS_PASSWORD');
  const admin = v.get('POSTGRES_USER');
  if (!redisPw || !admin) throw new RunbookError('precondition', `${SRV.env} has no POSTGRES_USER or REDIS_PASSWORD`, { hint: 'run the bring-up first: runbook run central-db' });
  // Mode 0644 inside /srv/config (0700 root): only root on the host gets there, and the
  // containers' own (non-root) users can read what is mounted into them.
  return [
    { path: `${SRV.pgbouncer}/pgbouncer.ini`, content: pgbouncerIni(admin), mode: '0644' },
    { path: `${SRV.pgbouncer}/userlist.txt`, content: userlist(v), mode: '0644', secret: true },
    { path: SRV.redisConf, content: redisConf(redisPw), mode: '0644', secret: true },
  ];
}

export const composeSpec = (): FileSpec => ({ path: SRV.compose, content: readAsset('compose/central-db/compose.yaml'), mode: '0644' });

export async function drifts(exec: Executor, files: FileSpec[]): Promise<string[]> {
  const out: string[] = [];
  for (const f of files) {
    const d = fileDrift(f, await fileState(exec, f.path));
    if (d) out.push(d);
  }
  return out;
}

const isUp = async (exec: Executor, name: string) => ['healthy', 'running', 'starting', 'unhealthy'].includes((await exec.run(healthOf(name))).stdout.trim());

/**
 * Writes the derived files that differ, then makes the running services read them: PgBouncer
 * reloads on SIGHUP (clients stay connected), Redis reads its config only at start.
 */
export async function syncDerived(exec: Executor, env: PlatformEnv, log: (m: string) => void): Promise<string[]> {
  const changed: string[] = [];
  for (const f of derivedFiles(env)) if (await ensureFile(exec, f)) changed.push(f.path);
  if (exec.dryRun) return changed;
  if (changed.some((p) => p.startsWith(SRV.pgbouncer)) && (await isUp(exec, CONTAINERS.pgbouncer))) {
    await exec.run(reloadPgbouncer());
    log('PgBouncer reloaded (SIGHUP)');
  }
  if (changed.includes(SRV.redisConf) && (await isUp(exec, CONTAINERS.redis))) {
    await exec.run(write(['docker', 'restart', CONTAINERS.redis], { timeoutMs: 120_000 }));
    log('Redis restarted for its new config');
  }
  return changed;
}

/** platform.env with these keys set, written atomically (temp file mode 0600, then rename). */
export async function writeEnv(exec: Executor, set: Record<string, string>): Promise<PlatformEnv> {
  const next = mergeEnv(await readPlatformEnv(exec), set);
  await ensureFile(exec, envSpec(next));
  return next;
}

export const dirExists = async (exec: Executor, path: string) => (await exec.run(read(['test', '-d', path], { okCodes: [0, 1] }))).exitCode === 0;
