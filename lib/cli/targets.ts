import { RunbookError } from '../core/errors.ts';
import { LocalExecutor } from '../exec/local.ts';
import { SshExecutor, parseSshUrl } from '../exec/ssh.ts';
import type { Executor } from '../exec/types.ts';

/** `local` runs on this machine; `ssh://user@host[:port]` runs over OpenSSH. */
export function executorFor(target: string, opts: { sshConfig?: string; apiOnly?: boolean } = {}): Executor {
  if (opts.apiOnly) {
    if (target !== 'local') throw new RunbookError('usage', `this runbook acts only through the OCI API from this machine, not on a host (--target ${target})`, { hint: 'run it with --target local' });
    return new LocalExecutor({ sudo: false });
  }
  if (target === 'local') return new LocalExecutor();
  if (target.startsWith('ssh://')) return new SshExecutor(parseSshUrl(target), { configFile: opts.sshConfig });
  throw new RunbookError('usage', `unknown target ${JSON.stringify(target)}`, { hint: 'use --target vm, --target ssh://user@host[:port] or --target local' });
}
