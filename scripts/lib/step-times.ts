// Sums the --json events of runbook runs by runbook and step, and the remote commands they ran
// (RUNBOOK_CMD_TRACE lines) by their first two words (see scripts/step-times.ts).
interface Ev {
  type: string;
  runbook?: string;
  id?: string;
  ms?: number;
  dryRun?: boolean;
}

type Sums = Map<string, { ms: number; n: number }>;

function add(m: Sums, k: string, ms: number): void {
  const e = m.get(k) ?? { ms: 0, n: 0 };
  e.ms += ms;
  e.n += 1;
  m.set(k, e);
}

const secs = (ms: number) => (ms / 1000).toFixed(1).padStart(8);

/** The `limit` largest sums, one line each: total s, count (padded to `width`), mean s, key. */
function rows(m: Sums, limit: number, width: number): string[] {
  return [...m.entries()]
    .sort((a, b) => b[1].ms - a[1].ms)
    .slice(0, limit)
    .map(([k, v]) => `${secs(v.ms)} s  ${String(v.n).padStart(width)}x  ${secs(v.ms / v.n)} s each  ${k}`);
}

/** The JSON lines of each text (anything else skipped). */
const jsonLines = <T>(texts: string[]) => texts.flatMap((t) => t.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as T));

/** Lines: the runs' totals per runbook, then the `top` slowest steps (total s, runs, mean s). */
export function stepTimes(runs: string[], top: number): string[] {
  const byRunbook: Sums = new Map();
  const bySteps: Sums = new Map();
  for (const text of runs) {
    let name = '?';
    for (const e of jsonLines<Ev>([text])) {
      if (e.type === 'run-start') name = `${e.runbook ?? '?'}${e.dryRun ? ' (dry run)' : ''}`;
      else if (e.type === 'run-end' && typeof e.ms === 'number') add(byRunbook, name, e.ms);
      else if (/^step-(changed|unchanged|planned|failed)$/.test(e.type) && typeof e.ms === 'number') add(bySteps, `${name} ${e.id ?? '?'} [${e.type.slice(5)}]`, e.ms);
    }
  }
  const total = [...byRunbook.values()].reduce((a, v) => a + v.ms, 0);
  return [`runbook runs: ${(total / 1000).toFixed(1)} s in all`, ...rows(byRunbook, Number.POSITIVE_INFINITY, 3), `slowest steps (top ${top}):`, ...rows(bySteps, top, 3)];
}

/** Lines: the remote commands' count and time in all, then the `top` costliest kinds of command. */
export function commandTimes(traces: string[], top: number): string[] {
  const by: Sums = new Map();
  const cmds = jsonLines<{ ms: number; cmd: string }>(traces);
  for (const c of cmds) add(by, c.cmd, c.ms);
  if (!cmds.length) return ['remote commands: none traced'];
  const ms = cmds.reduce((a, c) => a + c.ms, 0);
  return [`remote commands: ${cmds.length}, ${(ms / 1000).toFixed(1)} s in all, ${(ms / cmds.length / 1000).toFixed(2)} s each on average`, `costliest kinds (top ${top}):`, ...rows(by, top, 4)];
}
