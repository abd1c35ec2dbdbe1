import type { ErrorKind } from '../core/errors.ts';
import type { Executor } from '../exec/types.ts';
import type { ConfigSchema } from '../config/schema.ts';

export type CheckResult = { done: true; reason: string } | { done: false; reason: string };

export interface StepContext<C> {
  exec: Executor;
  config: C;
  /** Progress for long work; shown under the step, and as a log event in --json. */
  log(message: string): void;
}

/**
 * One step of a runbook (describe / check / apply / verify).
 * check is read-only and runs right before apply, so it sees the host as it is now.
 * verify defaults to "check must now say done", which is what makes a re-run converge.
 */
export interface Step<C> {
  id: string;
  title: string;
  /** Markdown shown by `runbook show`: what the step does and why. */
  doc?: string;
  /** Set when apply can lose data or cut access; needs --yes or an interactive confirmation. */
  destructive?: string;
  check(ctx: StepContext<C>): Promise<CheckResult>;
  apply(ctx: StepContext<C>): Promise<void>;
  verify?(ctx: StepContext<C>): Promise<void>;
}

export interface Runbook<C> {
  name: string;
  title: string;
  /** The seed document this runbook mirrors, relative to the seeds folder. */
  seed?: string;
  summary: string;
  /** Where the seed and the application's real behaviour disagree, and what the runbook does. */
  deviations?: string[];
  config: ConfigSchema<C>;
  /**
   * The runbook acts only through cloud APIs from the machine it runs on (an operator's or CI's):
   * it runs with `--target local`, as the invoking user (no sudo), and takes no host lock.
   */
  apiOnly?: boolean;
  steps(config: C): Step<C>[];
  /**
   * First-boot user-data reaching the same state; rendered by `runbook user-data NAME`. Its env
   * file follows `config` when given (a bootstrap may need more than the runbook's own variables).
   */
  cloudInit?: {
    template: string;
    config?: ConfigSchema<any>;
    vars(config: any): Record<string, string>;
    /** Renders the whole user-data itself (a template built on another's), instead of template + vars. */
    render?(config: any): string;
  };
  /** Markdown for `runbook show`: what first boot needs (bucket, identity, policies). */
  cloudInitDoc?: string;
  /** The rendered files this runbook installs, so the asset tests validate exactly those. */
  assets?(config: C): RenderedAsset[];
}

export interface RenderedAsset {
  kind: 'nftables' | 'cloud-init' | 'systemd' | 'compose' | 'shell' | 'text';
  /** Where it is installed on the host (systemd units: their unit file name matters). */
  path: string;
  content: string;
  /** Compose files: the `--env-file` they are run with (its example values), for interpolation. */
  envFile?: string;
  /** Compose files: the env_file files written beside them (their example values). */
  files?: Record<string, string>;
}

export interface StepRef {
  index: number;
  total: number;
  id: string;
  title: string;
}

export interface ErrorInfo {
  kind: ErrorKind;
  message: string;
  host?: string;
  hint?: string;
}

export type EngineEvent =
  | { type: 'run-start'; runbook: string; host: string; total: number; dryRun: boolean }
  | ({ type: 'step-start' } & StepRef)
  | ({ type: 'step-skipped'; reason: string } & StepRef)
  | ({ type: 'step-unchanged'; reason: string; ms: number } & StepRef)
  | ({ type: 'step-changed'; reason: string; ms: number } & StepRef)
  | ({ type: 'step-planned'; reason: string; writes: number; ms: number } & StepRef)
  | ({ type: 'step-failed'; error: ErrorInfo; ms: number } & StepRef)
  | { type: 'write-planned'; id: string; command: string; detail?: string }
  | { type: 'log'; id: string; message: string }
  | { type: 'run-end'; ok: boolean; exitCode: number; changed: number; unchanged: number; planned: number; failed: number; ms: number; error?: ErrorInfo };

export type Emit = (e: EngineEvent) => void;
