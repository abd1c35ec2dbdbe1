import type { Cmd } from '../../lib/core/cmd.ts';
import type { CmdResult, Executor } from '../../lib/exec/types.ts';
import { commandFailed, isOk } from '../../lib/exec/process.ts';
import { RunbookError } from '../../lib/core/errors.ts';

/** The RunbookError f throws; any other outcome fails the test. */
export function runbookErrorOf(f: () => unknown): RunbookError {
  try {
    f();
  } catch (e) {
    if (e instanceof RunbookError) return e;
    throw e;
  }
  throw new Error('expected a RunbookError');
}

/** An executor that answers from a table and records every command it was asked to run. */
export class ScriptedExecutor implements Executor {
  readonly host: string = 'scripted';
  readonly dryRun = false;
  readonly calls: Cmd[] = [];
  constructor(private readonly answer: (cmd: Cmd) => Partial<CmdResult> = () => ({})) {}
  async probe(cmd: Cmd): Promise<CmdResult> {
    this.calls.push(cmd);
    return { exitCode: 0, stdout: '', stderr: '', ...this.answer(cmd) };
  }
  async run(cmd: Cmd): Promise<CmdResult> {
    const r = await this.probe(cmd);
    if (!isOk(cmd, r.exitCode)) throw commandFailed(this.host, cmd, r);
    return r;
  }
  async close(): Promise<void> {}
}
