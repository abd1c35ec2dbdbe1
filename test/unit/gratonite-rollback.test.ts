// Rollback bookkeeping: deploys recorded with their tags and env hashes, the target chosen, the
// migration guard, and the rollback step on a scripted host (files restored from the snapshot
// after its hashes are checked, only api and web recreated, nothing done when refused).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Cmd } from '../../lib/core/cmd.ts';
import { exampleValues } from '../../lib/config/schema.ts';
import { RunbookError } from '../../lib/core/errors.ts';
import { runSteps } from '../../lib/engine/engine.ts';
import type { EngineEvent, Runbook } from '../../lib/engine/types.ts';
import { recorder } from '../../lib/render/tty.ts';
import { type GratoniteConfig, gratoniteConfig } from '../../runbooks/gratonite/config.ts';
import { type DeployRecord, type DeployState, parseDeploys, planRollback, recordDeploy } from '../../runbooks/gratonite/deploys.ts';
import { recordStep } from '../../runbooks/gratonite/record.ts';
import { rollbackSteps } from '../../runbooks/gratonite/rollback.ts';
import { ScriptedExecutor, runbookErrorOf } from './fakes.ts';

const h = (s: string) => createHash('sha256').update(s).digest('hex');
const rec = (tag: string, compat = true): Omit<DeployRecord, 'id'> => ({ at: 'now', tag, apiImage: `api:${tag}`, webImage: `web:${tag}`, files: { 'api.env': h(`api ${tag}`), 'web.env': h('web'), 'compose.env': h(`tags ${tag}`) }, migrationsBackwardCompatible: compat });
const deployed = (...tags: [string, boolean?][]) => tags.reduce<DeployState>((s, [t, c]) => recordDeploy(s, rec(t, c)).state, { deploys: [] });

describe('deploy records', () => {
  it('each new deploy gets the next id and becomes current; the same deploy again records nothing', () => {
    const s = deployed(['v1'], ['v2']);
    expect(s.deploys.map((d) => [d.id, d.tag])).toEqual([[1, 'v1'], [2, 'v2']]);
    expect(s.current).toBe(2);
    expect(recordDeploy(s, rec('v2')).added).toBe(false);
    expect(recordDeploy(s, { ...rec('v2'), files: { ...rec('v2').files, 'api.env': h('changed') } }).record.id).toBe(3);
  });

  it('a damaged record file is refused, never guessed from', () => {
    expect(runbookErrorOf(() => parseDeploys('{not json')).kind).toBe('precondition');
    expect(runbookErrorOf(() => parseDeploys('{"deploys":[{"id":1}]}')).message).toMatch(/not a deploy/);
    expect(parseDeploys(null)).toEqual({ deploys: [] });
  });

  it('previous is the deploy before the current one; a tag names one', () => {
    const s = deployed(['v1'], ['v2'], ['v3']);
    expect(planRollback(s, 'previous', false).target.tag).toBe('v2');
    expect(planRollback(s, 'v1', false).target.tag).toBe('v1');
    expect(runbookErrorOf(() => planRollback(s, 'v9', false)).message).toMatch(/no recorded deploy of tag v9/);
    expect(runbookErrorOf(() => planRollback(deployed(['v1']), 'previous', false)).message).toMatch(/no earlier deploy than v1/);
  });

  it('refuses to cross migrations not marked backward compatible, unless told to', () => {
    const s = deployed(['v1'], ['v2', false], ['v3']);
    expect(planRollback(s, 'v2', false).target.tag).toBe('v2');
    const e = runbookErrorOf(() => planRollback(s, 'v1', false));
    expect(e.kind).toBe('precondition');
    expect(e.message).toMatch(/crosses the migrations of v2 \(#2\), not marked backward compatible/);
    expect(e.hint).toMatch(/ROLLBACK_ACROSS_MIGRATIONS=yes/);
    expect(planRollback(s, 'v1', true).target.tag).toBe('v1');
  });

  it('after a deploy stopped by a gate, previous is the last deploy that passed; its migrations count only if they ran', () => {
    const s = deployed(['v1'], ['v2']);
    expect(planRollback(s, 'previous', false, { tag: 'v3', migrationsBackwardCompatible: true }).target.tag).toBe('v2');
    expect(runbookErrorOf(() => planRollback(s, 'previous', false, { tag: 'v3', migrationsBackwardCompatible: false })).message).toMatch(/v3 \(live, not recorded\)/);
  });
});

// A host whose files live in a map: cat, sha256sum, cp, install from stdin and mv act on it.
function fakeHost(files: Map<string, string>) {
  return new ScriptedExecutor((cmd: Cmd) => {
    const a = cmd.argv;
    if (a[0] === 'cat') return files.has(a.at(-1) as string) ? { stdout: files.get(a.at(-1) as string) } : { exitCode: 1 };
    if (a[0] === 'sha256sum') return { stdout: a.slice(2).filter((p) => files.has(p)).map((p) => `${h(files.get(p) as string)}  ${p}`).join('\n'), exitCode: a.slice(2).every((p) => files.has(p)) ? 0 : 1 };
    if (a[0] === 'cp') return files.set(a.at(-1) as string, files.get(a.at(-2) as string) ?? ''), {};
    if (a[0] === 'install' && a.includes('/dev/stdin')) return files.set(a.at(-1) as string, String(cmd.stdin ?? '')), {};
    if (a[0] === 'mv') return files.set(a.at(-1) as string, files.get(a.at(-2) as string) ?? ''), {};
    if (a[0] === 'stat') return { exitCode: 1 };
    if (a[0] === 'curl') return a.includes('http://127.0.0.1:4000/health') ? { stdout: '{"status":"ok"}\n200' } : { stdout: '200' };
    return {};
  });
}

const base: GratoniteConfig = { ...gratoniteConfig.build(exampleValues(gratoniteConfig)), healthDeadlineSeconds: 1 };
const live = (files: Map<string, string>, tag: string) => {
  files.set('/opt/gratonite/api.env', `api ${tag}`);
  files.set('/opt/gratonite/web.env', 'web');
  files.set('/opt/gratonite/compose.env', `tags ${tag}`);
};
const run = async <C>(rb: Runbook<C>, exec: ScriptedExecutor, config: C, only: string[]) => {
  const r = recorder();
  const res = await runSteps(rb, { exec, config, emit: r.emit, only });
  return { res, end: r.events.find((e): e is Extract<EngineEvent, { type: 'run-end' }> => e.type === 'run-end') };
};
const recordRb: Runbook<GratoniteConfig> = { name: 'gratonite', title: 't', summary: 's', config: gratoniteConfig, steps: () => [recordStep()] };
const rollbackRb: Runbook<GratoniteConfig> = { name: 'gratonite.rollback', title: 't', summary: 's', config: gratoniteConfig, steps: rollbackSteps };

describe('rollback on a host', () => {
  async function twoDeploys(secondCompatible: boolean) {
    const files = new Map<string, string>();
    live(files, 'v1');
    expect((await run(recordRb, fakeHost(files), { ...base, tag: 'v1' }, ['gratonite.record'])).res.exitCode).toBe(0);
    live(files, 'v2');
    expect((await run(recordRb, fakeHost(files), { ...base, tag: 'v2', migrationsBackwardCompatible: secondCompatible }, ['gratonite.record'])).res.exitCode).toBe(0);
    return files;
  }

  it('each deploy keeps a snapshot whose hashes are recorded', async () => {
    const files = await twoDeploys(true);
    const s = parseDeploys(files.get('/var/lib/gratonite/deploys.json') ?? null);
    expect(s.deploys.map((d) => d.tag)).toEqual(['v1', 'v2']);
    expect(files.get('/var/lib/gratonite/snapshots/1/api.env')).toBe('api v1');
    expect(s.deploys[0]?.files['api.env']).toBe(h('api v1'));
  });

  it('restores the previous env files and tags, recreates api and web only, and records it as current', async () => {
    const files = await twoDeploys(true);
    const exec = fakeHost(files);
    const { res } = await run(rollbackRb, exec, base, ['gratonite.rollback']);
    expect(res.exitCode).toBe(0);
    expect(files.get('/opt/gratonite/api.env')).toBe('api v1');
    expect(files.get('/opt/gratonite/compose.env')).toBe('tags v1');
    const composeUps = exec.calls.filter((c) => c.argv[1] === 'compose').map((c) => c.argv.slice(c.argv.indexOf('-f') + 2).join(' '));
    expect(composeUps).toEqual(['up -d --no-deps --force-recreate api web']);
    expect(parseDeploys(files.get('/var/lib/gratonite/deploys.json') ?? null).current).toBe(1);
  });

  it('refuses to cross migrations not marked backward compatible and changes nothing', async () => {
    const files = await twoDeploys(false);
    const before = new Map(files);
    const exec = fakeHost(files);
    const { res, end } = await run(rollbackRb, exec, base, ['gratonite.rollback']);
    expect(res.exitCode).toBe(4);
    expect(end?.error?.message).toMatch(/crosses the migrations of v2/);
    expect(exec.calls.filter((c) => c.write)).toEqual([]);
    expect(files).toEqual(before);
  });

  it('refuses a snapshot whose file no longer matches its recorded hash', async () => {
    const files = await twoDeploys(true);
    files.set('/var/lib/gratonite/snapshots/1/api.env', 'tampered');
    const { res, end } = await run(rollbackRb, fakeHost(files), base, ['gratonite.rollback']);
    expect(res.exitCode).toBe(4);
    expect(end?.error?.message).toMatch(/snapshot of deploy #1 does not match its recorded hashes \(api\.env\)/);
    expect(files.get('/opt/gratonite/api.env')).toBe('api v2');
  });
});

it('RunbookError is what the refusals throw', () => {
  expect(runbookErrorOf(() => planRollback({ deploys: [] }, 'previous', false))).toBeInstanceOf(RunbookError);
});
