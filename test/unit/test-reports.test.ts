// What scripts/test.sh makes of the reports: the VM lanes, the duration table and the closing
// "N passed, N failed" line (and its exit code), from the functions and from the scripts themselves.
import { execa } from 'execa';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addTap, addVitest, durationTable, splitLanes, summaryLine, type Tally, type VitestReport } from '../../scripts/lib/test-reports.ts';
import { withProgress } from '../../scripts/lib/progress.ts';

const ROOT = join(import.meta.dirname, '../..');
const tally = (): Tally => ({ passed: 0, failed: 0, skipped: 0 });

describe('VM lanes', () => {
  const weights: Record<string, number> = { a: 1000, b: 900, c: 300, d: 200, e: 100, f: 50 };
  const w = (f: string) => weights[f] ?? 300;

  it('puts the longest files first, each onto the least loaded lane, and lists each lane sorted', () => {
    // a -> 1 (1000), b -> 2 (900), c -> 2 (1200), d -> 1 (1200), e -> 1 (a tie: the first lane, 1300), f -> 2 (1250)
    expect(splitLanes(['f', 'e', 'd', 'c', 'b', 'a'], 2, w)).toEqual(['a d e', 'b c f']);
    expect(splitLanes(['a', 'b', 'c'], 3, w)).toEqual(['a', 'b', 'c']);
  });

  it('makes no more lanes than files, and at least one', () => {
    expect(splitLanes(['a', 'b'], 4, w)).toEqual(['a', 'b']);
    expect(splitLanes(['a', 'b'], 0, w)).toEqual(['a b']);
    expect(splitLanes([], 2, w)).toEqual([]);
  });

  it('weighs a file it never timed as the caller says (300 s by default in the script)', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'lanes-'));
    const r = await execa('node', ['--import', 'tsx', 'scripts/vm-lanes.ts', 'test/vm/vm.test.ts', 'test/x/new.test.ts', 'test/integration/eventfold-db.test.ts'], { cwd: ROOT, env: { RUNBOOK_CACHE_DIR: cache, RUNBOOK_VM_JOBS: '2' } });
    expect(r.stdout.split('\n')).toEqual(['test/integration/eventfold-db.test.ts', 'test/vm/vm.test.ts test/x/new.test.ts']);
  }, 30_000);
});

describe('the closing line', () => {
  it('adds vitest reports and TAP, counts a file that failed to load as one failure, and skips apart', () => {
    const t = tally();
    addVitest(t, { numPassedTests: 5, numFailedTests: 1, numPendingTests: 1, numTodoTests: 1, testResults: [
      { name: '/x/a.test.ts', status: 'failed', startTime: 0, endTime: 1, assertionResults: [{ status: 'failed' }] },
      { name: '/x/b.test.ts', status: 'failed', startTime: 0, endTime: 1, assertionResults: [] },
    ] });
    addTap(t, 'TAP version 13\n1..4\nok 1 one\nok 2 two # skip no sshd\nnot ok 3 three\nok 4 four\n');
    expect(t).toEqual({ passed: 7, failed: 3, skipped: 3 });
    expect(summaryLine(t)).toEqual({ line: '7 passed, 3 failed, 3 skipped', code: 1 });
  });

  it('exits 0 only when something passed and nothing failed', () => {
    expect(summaryLine({ passed: 4, failed: 0, skipped: 0 })).toEqual({ line: '4 passed, 0 failed', code: 0 });
    expect(summaryLine({ passed: 0, failed: 0, skipped: 2 })).toEqual({ line: '0 passed, 0 failed, 2 skipped', code: 1 });
  });

  it('scripts/summarize-tests.ts prints it from a folder of reports, with the exit code', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'results-'));
    writeFileSync(join(dir, 'unit.json'), JSON.stringify({ numPassedTests: 3, numFailedTests: 0 }));
    writeFileSync(join(dir, 'bats.tap'), 'ok 1 a\nok 2 b\n');
    const ok = await execa('node', ['--import', 'tsx', 'scripts/summarize-tests.ts', dir], { cwd: ROOT, reject: false });
    expect([ok.stdout, ok.exitCode]).toEqual(['5 passed, 0 failed', 0]);
    writeFileSync(join(dir, 'bats.tap'), 'ok 1 a\nnot ok 2 b\n');
    const bad = await execa('node', ['--import', 'tsx', 'scripts/summarize-tests.ts', dir], { cwd: ROOT, reject: false });
    expect([bad.stdout, bad.exitCode]).toEqual(['4 passed, 1 failed', 1]);
  }, 30_000);
});

describe('the duration table', () => {
  it('lists files slowest first, marks what did not pass, and ends with the total', () => {
    const r: VitestReport = { startTime: Date.UTC(2026, 0, 2, 3, 4, 5), testResults: [
      { name: '/repo/test/vm/a.test.ts', status: 'passed', startTime: 0, endTime: 12_340 },
      { name: '/repo/test/vm/b.test.ts', status: 'failed', startTime: 1000, endTime: 100_000 },
    ] };
    expect(durationTable(r, 'lane 1', '/repo')).toEqual([
      'lane 1 (2026-01-02T03:04:05.000Z):',
      '     99.0 s  test/vm/b.test.ts  (failed)',
      '     12.3 s  test/vm/a.test.ts',
      '    111.3 s  total',
    ]);
  });
});

describe('progress of long work away from a terminal', () => {
  it('prints a line while the work runs and none after it ends', async () => {
    const lines: string[] = [];
    const v = await withProgress('fetch: apt-get update', () => new Promise((r) => setTimeout(() => r(7), 130)), { everyMs: 50, write: (l) => lines.push(l) });
    const n = lines.length;
    await new Promise((r) => setTimeout(r, 120));
    expect(v).toBe(7);
    expect(n).toBeGreaterThanOrEqual(1);
    expect(lines[0]).toMatch(/^fetch: apt-get update: still running after \d+ s\n$/);
    expect(lines.length).toBe(n);
  });
});
