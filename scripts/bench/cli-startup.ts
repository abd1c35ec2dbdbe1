// Start-up of the bundled CLI: median wall time of `runbook --help` and `runbook list` as a ratio
// to `node -e 0`, measured in the same run on the same machine. Target: at most 2.0.
import { spawnSync } from 'node:child_process';

const N = Number(process.env.BENCH_RUNS ?? 21);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
/** The median of N timed runs of `node ARGS`, after two warm-up runs; a failing run stops the bench. */
function time(args: string[]): number {
  const xs: number[] = [];
  for (let i = 0; i < N + 2; i++) {
    const t = process.hrtime.bigint();
    // spawnSync, not zx's `$`: the figure is the child's start-up, so nothing else may run meanwhile.
    const r = spawnSync(process.execPath, args, { stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}`);
    if (i >= 2) xs.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return median(xs);
}
const base = time(['-e', '0']);
const rows: [string, number][] = [
  ['node -e 0', base],
  ['runbook --help', time(['dist/cli/runbook.mjs', '--help'])],
  ['runbook list', time(['dist/cli/runbook.mjs', 'list'])],
];
for (const [name, ms] of rows) console.log(`${name.padEnd(16)} median ${ms.toFixed(1).padStart(6)} ms   ratio ${(ms / base).toFixed(2)}`);
