// What scripts/test.sh makes of the test reports: the VM test lanes, each file's duration, and
// the closing line "N passed, N failed". Pure functions over report data; the scripts read files.
import { path } from 'zx';

/** A vitest JSON report, the fields used here. */
export interface VitestReport {
  startTime?: number;
  numPassedTests?: number;
  numFailedTests?: number;
  numPendingTests?: number;
  numTodoTests?: number;
  testResults?: { name: string; status: string; startTime: number; endTime: number; assertionResults?: { status: string }[] }[];
}

/**
 * Splits FILES into at most JOBS lanes, longest first onto the least loaded lane, by WEIGHT
 * (seconds). Returns one line per lane: its files, sorted, separated by spaces.
 */
export function splitLanes(files: string[], jobs: number, weight: (f: string) => number): string[] {
  const lanes = Array.from({ length: Math.min(Math.max(1, jobs), files.length) }, () => ({ files: [] as string[], load: 0 }));
  for (const f of [...files].sort((a, b) => weight(b) - weight(a))) {
    const lane = lanes.reduce((m, l) => (l.load < m.load ? l : m));
    lane.files.push(f);
    lane.load += weight(f);
  }
  return lanes.map((l) => l.files.sort().join(' '));
}

/** Each test file's duration in whole seconds, by its path relative to CWD. */
export function durationsOf(report: VitestReport, cwd: string): Record<string, number> {
  return Object.fromEntries((report.testResults ?? []).map((t) => [path.relative(cwd, t.name), Math.round((t.endTime - t.startTime) / 1000)]));
}

export interface Tally {
  passed: number;
  failed: number;
  skipped: number;
}

/** Adds a vitest JSON report to the tally; a file that failed to load (no results of its own) counts as one failure. */
export function addVitest(t: Tally, r: VitestReport): void {
  t.passed += r.numPassedTests ?? 0;
  t.failed += r.numFailedTests ?? 0;
  t.failed += (r.testResults ?? []).filter((x) => x.status === 'failed' && !(x.assertionResults ?? []).some((a) => a.status === 'failed')).length;
  t.skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
}

/** Adds bats TAP output to the tally. */
export function addTap(t: Tally, tap: string): void {
  for (const line of tap.split('\n')) {
    if (/^ok .*# skip/i.test(line)) t.skipped++;
    else if (/^ok /.test(line)) t.passed++;
    else if (/^not ok /.test(line)) t.failed++;
  }
}

/** The closing line, and the exit code: 1 when anything failed or nothing passed. */
export function summaryLine(t: Tally): { line: string; code: number } {
  return { line: `${t.passed} passed, ${t.failed} failed${t.skipped ? `, ${t.skipped} skipped` : ''}`, code: t.failed > 0 || t.passed === 0 ? 1 : 0 };
}

/** Each file's duration, slowest first, then the total: the lines test-durations prints. */
export function durationTable(report: VitestReport, title: string, cwd: string): string[] {
  const rows = (report.testResults ?? []).map((t) => ({ name: path.relative(cwd, t.name), s: (t.endTime - t.startTime) / 1000, status: t.status }));
  rows.sort((a, b) => b.s - a.s);
  return [
    `${title} (${new Date(report.startTime ?? Date.now()).toISOString()}):`,
    ...rows.map((x) => `  ${x.s.toFixed(1).padStart(7)} s  ${x.name}${x.status === 'passed' ? '' : `  (${x.status})`}`),
    `  ${rows.reduce((a, x) => a + x.s, 0).toFixed(1).padStart(7)} s  total`,
  ];
}
