import { RunbookError } from '../core/errors.ts';
import { LocalExecutor } from '../exec/local.ts';
import { SshExecutor, parseSshUrl } from '../exec/ssh.ts';
import type { Executor } from '../exec/types.ts';

/** `local` runs on this machine; `ssh://user@host[:port]` runs over OpenSSH. */
export function executorFor(target: string, opts: { sshConfig?: string } = {}): Executor {
  if (target === 'local') return new LocalExecutor();
  if (target.startsWith('ssh://')) return new SshExecutor(parseSshUrl(target), { configFile: opts.sshConfig });
  throw new RunbookError('usage', `unknown target "${target}"`, { hint: 'use --target local or --target ssh://user@host[:port]' });
}
