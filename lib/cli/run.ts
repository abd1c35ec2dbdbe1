import { type LoadOptions, loadConfig } from '../config/schema.ts';
import { EXIT, RunbookError, asRunbookError } from '../core/errors.ts';
import { redact } from '../core/secret.ts';
import { runSteps } from '../engine/engine.ts';
import { acquireLock, auditTrail, lockCmds } from '../engine/host-state.ts';
import type { EngineEvent, Runbook } from '../engine/types.ts';
import { jsonRenderer, ttyRenderer } from '../render/tty.ts';
import { askYesNo } from './confirm.ts';
import { executorFor } from './targets.ts';

export interface RunCommandOptions {
  target: string;
  envFiles: string[];
  sshConfig?: string;
  dryRun: boolean;
  yes: boolean;
  only: string[];
  from?: string;
  json: boolean;
  quiet: boolean;
  /** Set by a multi-host system run: values learned from its hosts, and its other runbooks' variables. */
  learned?: LoadOptions['learned'];
  known?: LoadOptions['known'];
}

/**
 * A step's hint names the next runbook to run (`runbook run central-db.rotate-password`) without
 * knowing where this run went: the operator gets it with this run's `--target`, ready to paste.
 */
export function withTarget(hint: string, target: string): string {
  return hint.replace(/\brunbook run ([\w.-]+)(?![^\n]*--target)/g, `runbook run $1 --target ${target}`);
}

/** `runbook run`: config, executor, lock, engine, audit; returns the exit code. */
export async function runCommand(rb: Runbook<any>, o: RunCommandOptions): Promise<number> {
  const config = loadConfig(rb.config, o.envFiles, { learned: o.learned, known: o.known });
  const out = { write: (s: string) => void process.stdout.write(s), isTTY: Boolean(process.stdout.isTTY) };
  const render: (e: EngineEvent) => void = o.json ? jsonRenderer(out) : ttyRenderer(out, { quiet: o.quiet });
  // With --json, stdout is for machines; the failure is also said in words on stderr, where
  // cloud-init's output log and a cron mail pick it up.
  const emit = (e: EngineEvent) => {
    if (e.type === 'run-end' && e.error?.hint) e = { ...e, error: { ...e.error, hint: withTarget(e.error.hint, o.target) } };
    render(e);
    if (o.json && e.type === 'run-end' && e.error) {
      const { kind, message, host, hint } = e.error;
      process.stderr.write(`${new RunbookError(kind, message, { host, hint }).describe()}\n`);
    }
  };
  const vm = rb.apiOnly ? undefined : await throwawayFor(o.target, o.json || o.quiet);
  const target = vm?.target() ?? o.target;
  const exec = executorFor(target, { sshConfig: vm?.sshConfigPath ?? o.sshConfig, apiOnly: rb.apiOnly });
  // A runbook that acts only through APIs has no host of its own to lock or to keep an audit on.
  const hostState = !o.dryRun && !rb.apiOnly;
  const ac = new AbortController();
  let interrupts = 0;
  const onSig = () => {
    interrupts++;
    ac.abort();
    if (interrupts > 1) process.exit(EXIT.interrupted);
    process.stderr.write('\ninterrupt: stopping after the current step (press again to abort now)\n');
  };
  process.on('SIGINT', onSig);
  process.on('SIGTERM', onSig);
  let release: (() => Promise<void>) | undefined;
  try {
    if (hostState) release = await acquireLock(exec, rb.name, o.target);
    const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY) && !o.json;
    const res = await runSteps(rb, {
      exec,
      config,
      emit,
      dryRun: o.dryRun,
      yes: o.yes,
      confirm: interactive ? askYesNo : undefined,
      only: o.only,
      from: o.from,
      signal: ac.signal,
      onStepEnd: hostState ? auditTrail(exec, rb.name) : undefined,
    });
    return res.exitCode;
  } catch (err) {
    const caught = asRunbookError(err, exec.host);
    const e = caught.hint ? new RunbookError(caught.kind, caught.message, { host: caught.host, hint: withTarget(caught.hint, o.target), cause: caught }) : caught;
    process.stderr.write(`${redact(e.describe())}\n`);
    return e.exitCode;
  } finally {
    process.off('SIGINT', onSig);
    process.off('SIGTERM', onSig);
    if (release) await release().catch((err: unknown) => process.stderr.write(`warning: lock not released: ${asRunbookError(err).message}\n`));
    await exec.close();
    if (vm) {
      const { howToReach } = await import('../vm/throwaway.ts');
      (o.json || o.quiet ? process.stderr : process.stdout).write(`${howToReach(vm)}\n`);
    }
  }
}

/** For `--target vm[:NAME]`: the booted (or reused) VM; progress goes to stderr when stdout is for machines. */
async function throwawayFor(target: string, quietStdout: boolean) {
  if (target !== 'vm' && !target.startsWith('vm:')) return undefined;
  const { throwawayVm, vmTargetName } = await import('../vm/throwaway.ts');
  const name = vmTargetName(target) as string;
  const out = quietStdout ? process.stderr : process.stdout;
  try {
    return await throwawayVm(name, (line) => out.write(`${line}\n`));
  } catch (err) {
    throw err instanceof RunbookError ? err : new RunbookError('unreachable', `the throwaway VM ${name} did not come up: ${(err as Error).message}`, { host: `vm:${name}`, hint: `runbook vm stop ${name}, then run again` });
  }
}

/** `runbook unlock`: removes the run lock after the operator has made sure no run is active. */
export async function unlock(target: string, sshConfig?: string): Promise<number> {
  const vm = await throwawayFor(target, false);
  const exec = executorFor(vm?.target() ?? target, { sshConfig: vm?.sshConfigPath ?? sshConfig });
  try {
    const cur = await exec.run(lockCmds.readInfo());
    await exec.run(lockCmds.release());
    process.stdout.write(cur.exitCode === 0 ? `removed the lock held by ${cur.stdout.trim()}\n` : 'no lock was held\n');
    return EXIT.ok;
  } catch (err) {
    throw err instanceof RunbookError ? err : asRunbookError(err, exec.host);
  } finally {
    await exec.close();
  }
}
