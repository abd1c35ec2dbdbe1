import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Cmd } from '../core/cmd.ts';
import { describeCmd } from '../core/cmd.ts';
import { RunbookError } from '../core/errors.ts';
import { shJoin, shQuote } from '../core/quote.ts';
import { redact } from '../core/secret.ts';
import { DEFAULT_TIMEOUT_MS, commandFailed, isOk, spawnArgv } from './process.ts';
import type { CmdResult, Executor, SshConnection } from './types.ts';

export interface SshTarget {
  user: string;
  host: string;
  port: number;
}

const USER = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/;
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/;

/**
 * Parses `ssh://user@host[:port]`; the user defaults to the local one, the port to 22. Only a
 * plain user name, a DNS name or an IP address pass: a host starting with `-` would be read by
 * ssh as an option, and shell metacharacters have no business in a target (exit 2, not 5).
 */
export function parseSshUrl(url: string): SshTarget {
  const usage = (why: string) => new RunbookError('usage', `target ${JSON.stringify(url)} ${why}`, { hint: 'runbook run NAME --target ssh://admin@203.0.113.10' });
  const m = /^ssh:\/\/(?:([^@/]*)@)?(\[[^\]]*\]|[^:/@]*)(?::([^/]*))?\/?$/.exec(url);
  if (!m) throw usage('is not ssh://user@host[:port]');
  const [, user, rawHost = '', portS] = m;
  if (user !== undefined && !USER.test(user)) throw usage('has a user name that is not a plain Unix name (letters, digits, "_", ".", "-", not starting with "-")');
  const bracketed = rawHost.startsWith('[');
  const host = bracketed ? rawHost.slice(1, -1) : rawHost;
  if (bracketed ? isIP(host) !== 6 : !(HOSTNAME.test(host) || isIP(host) === 4)) throw usage('has a host that is not a DNS name or an IP address ([...] for IPv6)');
  if (portS !== undefined && !/^\d{1,5}$/.test(portS)) throw usage('has a port that is not a number');
  const port = portS ? Number(portS) : 22;
  if (port < 1 || port > 65535) throw usage(`has port ${port} outside 1-65535`);
  return { user: user ?? process.env.USER ?? 'root', host, port };
}

/** `$SSH_CONNECTION` ("client-address client-port server-address server-port"), or null. */
export function parseSshConnection(s: string): SshConnection | null {
  const m = /^(\S+) (\d{1,5}) (\S+) (\d{1,5})$/.exec(s.trim());
  if (!m?.[1] || !m[3] || isIP(m[1]) === 0 || isIP(m[3]) === 0) return null;
  return { clientAddr: m[1], clientPort: Number(m[2]), serverAddr: m[3], serverPort: Number(m[4]) };
}

// What a POSIX shell prints for the probe; fish, csh and friends print something else.
const PROBE = `printf '%s|' 'q\\\\z' "$((6*7))"`;
const PROBE_OK = 'q\\\\z|42|';

/**
 * Runs argv on a remote host through the OpenSSH client. Each argv element is quoted once
 * (shQuote) for the remote POSIX shell; one control master is reused for the whole run;
 * host-key checking stays on; every command is bounded on the remote side by `timeout`.
 */
export class SshExecutor implements Executor {
  readonly host: string;
  readonly dryRun = false;
  readonly #t: SshTarget;
  readonly #configFile: string | undefined;
  readonly #controlDir: string;
  readonly #sudo: boolean;
  #probed = false;

  constructor(target: SshTarget, opts: { configFile?: string; sudo?: boolean } = {}) {
    this.#t = target;
    this.host = `${target.user}@${target.host}:${target.port}`;
    this.#configFile = opts.configFile;
    this.#sudo = (opts.sudo ?? true) && target.user !== 'root';
    this.#controlDir = mkdtempSync(join(tmpdir(), 'runbook-ssh-'));
  }

  /** The ssh client's own arguments; exported for tests that compare exact argv. */
  sshArgs(extra: readonly string[] = []): string[] {
    return [
      ...(this.#configFile ? ['-F', this.#configFile] : []),
      '-p', String(this.#t.port),
      '-l', this.#t.user,
      '-o', 'BatchMode=yes',
      '-o', 'StrictHostKeyChecking=yes',
      '-o', 'ConnectTimeout=15',
      '-o', 'ServerAliveInterval=10',
      '-o', 'ServerAliveCountMax=3',
      '-o', 'ControlMaster=auto',
      '-o', `ControlPath=${join(this.#controlDir, 'cm')}`,
      '-o', 'ControlPersist=120',
      ...extra,
      '--',
      this.#t.host,
    ];
  }

  /** The remote command string for argv: sudo and a remote-side timeout, quoted once. */
  remoteCommand(cmd: Cmd): string {
    const secs = Math.ceil((cmd.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 1000);
    const argv = [...(this.#sudo ? ['sudo', '-n', '--'] : []), 'timeout', '-k', '5', String(secs), ...cmd.argv];
    return shJoin(argv);
  }

  async #ensureProbed(): Promise<void> {
    if (this.#probed) return;
    const r = await spawnArgv('ssh', [...this.sshArgs(), PROBE], { argv: [], write: false, timeoutMs: 30_000 });
    this.#check255(r, 'connect');
    if (r.timedOut) throw this.#unreachable('no answer within 30 s');
    if (r.stdout !== PROBE_OK) {
      const why = r.exitCode === 127 || /No such file|exec request failed|not found/i.test(r.stderr)
        ? `the login shell of ${this.#t.user} is missing (${redact(r.stderr.trim()) || `exit ${r.exitCode}`})`
        : `the login shell of ${this.#t.user} is not a POSIX shell (probe printed ${JSON.stringify(r.stdout.slice(0, 60))})`;
      throw new RunbookError('precondition', why, { host: this.host, hint: `set a POSIX login shell: ${this.#sshHint(['sudo', 'chsh', '-s', '/bin/bash', this.#t.user])}` });
    }
    this.#probed = true;
  }

  /** An ssh command line for the operator to paste, every word quoted. */
  #sshHint(remote: string[]): string {
    return shJoin(['ssh', '-p', String(this.#t.port), `${this.#t.user}@${this.#t.host}`, ...remote]);
  }

  #unreachable(detail: string): RunbookError {
    return new RunbookError('unreachable', `cannot reach ${this.host} over SSH: ${detail}`, {
      host: this.host,
      retryable: true,
      hint: `check the address and key, then try: ${this.#sshHint(['true'])}`,
    });
  }

  #check255(r: CmdResult, what: string): void {
    // ssh exits 255 on its own failures; with LogLevel ERROR a dropped connection or a keep-alive
    // timeout (ServerAliveInterval 10 x 3) says nothing, so say what it can be.
    if (r.exitCode === 255) throw this.#unreachable(redact(r.stderr.trim().split('\n').slice(-2).join(' ')) || `${what}: ssh exited 255 with no message (the connection dropped, or the host did not answer keep-alives for 30 s)`);
  }

  async probe(cmd: Cmd): Promise<CmdResult> {
    await this.#ensureProbed();
    const t0 = Date.now();
    const r = await spawnArgv('ssh', [...this.sshArgs(), this.remoteCommand(cmd)], cmd);
    if (process.env.RUNBOOK_CMD_TRACE) traceCmd(process.env.RUNBOOK_CMD_TRACE, this.host, cmd, Date.now() - t0);
    this.#check255(r, describeCmd(cmd));
    if (r.timedOut || r.exitCode === 124) {
      throw new RunbookError('stepFailed', `\`${redact(describeCmd(cmd))}\` did not finish within ${Math.ceil((cmd.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 1000)} s`, {
        host: this.host,
        retryable: true,
        hint: `look at the host: ${this.#sshHint(['sudo', 'journalctl', '-n', '50'])}; then re-run`,
      });
    }
    if (this.#sudo && r.exitCode === 1 && /sudo: a password is required|sudo: a terminal is required/.test(r.stderr)) {
      throw new RunbookError('precondition', `${this.#t.user} cannot run sudo without a password`, {
        host: this.host,
        hint: `grant passwordless sudo to ${this.#t.user} (base-host does this) or use --target ${shQuote(`ssh://root@${this.#t.host.includes(':') ? `[${this.#t.host}]` : this.#t.host}:${this.#t.port}`)}`,
      });
    }
    return r;
  }

  async run(cmd: Cmd): Promise<CmdResult> {
    const r = await this.probe(cmd);
    if (!isOk(cmd, r.exitCode)) throw commandFailed(this.host, cmd, r);
    return r;
  }

  async connection(): Promise<SshConnection | null> {
    await this.#ensureProbed();
    // Through the control master, so it is the very connection this run uses; no sudo (it resets the environment).
    const r = await spawnArgv('ssh', [...this.sshArgs(), 'printf %s "$SSH_CONNECTION"'], { argv: [], write: false, timeoutMs: 30_000 });
    this.#check255(r, 'reading SSH_CONNECTION');
    return parseSshConnection(r.stdout);
  }

  async freshConnection(): Promise<boolean> {
    const args = this.sshArgs().map((a) => (a.startsWith('ControlMaster=') ? 'ControlMaster=no' : a.startsWith('ControlPath=') ? 'ControlPath=none' : a));
    const r = await spawnArgv('ssh', [...args, 'true'], { argv: [], write: false, timeoutMs: 30_000 });
    return r.exitCode === 0;
  }

  async close(): Promise<void> {
    if (this.#probed) {
      await spawnArgv('ssh', this.sshArgs(['-O', 'exit']), { argv: [], write: false, timeoutMs: 5_000 }).catch(() => undefined);
    }
    rmSync(this.#controlDir, { recursive: true, force: true });
  }
}

/**
 * RUNBOOK_CMD_TRACE=FILE appends one JSON line per remote command: host, time, and the command's
 * first two words only (never its arguments), to see where a run's time goes on a slow host.
 */
function traceCmd(file: string, host: string, cmd: Cmd, ms: number): void {
  try {
    appendFileSync(file, `${JSON.stringify({ host, ms, cmd: redact(cmd.argv.slice(0, 2).join(' ')) })}\n`);
  } catch {
    /* a trace that cannot be written is not the run's failure */
  }
}
