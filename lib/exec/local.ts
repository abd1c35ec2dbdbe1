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
    // Node hands a child its stdin as a socket, which `/dev/stdin` cannot open (ENXIO), and the
    // file writers read `/dev/stdin` (`install ... /dev/stdin`, `nft -f /dev/stdin`). `cat |`
    // turns the socket into a pipe, as sshd does; argv still travels as arguments, never as text.
    const inner = cmd.stdin === undefined ? [...cmd.argv] : ['sh', '-c', 'cat | "$@"', 'sh', ...cmd.argv];
    const argv = this.#sudo ? ['sudo', '-n', '--', ...inner] : inner;
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
