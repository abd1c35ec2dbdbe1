import { createTwoFilesPatch } from 'diff';
import type { Cmd } from '../core/cmd.ts';
import { read } from '../core/cmd.ts';
import { isSecret } from '../core/secret.ts';
import { maskSecretText } from './masked.ts';
import type { CmdResult, DryRunListener, Executor, SshConnection } from './types.ts';

/**
 * Dry-run belongs to the executor, not to each step: read-only commands still run on the real
 * host so checks see its true state; writes are handed to the listener and not run.
 */
export class DryRunExecutor implements Executor {
  readonly dryRun = true;
  readonly #inner: Executor;
  readonly #onWrite: DryRunListener;

  constructor(inner: Executor, onWrite: DryRunListener) {
    this.#inner = inner;
    this.#onWrite = onWrite;
  }

  get host(): string {
    return this.#inner.host;
  }

  async probe(cmd: Cmd): Promise<CmdResult> {
    if (cmd.write) {
      this.#onWrite(cmd, cmd.file ? await this.#diff(cmd, cmd.file) : undefined);
      return { exitCode: 0, stdout: '', stderr: '', skipped: true };
    }
    return this.#inner.probe(cmd);
  }

  async run(cmd: Cmd): Promise<CmdResult> {
    if (cmd.write) return this.probe(cmd);
    return this.#inner.run(cmd);
  }

  /**
   * A unified diff of the host's current file against what the write would put there. A file
   * that can hold a secret is diffed with its values masked on both sides, whatever this run's
   * config holds: the host's copy may hold a secret this run does not know.
   */
  async #diff(cmd: Cmd, file: { path: string; secret?: boolean }): Promise<string> {
    const next = isSecret(cmd.stdin) ? cmd.stdin.reveal() : cmd.stdin;
    if (typeof next !== 'string') return `(${file.path}: contents not shown)`;
    const cur = await this.#inner.probe(read(['cat', '--', file.path]));
    const exists = cur.exitCode === 0;
    const show = file.secret ? maskSecretText : (t: string) => t;
    return createTwoFilesPatch(exists ? file.path : '/dev/null', file.path, exists ? show(cur.stdout) : '', show(next), '', '', { context: 2 });
  }

  connection(): Promise<SshConnection | null> {
    return this.#inner.connection?.() ?? Promise.resolve(null);
  }

  freshConnection(): Promise<boolean> {
    return this.#inner.freshConnection?.() ?? Promise.resolve(true);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
