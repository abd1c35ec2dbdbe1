import type { Cmd } from '../core/cmd.ts';

export interface CmdResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /** True when dry-run printed the command instead of running it. */
  readonly skipped?: boolean;
}

/** Runs commands on one host. Every runbook step talks to its host only through this. */
export interface Executor {
  /** Human name of the host, used in every error ("local", "admin@10.0.0.5:22"). */
  readonly host: string;
  readonly dryRun: boolean;
  /** Runs the command; throws RunbookError when the exit code is not in okCodes. */
  run(cmd: Cmd): Promise<CmdResult>;
  /** Like run, but returns a non-zero exit code instead of throwing (for checks). */
  probe(cmd: Cmd): Promise<CmdResult>;
  /** Over SSH: this run's own connection as the host sees it (from the session's $SSH_CONNECTION). */
  connection?(): Promise<SshConnection | null>;
  /** Over SSH: whether a brand-new connection (no reuse) still gets in; used after firewall changes. */
  freshConnection?(): Promise<boolean>;
  close(): Promise<void>;
}

/** Told of every write dry-run did not run; `detail` is a diff for file writes. */
export type DryRunListener = (cmd: Cmd, detail?: string) => void;

/** Both ends of an SSH connection, as sshd reports them in $SSH_CONNECTION. */
export interface SshConnection {
  clientAddr: string;
  clientPort: number;
  serverAddr: string;
  serverPort: number;
}
