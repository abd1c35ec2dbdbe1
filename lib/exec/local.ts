import type { Cmd } from '../core/cmd.ts';
import { RunbookError } from '../core/errors.ts';
import { commandFailed, isOk, spawnArgv } from './process.ts';
import type { CmdResult, Executor } from './types.ts';

/** Runs argv on this machine with execa, no shell. With `sudo`, prefixes `sudo -n --` for non-root users. */
export class LocalExecutor implements Executor {
  readonly host = 'local';
  readonly dryRun = false;
  readonly #sudo: boolean;

  constructor(opts: { sudo?: boolean } = {}) {
    this.#sudo = (opts.sudo ?? true) && typeof process.getuid === 'function' && process.getuid() !== 0;
  }

  async probe(cmd: Cmd): Promise<CmdResult> {
    const argv = this.#sudo ? ['sudo', '-n', '--', ...cmd.argv] : [...cmd.argv];
    const [file, ...args] = argv;
    if (!file) throw new RunbookError('usage', 'empty command', { host: this.host });
    const r = await spawnArgv(file, args, cmd);
    if (r.timedOut) {
      throw new RunbookError('stepFailed', `\`${argv.join(' ')}\` did not finish within ${Math.round((cmd.timeoutMs ?? 0) / 1000)} s`, { host: this.host, retryable: true });
    }
    return r;
  }

  async run(cmd: Cmd): Promise<CmdResult> {
    const r = await this.probe(cmd);
    if (!isOk(cmd, r.exitCode)) throw commandFailed(this.host, cmd, r);
    return r;
  }

  async close(): Promise<void> {}
}
