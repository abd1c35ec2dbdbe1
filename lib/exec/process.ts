import { execa } from 'execa';
import type { Cmd } from '../core/cmd.ts';
import { describeCmd } from '../core/cmd.ts';
import { RunbookError } from '../core/errors.ts';
import { isSecret, redact } from '../core/secret.ts';
import type { CmdResult } from './types.ts';

export const DEFAULT_TIMEOUT_MS = 10 * 60_000;

export function stdinOf(cmd: Cmd): string | Buffer | undefined {
  if (cmd.stdin === undefined) return undefined;
  return isSecret(cmd.stdin) ? cmd.stdin.reveal() : cmd.stdin;
}

/**
 * Spawns one process without a shell; stdin is always given (empty if none) so nothing waits on a
 * TTY. Each child gets its own process group (`detached`): a terminal's Ctrl-C goes to the
 * foreground group, and must reach only the runbook process, which finishes the current step and
 * stops, never an ssh, apt-get or mkfs in the middle of a write. Timeouts still kill the child.
 */
export async function spawnArgv(file: string, args: readonly string[], cmd: Cmd, env?: NodeJS.ProcessEnv): Promise<CmdResult & { timedOut: boolean }> {
  const r = await execa(file, args, {
    input: stdinOf(cmd) ?? '',
    reject: false,
    timeout: (cmd.timeoutMs ?? DEFAULT_TIMEOUT_MS) + 2_000,
    forceKillAfterDelay: 3_000,
    stripFinalNewline: false,
    encoding: 'utf8',
    env,
    extendEnv: true,
    detached: true,
  });
  if (r.failed && r.exitCode === undefined && !r.timedOut) {
    // spawn error: the program itself is missing or not executable
    return { exitCode: 127, stdout: '', stderr: redact(String(r.message)), timedOut: false };
  }
  return { exitCode: r.exitCode ?? 124, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), timedOut: Boolean(r.timedOut) };
}

/** The shared error for a command that exited outside its okCodes. */
export function commandFailed(host: string, cmd: Cmd, r: CmdResult, hint?: string): RunbookError {
  const tail = redact(r.stderr.trim().split('\n').slice(-5).join('\n'));
  return new RunbookError('stepFailed', `\`${redact(describeCmd(cmd))}\` exited ${r.exitCode}${tail ? `: ${tail}` : ''}`, {
    host,
    hint: hint ?? 're-run the same command; the runbook converges from where it stopped',
  });
}

export function isOk(cmd: Cmd, code: number): boolean {
  return (cmd.okCodes ?? [0]).includes(code);
}
