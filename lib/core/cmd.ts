import type { Secret } from './secret.ts';
import { type TemplateValue, argvOf } from './cmd-template.ts';
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

export type CmdOptions = Omit<Cmd, 'argv' | 'write'>;
type Tag = (strings: TemplateStringsArray, ...values: TemplateValue[]) => Cmd;

/**
 * `read(argv, opts)`, or in the seed document's own words: read`systemctl is-enabled ${unit}`,
 * and with options: read({ okCodes: [0, 1] })`...` (see cmd-template.ts for the rules).
 */
export function read(argv: readonly string[], opts?: CmdOptions): Cmd;
export function read(strings: TemplateStringsArray, ...values: TemplateValue[]): Cmd;
export function read(opts: CmdOptions): Tag;
export function read(a: readonly string[] | TemplateStringsArray | CmdOptions, ...rest: unknown[]): Cmd | Tag {
  return build(false, a, rest);
}

/** `write(argv, opts)`, write`systemctl enable --now ${unit}`, write({ timeoutMs })`...`. */
export function write(argv: readonly string[], opts?: CmdOptions): Cmd;
export function write(strings: TemplateStringsArray, ...values: TemplateValue[]): Cmd;
export function write(opts: CmdOptions): Tag;
export function write(a: readonly string[] | TemplateStringsArray | CmdOptions, ...rest: unknown[]): Cmd | Tag {
  return build(true, a, rest);
}

function build(w: boolean, a: readonly string[] | TemplateStringsArray | CmdOptions, rest: unknown[]): Cmd | Tag {
  if (isTemplate(a)) return { argv: argvOf(a, rest), write: w };
  if (Array.isArray(a)) return { argv: a as readonly string[], write: w, ...((rest[0] as CmdOptions | undefined) ?? {}) };
  const opts = a as CmdOptions;
  return (strings: TemplateStringsArray, ...values: TemplateValue[]) => ({ argv: argvOf(strings, values), write: w, ...opts });
}

const isTemplate = (a: unknown): a is TemplateStringsArray => Array.isArray(a) && 'raw' in a;

export function describeCmd(cmd: Cmd): string {
  return cmd.summary ?? shJoin(cmd.argv);
}
