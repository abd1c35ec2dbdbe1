import { describe, expect, it } from 'vitest';
import { read, write } from '../../lib/core/cmd.ts';
import { EXIT } from '../../lib/core/errors.ts';
import { defineConfig } from '../../lib/config/schema.ts';
import { runSteps } from '../../lib/engine/engine.ts';
import type { Runbook, Step } from '../../lib/engine/types.ts';
import { recorder } from '../../lib/render/tty.ts';
import { ScriptedExecutor } from './fakes.ts';

/** A host with one "file" whose presence the steps converge. */
function world() {
  const state = { present: false, applied: 0 };
  const exec = new ScriptedExecutor((cmd) => {
    if (cmd.argv[0] === 'test') return { exitCode: state.present ? 0 : 1 };
    if (cmd.argv[0] === 'touch') {
      state.present = true;
      state.applied++;
    }
    return {};
  });
  return { state, exec };
}

const fileStep = (id: string, destructive?: string): Step<object> => ({
  id,
  title: `ensure ${id}`,
  destructive,
  async check({ exec }) {
    const r = await exec.run(read(['test', '-e', `/x/${id}`], { okCodes: [0, 1] }));
    return r.exitCode === 0 ? { done: true, reason: 'present' } : { done: false, reason: 'missing' };
  },
  async apply({ exec }) {
    await exec.run(write(['touch', `/x/${id}`]));
  },
});

const rb = (steps: Step<object>[]): Runbook<object> => ({ name: 't', title: 't', summary: 's', config: defineConfig({}, () => ({})), steps: () => steps });

describe('engine', () => {
  it('applies, verifies by re-checking, then a re-run changes nothing and says why', async () => {
    const { exec, state } = world();
    const r1 = recorder();
    const res = await runSteps(rb([fileStep('a')]), { exec, config: {}, emit: r1.emit });
    expect(res).toMatchObject({ exitCode: 0, changed: 1, unchanged: 0 });
    expect(r1.events.map((e) => e.type)).toEqual(['run-start', 'step-start', 'step-changed', 'run-end']);
    const r2 = recorder();
    const res2 = await runSteps(rb([fileStep('a')]), { exec, config: {}, emit: r2.emit });
    expect(res2).toMatchObject({ exitCode: 0, changed: 0, unchanged: 1 });
    expect(r2.events.find((e) => e.type === 'step-unchanged')).toMatchObject({ reason: 'present' });
    expect(state.applied).toBe(1);
  });

  it('dry-run runs reads, prints writes, runs none', async () => {
    const { exec, state } = world();
    const r = recorder();
    const res = await runSteps(rb([fileStep('a'), fileStep('b')]), { exec, config: {}, emit: r.emit, dryRun: true });
    expect(res).toMatchObject({ exitCode: 0, planned: 2, changed: 0 });
    expect(exec.calls.every((c) => !c.write)).toBe(true);
    expect(exec.calls.filter((c) => c.argv[0] === 'test')).toHaveLength(2);
    expect(r.events.filter((e) => e.type === 'write-planned').map((e) => (e as { command: string }).command)).toEqual(['touch /x/a', 'touch /x/b']);
    expect(state.applied).toBe(0);
  });

  it('refuses a destructive step with no terminal and no --yes: exit "precondition refused", nothing written', async () => {
    const { exec, state } = world();
    const r = recorder();
    const res = await runSteps(rb([fileStep('wipe', 'erases the disk')]), { exec, config: {}, emit: r.emit });
    expect(res.exitCode).toBe(EXIT.precondition);
    expect(state.applied).toBe(0);
    const end = r.events.at(-1);
    expect(end).toMatchObject({ type: 'run-end', ok: false, error: { kind: 'precondition' } });
    expect((end as { error: { hint: string } }).error.hint).toContain('--yes');
  });

  it('asks at a terminal; a "no" refuses, a "yes" applies; --yes never asks', async () => {
    const asked: string[] = [];
    const w1 = world();
    const no = await runSteps(rb([fileStep('wipe', 'erases the disk')]), { exec: w1.exec, config: {}, emit: () => {}, confirm: async (q) => (asked.push(q), false) });
    expect(no.exitCode).toBe(EXIT.precondition);
    const w2 = world();
    const yes = await runSteps(rb([fileStep('wipe', 'erases the disk')]), { exec: w2.exec, config: {}, emit: () => {}, confirm: async () => true });
    expect(yes.exitCode).toBe(0);
    const w3 = world();
    await runSteps(rb([fileStep('wipe', 'erases the disk')]), { exec: w3.exec, config: {}, emit: () => {}, yes: true, confirm: async () => { throw new Error('asked'); } });
    expect(w3.state.applied).toBe(1);
    expect(asked[0]).toContain('erases the disk');
  });

  it('--only and --from select steps; an unknown id is a usage error listing the ids', async () => {
    const { exec } = world();
    const r = recorder();
    await runSteps(rb([fileStep('a'), fileStep('b'), fileStep('c')]), { exec, config: {}, emit: r.emit, from: 'b' });
    expect(r.events.filter((e) => e.type === 'step-skipped').map((e) => (e as { id: string }).id)).toEqual(['a']);
    const bad = await runSteps(rb([fileStep('a')]), { exec, config: {}, emit: () => {}, only: ['nope'] });
    expect(bad.exitCode).toBe(EXIT.usage);
  });

  it('a step whose apply does not converge fails with the check\'s reason, and the run stops there', async () => {
    const exec = new ScriptedExecutor((cmd) => (cmd.argv[0] === 'test' ? { exitCode: 1 } : {}));
    const r = recorder();
    const res = await runSteps(rb([fileStep('a'), fileStep('b')]), { exec, config: {}, emit: r.emit });
    expect(res.exitCode).toBe(EXIT.stepFailed);
    const failed = r.events.find((e) => e.type === 'step-failed') as { error: { message: string; hint: string } };
    expect(failed.error.message).toMatch(/still differs: missing/);
    expect(failed.error.hint).toContain('--from a');
    expect(r.events.some((e) => e.type === 'step-start' && e.id === 'b')).toBe(false);
  });

  it('writes one audit record per finished step, none in dry-run', async () => {
    const seen: string[] = [];
    const { exec } = world();
    await runSteps(rb([fileStep('a')]), { exec, config: {}, emit: () => {}, onStepEnd: async (e) => void seen.push(e.type) });
    await runSteps(rb([fileStep('a')]), { exec, config: {}, emit: () => {}, dryRun: true, onStepEnd: async (e) => void seen.push(`dry:${e.type}`) });
    expect(seen).toEqual(['step-changed']);
  });

  it('an abort stops before the next step with exit 130 and a resume hint', async () => {
    const { exec } = world();
    const ac = new AbortController();
    ac.abort();
    const r = recorder();
    const res = await runSteps(rb([fileStep('a')]), { exec, config: {}, emit: r.emit, signal: ac.signal });
    expect(res.exitCode).toBe(EXIT.interrupted);
    expect(JSON.stringify(r.events.at(-1))).toContain('--from a');
  });
});

describe('host lock and bounded commands', () => {
  it('a lock is stale when its runner process on this machine is gone, or when it is old', async () => {
    const { isStale, STALE_AFTER_MS } = await import('../../lib/engine/host-state.ts');
    const { hostname } = await import('node:os');
    const now = Date.parse('2026-11-22T12:00:00Z');
    const base = { runbook: 'x', operator: 'a@b', pid: 4242, since: '2026-11-22T11:59:00Z' };
    expect(isStale({ ...base, runner: hostname() }, now, () => false)).toBe(true);
    expect(isStale({ ...base, runner: hostname() }, now, () => true)).toBe(false);
    expect(isStale({ ...base, runner: 'laptop-elsewhere' }, now, () => true)).toBe(false);
    expect(isStale({ ...base, runner: 'laptop-elsewhere', since: new Date(now - STALE_AFTER_MS - 1).toISOString() }, now, () => true)).toBe(true);
  });

  it('a held lock refuses the run (exit "locked") and names the holder and the way to break it', async () => {
    const { acquireLock } = await import('../../lib/engine/host-state.ts');
    const info = JSON.stringify({ runbook: 'base-host', operator: 'ops@laptop', pid: 1, runner: 'elsewhere', since: '2020-01-01T00:00:00Z' });
    const exec = new ScriptedExecutor((cmd) => (cmd.argv[0] === 'mkdir' && cmd.argv.length === 4 ? { exitCode: 1 } : cmd.argv[0] === 'cat' ? { stdout: info } : {}));
    const err = await acquireLock(exec, 'base-host', 'ssh://admin@h').catch((e: unknown) => e as import('../../lib/core/errors.ts').RunbookError);
    expect(err).toMatchObject({ kind: 'locked' });
    expect((err as Error).message).toMatch(/stale run holds the lock .* ops@laptop running base-host/);
    expect((err as { hint: string }).hint).toBe('if no run is active, break it: runbook unlock --target ssh://admin@h');
  });

  it('a command that hangs is cut at its deadline with a clear, retryable error', async () => {
    const { LocalExecutor } = await import('../../lib/exec/local.ts');
    const t0 = Date.now();
    const err = await new LocalExecutor({ sudo: false }).run(read(['sleep', '30'], { timeoutMs: 1_000 })).catch((e: unknown) => e as import('../../lib/core/errors.ts').RunbookError);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect((err as Error).message).toMatch(/did not finish within 1 s/);
    expect((err as { retryable: boolean }).retryable).toBe(true);
  }, 20_000);
});
