import { describe, expect, it } from 'vitest';
import { stepTimes } from '../../scripts/lib/step-times.ts';

const run = (runbook: string, steps: [string, string, number][], dryRun = false) =>
  [
    JSON.stringify({ type: 'run-start', runbook, host: 'h', total: steps.length, dryRun }),
    ...steps.flatMap(([id, kind, ms]) => [JSON.stringify({ type: 'step-start', id }), JSON.stringify({ type: `step-${kind}`, id, ms, reason: 'r' })]),
    JSON.stringify({ type: 'log', message: 'not a step' }),
    JSON.stringify({ type: 'run-end', ok: true, exitCode: 0, ms: steps.reduce((a, s) => a + s[2], 0) + 500 }),
    '',
  ].join('\n');

describe('step-times', () => {
  it('sums each runbook and each step over the runs, slowest first, dry runs apart', () => {
    const lines = stepTimes([run('a', [['a.slow', 'changed', 9000], ['a.quick', 'unchanged', 1000]]), run('a', [['a.slow', 'unchanged', 3000]]), run('a', [['a.slow', 'planned', 2000]], true)], 2);
    expect(lines[0]).toBe('runbook runs: 16.5 s in all');
    expect(lines[1]).toMatch(/^\s+14\.0 s\s+2x\s+7\.0 s each {2}a$/);
    expect(lines[2]).toMatch(/^\s+2\.5 s\s+1x\s+2\.5 s each {2}a \(dry run\)$/);
    expect(lines[3]).toBe('slowest steps (top 2):');
    expect(lines.slice(4)).toHaveLength(2);
    expect(lines[4]).toMatch(/9\.0 s\s+1x .* a a\.slow \[changed\]$/);
    expect(lines[5]).toMatch(/3\.0 s\s+1x .* a a\.slow \[unchanged\]$/);
  });
});

describe('command-times', () => {
  it('sums the traced commands by kind, costliest first', async () => {
    const { commandTimes } = await import('../../scripts/lib/step-times.ts');
    const t = (cmd: string, ms: number) => JSON.stringify({ host: 'h', ms, cmd });
    const lines = commandTimes([[t('docker compose', 4000), t('systemctl is-active', 1000), ''].join('\n'), [t('docker compose', 2000)].join('\n')], 5);
    expect(lines[0]).toBe('remote commands: 3, 7.0 s in all, 2.33 s each on average');
    expect(lines[2]).toMatch(/6\.0 s\s+2x\s+3\.0 s each {2}docker compose$/);
    expect(lines[3]).toMatch(/1\.0 s\s+1x\s+1\.0 s each {2}systemctl is-active$/);
    expect(commandTimes([''], 5)).toEqual(['remote commands: none traced']);
  });
});
