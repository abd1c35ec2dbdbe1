import { describeCmd } from '../core/cmd.ts';
import { EXIT, RunbookError, asRunbookError } from '../core/errors.ts';
import { redact } from '../core/secret.ts';
import { DryRunExecutor } from '../exec/dry-run.ts';
import type { Executor } from '../exec/types.ts';
import type { EngineEvent, Emit, ErrorInfo, Runbook, Step, StepContext } from './types.ts';

export interface RunOptions<C> {
  exec: Executor;
  config: C;
  emit: Emit;
  dryRun?: boolean;
  /** Allows destructive steps without asking (unattended runs). */
  yes?: boolean;
  /** Present only when a person is at a terminal; never under cron or cloud-init. */
  confirm?: (question: string) => Promise<boolean>;
  only?: string[];
  from?: string;
  signal?: AbortSignal;
  /** Awaited after each step's outcome (the host's audit log); its failure is reported, not fatal. */
  onStepEnd?: (e: EngineEvent) => Promise<void>;
}

export interface RunResult {
  exitCode: number;
  changed: number;
  unchanged: number;
  planned: number;
  failed: number;
}

const info = (e: RunbookError): ErrorInfo => ({ kind: e.kind, message: e.message, host: e.host, hint: e.hint });

/** Selects the steps to run; unknown ids are a usage error that lists the valid ones. */
export function selectSteps<C>(steps: Step<C>[], only?: string[], from?: string): Set<string> {
  const ids = steps.map((s) => s.id);
  const unknown = [...(only ?? []), ...(from ? [from] : [])].filter((id) => !ids.includes(id));
  if (unknown.length) {
    throw new RunbookError('usage', `unknown step ${unknown.map((u) => `"${u}"`).join(', ')}`, { hint: `steps are: ${ids.join(', ')}` });
  }
  let chosen = ids;
  if (from) chosen = ids.slice(ids.indexOf(from));
  if (only?.length) chosen = chosen.filter((id) => only.includes(id));
  return new Set(chosen);
}

/** Runs a runbook's steps in order, converging each one; stops at the first failure. */
export async function runSteps<C>(rb: Runbook<C>, o: RunOptions<C>): Promise<RunResult> {
  const t0 = Date.now();
  let current = '';
  let writes = 0;
  const exec = o.dryRun
    ? new DryRunExecutor(o.exec, (cmd, detail) => {
        writes++;
        o.emit({ type: 'write-planned', id: current, command: redact(describeCmd(cmd)), detail: detail === undefined ? undefined : redact(detail) });
      })
    : o.exec;
  const res: RunResult = { exitCode: EXIT.ok, changed: 0, unchanged: 0, planned: 0, failed: 0 };
  const end = (error?: RunbookError) => {
    if (error) res.exitCode = error.exitCode;
    o.emit({ type: 'run-end', ok: !error, ...res, ms: Date.now() - t0, error: error ? info(error) : undefined });
    return res;
  };

  let steps: Step<C>[];
  let chosen: Set<string>;
  try {
    steps = rb.steps(o.config);
    chosen = selectSteps(steps, o.only, o.from);
  } catch (err) {
    o.emit({ type: 'run-start', runbook: rb.name, host: o.exec.host, total: 0, dryRun: Boolean(o.dryRun) });
    return end(asRunbookError(err, o.exec.host));
  }
  const total = steps.length;
  const finish = async (e: EngineEvent) => {
    o.emit(e);
    if (o.dryRun || !o.onStepEnd) return;
    await o.onStepEnd(e).catch((err: unknown) => o.emit({ type: 'log', id: current, message: `audit log not written: ${asRunbookError(err).message}` }));
  };
  o.emit({ type: 'run-start', runbook: rb.name, host: o.exec.host, total, dryRun: Boolean(o.dryRun) });

  for (const [i, step] of steps.entries()) {
    const ref = { index: i + 1, total, id: step.id, title: step.title };
    if (!chosen.has(step.id)) {
      o.emit({ type: 'step-skipped', ...ref, reason: o.only?.length ? 'not selected by --only' : `before --from ${o.from}` });
      continue;
    }
    if (o.signal?.aborted) return end(new RunbookError('interrupted', `interrupted before ${step.id}`, { host: exec.host, hint: `resume with: --from ${step.id}` }));
    current = step.id;
    const ctx: StepContext<C> = { exec, config: o.config, log: (message) => o.emit({ type: 'log', id: step.id, message: redact(message) }) };
    const s0 = Date.now();
    o.emit({ type: 'step-start', ...ref });
    try {
      const before = await step.check(ctx);
      if (before.done) {
        res.unchanged++;
        await finish({ type: 'step-unchanged', ...ref, reason: before.reason, ms: Date.now() - s0 });
        continue;
      }
      if (step.destructive && !o.dryRun && !o.yes) {
        const question = `${step.title}: ${step.destructive}. Go ahead on ${exec.host}?`;
        if (!o.confirm) {
          throw new RunbookError('precondition', `step ${step.id} is destructive (${step.destructive}) and no one is at a terminal to confirm`, {
            host: exec.host,
            hint: `review with --dry-run, then re-run with --yes --from ${step.id}`,
          });
        }
        if (!(await o.confirm(question))) {
          throw new RunbookError('precondition', `step ${step.id} was declined`, { host: exec.host, hint: `re-run with --from ${step.id} when ready` });
        }
      }
      writes = 0;
      await step.apply(ctx);
      if (o.dryRun) {
        res.planned++;
        o.emit({ type: 'step-planned', ...ref, reason: before.reason, writes, ms: Date.now() - s0 });
        continue;
      }
      if (step.verify) await step.verify(ctx);
      else {
        const after = await step.check(ctx);
        if (!after.done) throw new RunbookError('stepFailed', `step ${step.id} applied but the host still differs: ${after.reason}`, { host: exec.host, hint: `inspect the host, then re-run with --from ${step.id}` });
      }
      res.changed++;
      await finish({ type: 'step-changed', ...ref, reason: before.reason, ms: Date.now() - s0 });
    } catch (err) {
      const e = asRunbookError(err, exec.host);
      const withHint = e.hint ? e : new RunbookError(e.kind, e.message, { host: e.host ?? exec.host, hint: `fix the cause, then resume with --from ${step.id}`, cause: e });
      res.failed++;
      await finish({ type: 'step-failed', ...ref, error: info(withHint), ms: Date.now() - s0 });
      return end(withHint);
    }
  }
  return end();
}
