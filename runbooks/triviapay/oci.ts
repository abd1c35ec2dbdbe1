import { read, write } from '../../lib/core/cmd.ts';
import { RunbookError } from '../../lib/core/errors.ts';
import { redact } from '../../lib/core/secret.ts';
import { waitFor } from '../../lib/core/wait.ts';
import type { Executor } from '../../lib/exec/types.ts';
import { isRetryable, parseServiceError } from '../../lib/oci/cli.ts';
import type { TriviapayConfig } from './config.ts';

/** A service error the caller may handle (e.g. "Out of host capacity" on a scale-up). */
export class OciServiceError extends RunbookError {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly serviceMessage: string,
  ) {
    super('stepFailed', message, { hint: status === 404 ? 'OCI answers 404 both for a missing resource and for a missing IAM permission: check the OCID and the policies of this principal' : 'see the OCI message above' });
  }
}

export const isOutOfCapacity = (e: unknown) => e instanceof OciServiceError && /out of host capacity/i.test(e.serviceMessage);

/**
 * The OCI CLI through the run's executor: so `--dry-run` runs the reads and prints the writes, and
 * secrets travel only in files the CLI reads (`--from-json file://`), never in argv. JSON parsed;
 * throttling and 5xx retried within a bound (except "Out of host capacity", which the caller bounds).
 */
export class Oci {
  calls = 0;
  constructor(
    private readonly exec: Executor,
    private readonly c: Pick<TriviapayConfig, 'ociCli' | 'ociAuth'>,
  ) {}

  get dryRun(): boolean {
    return this.exec.dryRun;
  }

  async call<T = Record<string, unknown>>(args: string[], o: { write?: boolean; what?: string } = {}): Promise<T | null> {
    const argv = [this.c.ociCli, ...args, ...(this.c.ociAuth ? ['--auth', this.c.ociAuth] : [])];
    const what = o.what ?? `oci ${args.filter((a) => !a.startsWith('-')).slice(0, 3).join(' ')}`;
    const cmd = (o.write ? write : read)(argv, { okCodes: [0, 1, 2], timeoutMs: 30 * 60_000 });
    return waitFor<T | null>(
      async () => {
        this.calls++;
        const r = await this.exec.run(cmd);
        if (r.skipped) return { done: true, value: null };
        if (r.exitCode === 0) {
          const out = r.stdout.trim();
          try {
            return { done: true, value: (out ? JSON.parse(out) : null) as T | null };
          } catch {
            throw new RunbookError('stepFailed', `${what}: the CLI printed something that is not JSON: ${redact(out.slice(0, 160))}`, { hint: 'check the OCI CLI version: oci --version' });
          }
        }
        if (r.exitCode === 2 && /Failed to wait/.test(r.stderr)) throw new RunbookError('stepFailed', `${what}: the CLI's wait ran out: ${redact(r.stderr.trim().split('\n').at(-1) ?? '')}`, { hint: 're-run: the runbook converges from where it stopped' });
        const se = parseServiceError(r.stderr);
        if (se && /out of host capacity/i.test(se.message)) throw new OciServiceError(`${what}: ${se.status} ${se.code}: ${se.message}`, se.status, se.code, se.message);
        if (isRetryable(se, false)) return { done: false, retryable: true, reason: `${se?.status} ${se?.code}` };
        if (se) throw new OciServiceError(`${what}: ${se.status} ${se.code}: ${se.message}`, se.status, se.code, se.message);
        throw new RunbookError(r.exitCode === 2 ? 'usage' : 'stepFailed', `${what} exited ${r.exitCode}: ${redact(r.stderr.trim().split('\n').slice(-3).join(' '))}`, { hint: r.exitCode === 2 ? 'the OCI CLI rejected the command: report it as a runbook bug' : 'is the OCI CLI installed and configured? try: oci os ns get' });
      },
      { what, deadlineMs: 2 * 60_000, initialDelayMs: 1_000, maxDelayMs: 15_000, jitter: 0.5, hint: 'OCI is throttling or failing; re-run later' },
    );
  }

  /** `data` of an answer; an empty list prints nothing at all (no `data` key), which is []. */
  async data<T>(args: string[], o: { write?: boolean; what?: string } = {}): Promise<T | undefined> {
    const r = await this.call<{ data?: T }>(args, o);
    return r?.data;
  }

  async list<T>(args: string[]): Promise<T[]> {
    return (await this.data<T[]>(args)) ?? [];
  }
}
