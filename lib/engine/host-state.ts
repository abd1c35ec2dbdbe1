import { hostname, userInfo } from 'node:os';
import { read, write } from '../core/cmd.ts';
import { RunbookError } from '../core/errors.ts';
import { shJoin } from '../core/quote.ts';
import type { Executor } from '../exec/types.ts';
import type { EngineEvent } from './types.ts';

export const STATE_DIR = '/var/lib/runbook';
export const LOCK_DIR = `${STATE_DIR}/run.lock`;
export const AUDIT_LOG = '/var/log/runbook/audit.jsonl';
/** A lock older than this is reported as stale (a run is never expected to take this long). */
export const STALE_AFTER_MS = 3 * 60 * 60_000;

export interface LockInfo {
  runbook: string;
  operator: string;
  pid: number;
  runner: string;
  since: string;
}

export function operatorName(): string {
  if (process.env.RUNBOOK_OPERATOR) return process.env.RUNBOOK_OPERATOR;
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    /* no passwd entry (containers) */
  }
  return `${user}@${hostname()}`;
}

export const lockCmds = {
  mkdirState: () => write(['mkdir', '-p', '-m', '0700', STATE_DIR]),
  take: () => write(['mkdir', '-m', '0700', LOCK_DIR], { okCodes: [0, 1] }),
  writeInfo: (info: LockInfo) => write(['tee', `${LOCK_DIR}/info.json`], { stdin: JSON.stringify(info) }),
  readInfo: () => read(['cat', `${LOCK_DIR}/info.json`], { okCodes: [0, 1] }),
  release: () => write(['rm', '-rf', '--', LOCK_DIR]),
  auditDir: () => write(['mkdir', '-p', '-m', '0750', '/var/log/runbook']),
  audit: (line: string) => write(['tee', '-a', AUDIT_LOG], { stdin: `${line}\n`, summary: `append to ${AUDIT_LOG}` }),
};

/** Whether a lock is stale: its runner process on this machine is gone, or it is older than STALE_AFTER_MS. */
export function isStale(info: LockInfo, now = Date.now(), alive: (pid: number) => boolean = pidAlive): boolean {
  if (info.runner === hostname() && !alive(info.pid)) return true;
  return now - Date.parse(info.since) > STALE_AFTER_MS;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the per-host run lock (an atomic mkdir on the host). A live lock refuses the run and names
 * its holder; a stale one is named too, with the command that breaks it (`runbook unlock`).
 */
export async function acquireLock(exec: Executor, runbook: string, target: string): Promise<() => Promise<void>> {
  await exec.run(lockCmds.mkdirState());
  const info: LockInfo = { runbook, operator: operatorName(), pid: process.pid, runner: hostname(), since: new Date().toISOString() };
  const r = await exec.run(lockCmds.take());
  if (r.exitCode !== 0) {
    const cur = await exec.run(lockCmds.readInfo());
    let held: LockInfo | null = null;
    try {
      held = JSON.parse(cur.stdout) as LockInfo;
    } catch {
      /* a lock without readable info is treated as stale below */
    }
    const stale = !held || isStale(held);
    const who = held ? `${held.operator} running ${held.runbook} since ${held.since} (pid ${held.pid} on ${held.runner})` : 'an unknown run (no lock info)';
    throw new RunbookError('locked', `${stale ? 'a stale' : 'another'} run holds the lock on ${exec.host}: ${who}`, {
      host: exec.host,
      hint: stale ? `if no run is active, break it: ${shJoin(['runbook', 'unlock', '--target', target])}` : 'wait for it to finish, then re-run',
    });
  }
  await exec.run(lockCmds.writeInfo(info));
  return async () => {
    await exec.run(lockCmds.release());
  };
}

/** Appends one JSON line per finished step to the host's audit log. */
export function auditTrail(exec: Executor, runbook: string): (e: EngineEvent) => Promise<void> {
  const operator = operatorName();
  let dirMade = false;
  return async (e) => {
    if (e.type !== 'step-changed' && e.type !== 'step-unchanged' && e.type !== 'step-failed') return;
    if (!dirMade) {
      await exec.run(lockCmds.auditDir());
      dirMade = true;
    }
    const result = e.type === 'step-failed' ? 'failed' : e.type === 'step-changed' ? 'changed' : 'unchanged';
    const line = { at: new Date().toISOString(), runbook, step: e.id, result, ms: e.ms, operator, ...(e.type === 'step-failed' ? { error: e.error.message } : { reason: e.reason }) };
    await exec.run(lockCmds.audit(JSON.stringify(line)));
  };
}
