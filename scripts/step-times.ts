// Where a VM test's time goes: each runbook step's time, summed over the runs the integration
// tests kept (test/.tmp/runs/*.jsonl, one file per `runbook` run), slowest first; then the remote
// commands those runs sent (*.cmds, RUNBOOK_CMD_TRACE), by kind.
// Usage: npm run step-times [-- DIR] [--top N]
import { fs, glob, path } from 'zx';
import { commandTimes, stepTimes } from './lib/step-times.ts';

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args[topAt + 1]) : 25;
const dir = args.find((a, i) => !a.startsWith('--') && (topAt < 0 || i !== topAt + 1)) ?? 'test/.tmp/runs';
const read = async (pattern: string) => Promise.all((await glob(pattern, { cwd: dir })).sort().map((f) => fs.readFile(path.join(dir, f), 'utf8')));
const runs = await read('*.jsonl');
if (!runs.length) {
  console.log(`no runs kept under ${dir} (the integration tests write them there)`);
} else {
  for (const line of [...stepTimes(runs, top), ...commandTimes(await read('*.cmds'), top)]) console.log(line);
}
