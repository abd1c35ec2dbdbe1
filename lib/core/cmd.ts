import type { Secret } from './secret.ts';
import { shJoin } from './quote.ts';

/**
 * A command as data. Builders return these and never run them; executors run them.
 * `write: false` marks a read-only command, which dry-run still runs so the plan reflects the host.
 */
export interface Cmd {
  readonly argv: readonly string[];
  readonly write: boolean;
  /** Fed to the process's stdin; a Secret is revealed only here, never in argv or logs. */
  readonly stdin?: string | Buffer | Secret;
  /** Exit codes that count as success (default [0]). */
  readonly okCodes?: readonly number[];
  /** Upper bound for the command; the executor enforces it on the remote side too. */
  readonly timeoutMs?: number;
  /** Shown by dry-run and progress instead of argv when set (e.g. "write /etc/x"). */
  readonly summary?: string;
  /** Set on file writes so dry-run can show a diff against the host's current file. */
  readonly file?: { readonly path: string; readonly secret?: boolean };
}

export const read = (argv: readonly string[], opts: Omit<Cmd, 'argv' | 'write'> = {}): Cmd => ({ argv, write: false, ...opts });
export const write = (argv: readonly string[], opts: Omit<Cmd, 'argv' | 'write'> = {}): Cmd => ({ argv, write: true, ...opts });

export function describeCmd(cmd: Cmd): string {
  return cmd.summary ?? shJoin(cmd.argv);
}
