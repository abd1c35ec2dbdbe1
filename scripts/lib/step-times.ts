// Sums the --json events of runbook runs by runbook and step, and the remote commands they ran
// (RUNBOOK_CMD_TRACE lines) by their first two words (see scripts/step-times.ts).
interface Ev {
  type: string;
  runbook?: string;
  id?: string;
  ms?: number;
  dryRun?: boolean;
}

/** Lines: the runs' totals per runbook, then the `top` slowest steps (total s, runs, mean s). */
export function stepTimes(runs: string[], top: number): string[] {
  const byRunbook = new Map<string, { ms: number; n: number }>();
  const bySteps = new Map<string, { ms: number; n: number }>();
  const add = (m: Map<string, { ms: number; n: number }>, k: string, ms: number) => {
    const e = m.get(k) ?? { ms: 0, n: 0 };
    e.ms += ms;
    e.n += 1;
    m.set(k, e);
  };
  for (const text of runs) {
    let name = '?';
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      const e = JSON.parse(line) as Ev;
      if (e.type === 'run-start') name = `${e.runbook ?? '?'}${e.dryRun ? ' (dry run)' : ''}`;
      else if (e.type === 'run-end' && typeof e.ms === 'number') add(byRunbook, name, e.ms);
      else if (/^step-(changed|unchanged|planned|failed)$/.test(e.type) && typeof e.ms === 'number') add(bySteps, `${name} ${e.id ?? '?'} [${e.type.slice(5)}]`, e.ms);
    }
  }
  const s = (ms: number) => (ms / 1000).toFixed(1).padStart(8);
  const rows = (m: Map<string, { ms: number; n: number }>, limit: number) =>
    [...m.entries()]
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, limit)
      .map(([k, v]) => `${s(v.ms)} s  ${String(v.n).padStart(3)}x  ${s(v.ms / v.n)} s each  ${k}`);
  const total = [...byRunbook.values()].reduce((a, v) => a + v.ms, 0);
  return [`runbook runs: ${(total / 1000).toFixed(1)} s in all`, ...rows(byRunbook, Number.POSITIVE_INFINITY), `slowest steps (top ${top}):`, ...rows(bySteps, top)];
}

/** Lines: the remote commands' count and time in all, then the `top` costliest kinds of command. */
export function commandTimes(traces: string[], top: number): string[] {
  const by = new Map<string, { ms: number; n: number }>();
  let n = 0;
  let ms = 0;
  for (const text of traces) {
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      const c = JSON.parse(line) as { ms: number; cmd: string };
      const e = by.get(c.cmd) ?? { ms: 0, n: 0 };
      e.ms += c.ms;
      e.n += 1;
      by.set(c.cmd, e);
      n += 1;
      ms += c.ms;
    }
  }
  if (!n) return ['remote commands: none traced'];
  const s = (x: number) => (x / 1000).toFixed(1).padStart(8);
  return [
    `remote commands: ${n}, ${(ms / 1000).toFixed(1)} s in all, ${(ms / n / 1000).toFixed(2)} s each on average`,
    `costliest kinds (top ${top}):`,
    ...[...by.entries()]
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, top)
      .map(([k, v]) => `${s(v.ms)} s  ${String(v.n).padStart(4)}x  ${s(v.ms / v.n)} s each  ${k}`),
  ];
}
