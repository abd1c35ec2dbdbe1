import { describeCmd, read, write } from '../core/cmd.ts';
import type { FileSpec } from '../exec/files.ts';
import { ensureFile, fileCmds, fileDrift, fileState } from '../exec/files.ts';
import { RunbookError, asRunbookError } from '../core/errors.ts';
import { envKeysSet } from '../exec/masked.ts';
import type { CheckResult, Step } from '../engine/types.ts';

/** Step: these Debian packages are installed (installs only the missing ones). */
export function packagesStep<C>(id: string, names: string[]): Step<C> {
  const missing = async (exec: import('../exec/types.ts').Executor) => {
    const r = await exec.run(read(['dpkg-query', '-W', '-f', '${Package} ${db:Status-Status}\\n', ...names], { okCodes: [0, 1] }));
    const ok = new Set(r.stdout.split('\n').filter((l) => l.endsWith(' installed')).map((l) => l.split(' ')[0]));
    return names.filter((n) => !ok.has(n));
  };
  return {
    id,
    title: `Packages ${names.join(', ')}`,
    doc: `Installs ${names.map((n) => `\`${n}\``).join(', ')} with apt when missing.`,
    async check({ exec }) {
      const m = await missing(exec);
      return m.length ? { done: false, reason: `missing ${m.join(', ')}` } : { done: true, reason: 'all installed' };
    },
    async apply({ exec, log }) {
      const m = await missing(exec);
      log(`installing ${m.join(', ')}`);
      await exec.run(write(['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '-q', '--no-install-recommends', ...m], { timeoutMs: 15 * 60_000 }));
    },
  };
}

/**
 * Step: a set of files has exactly this content, mode and owner; when any changed, `after`
 * runs once (a validator before, a reload after). Validation runs on the candidate first.
 */
export function filesStep<C>(o: {
  id: string;
  title: string;
  doc?: string;
  files: (c: C) => FileSpec[];
  validate?: (c: C, files: FileSpec[]) => import('../core/cmd.ts').Cmd[];
  after?: (c: C) => import('../core/cmd.ts').Cmd[];
  /**
   * The files feed a running service, which `after` restarts: when it was active before, it must
   * prove healthy afterwards, or the previous files go back and `after` runs again with them.
   */
  restartProof?: { service: string; healthy: (exec: import('../exec/types.ts').Executor) => Promise<void> };
  /**
   * Secret variables an env-style file on the host may set (`KEY=value`): a run whose new file
   * no longer sets one the host's copy has is refused unless `dropAllowed` says the operator chose it.
   */
  keepSecrets?: { path: string; keys: string[]; dropAllowed: (c: C) => boolean; hint: string };
}): Step<C> {
  const drift = async (exec: import('../exec/types.ts').Executor, files: FileSpec[]) => {
    const out: string[] = [];
    for (const f of files) {
      const d = fileDrift(f, await fileState(exec, f.path));
      if (d) out.push(d);
    }
    return out;
  };
  return {
    id: o.id,
    title: o.title,
    doc: o.doc,
    async check({ exec, config }): Promise<CheckResult> {
      if (o.keepSecrets) await refuseSecretDrop(exec, o.keepSecrets, o.files(config), config);
      const d = await drift(exec, o.files(config));
      return d.length ? { done: false, reason: d.join('; ') } : { done: true, reason: 'files match' };
    },
    async apply({ exec, config, log }) {
      const files = o.files(config);
      const previous = new Map<string, string | null>();
      for (const f of files) {
        const cur = await exec.run(fileCmds.cat(f.path));
        previous.set(f.path, cur.exitCode === 0 ? cur.stdout : null);
      }
      const proof = o.restartProof;
      const wasActive = proof ? await isActive(exec, proof.service) : false;
      for (const f of files) await ensureFile(exec, f);
      if (exec.dryRun) {
        // The validator reads the installed files, which a dry run did not write.
        for (const v of o.validate?.(config, files) ?? []) log(`then validates with: ${describeCmd(v)}`);
        // What runs after the write is part of the plan: a restart of a database is not "2 writes".
        for (const a of o.after?.(config) ?? []) {
          for (const { unit, onlyIfRunning } of restartedBy(a)) {
            const running = await isActive(exec, unit);
            log(`${unit} ${running ? 'is running: this change restarts it' : onlyIfRunning ? 'is not running: nothing restarts' : 'is not running: this change starts it'}`);
          }
          await exec.run(a);
        }
        return;
      }
      // Put the last good files back, so a service never keeps a config that was refused.
      const restore = async () => {
        for (const f of files) {
          const old = previous.get(f.path);
          if (old === null || old === undefined) await exec.run(write(['rm', '-f', '--', f.path]));
          else await ensureFile(exec, { ...f, content: old });
        }
      };
      const paths = files.map((f) => f.path).join(', ');
      try {
        for (const v of o.validate?.(config, files) ?? []) await exec.run(v);
      } catch (err) {
        await restore();
        throw new RunbookError('stepFailed', `the new ${paths} was rejected, previous files restored: ${asRunbookError(err).message}`, { host: exec.host, hint: 'fix the asset or the variables, then re-run' });
      }
      const after = async () => {
        for (const a of o.after?.(config) ?? []) await exec.run(a);
      };
      if (!proof || !wasActive) return after();
      try {
        await after();
        await proof.healthy(exec);
      } catch (err) {
        log(`${proof.service} is not healthy with the new files; putting the previous ones back`);
        await restore();
        await after();
        throw new RunbookError('stepFailed', `${proof.service} did not come back healthy with the new ${paths} (${asRunbookError(err).message}); the previous files are back and it was restarted with them`, { host: exec.host, hint: `journalctl -u ${proof.service} -n 50, fix the variables, then re-run` });
      }
    },
  };
}

const isActive = async (exec: import('../exec/types.ts').Executor, service: string) =>
  (await exec.run(read(['systemctl', 'is-active', service], { okCodes: [0, 3, 4] }))).stdout.trim() === 'active';

/** The services a command restarts (`systemctl [try-]restart|[try-]reload-or-restart UNIT...`); try- verbs leave a stopped one alone. */
export function restartedBy(cmd: import('../core/cmd.ts').Cmd): { unit: string; onlyIfRunning: boolean }[] {
  const [bin, verb = '', ...units] = cmd.argv;
  if (bin !== 'systemctl' || !['restart', 'try-restart', 'reload-or-restart', 'try-reload-or-restart'].includes(verb)) return [];
  return units.filter((u) => !u.startsWith('-')).map((unit) => ({ unit, onlyIfRunning: verb.startsWith('try-') }));
}

async function refuseSecretDrop<C>(exec: import('../exec/types.ts').Executor, k: NonNullable<Parameters<typeof filesStep<C>>[0]['keepSecrets']>, files: FileSpec[], c: C): Promise<void> {
  const next = files.find((f) => f.path === k.path);
  const cur = await exec.run(fileCmds.cat(k.path));
  if (!next || cur.exitCode !== 0 || k.dropAllowed(c)) return;
  const had = envKeysSet(cur.stdout);
  const keeps = envKeysSet(next.content);
  const dropped = k.keys.filter((key) => had.has(key) && !keeps.has(key));
  if (dropped.length) throw new RunbookError('precondition', `${k.path} on the host sets ${dropped.join(', ')}, which this run's config does not: writing it would remove the secret`, { host: exec.host, hint: k.hint });
}
