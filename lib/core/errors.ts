import { redact } from './secret.ts';

/** The exit codes of `runbook`, documented in docs/exit-codes.md. Only the CLI entry exits. */
export const EXIT = {
  ok: 0,
  stepFailed: 1,
  usage: 2,
  config: 3,
  precondition: 4,
  unreachable: 5,
  locked: 6,
  interrupted: 130,
} as const;

export type ErrorKind = Exclude<keyof typeof EXIT, 'ok'>;

/**
 * The one error type an operator sees: what happened, on which host, and the next command to run.
 * The message and hint are redacted at construction so a secret cannot leak through an error.
 */
export class RunbookError extends Error {
  readonly kind: ErrorKind;
  readonly host: string | undefined;
  readonly hint: string | undefined;
  readonly retryable: boolean;

  constructor(kind: ErrorKind, message: string, opts: { host?: string; hint?: string; retryable?: boolean; cause?: unknown } = {}) {
    super(redact(message), opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'RunbookError';
    this.kind = kind;
    this.host = opts.host;
    this.hint = opts.hint === undefined ? undefined : redact(opts.hint);
    this.retryable = opts.retryable ?? false;
  }

  get exitCode(): number {
    return EXIT[this.kind];
  }

  /** One paragraph for the terminal. */
  describe(): string {
    const where = this.host ? ` [host ${this.host}]` : '';
    const next = this.hint ? `\n  next: ${this.hint}` : '';
    return `error${where}: ${this.message}${next}`;
  }
}

export function asRunbookError(err: unknown, host?: string): RunbookError {
  if (err instanceof RunbookError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new RunbookError('stepFailed', msg, { host, cause: err });
}
