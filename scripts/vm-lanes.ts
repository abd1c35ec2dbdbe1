// Splits the VM test files into lanes that run side by side (RUNBOOK_VM_JOBS, default 2), longest
// first onto the least loaded lane, by each file's duration in the last run on this machine
// (${RUNBOOK_CACHE_DIR:-~/.cache/oci-arm-runbooks}/vm-durations.json; a file never timed counts
// as its figure below, last measured here, or 300 s). Prints one line per lane: the files.
//   node --import tsx scripts/vm-lanes.ts FILE...                   lanes
//   node --import tsx scripts/vm-lanes.ts --record REPORT.json...   remembers the durations of these reports
import { fs, os, path } from 'zx';
import { durationsOf, splitLanes, type VitestReport } from './lib/test-reports.ts';

const store = path.join(process.env.RUNBOOK_CACHE_DIR ?? path.join(os.homedir(), '.cache/oci-arm-runbooks'), 'vm-durations.json');
const measured: Record<string, number> = {
  'test/integration/eventfold-db.test.ts': 1050,
  'test/integration/central-db.test.ts': 5, // opt-in for now
  'test/integration/triviapay-instance.test.ts': 1211,
  'test/integration/base-host.test.ts': 285,
  'test/vm/containers.test.ts': 900, // with the docker-host snapshot's build
  'test/vm/vm.test.ts': 165,
  'test/vm/snapshot.test.ts': 80,
  'test/integration/volume-guard.test.ts': 60,
};
const known: Record<string, number> = { ...measured, ...(fs.existsSync(store) ? (fs.readJsonSync(store) as Record<string, number>) : {}) };
const args = process.argv.slice(2);

if (args[0] === '--record') {
  for (const report of args.slice(1).filter((f) => fs.existsSync(f))) Object.assign(known, durationsOf(fs.readJsonSync(report) as VitestReport, process.cwd()));
  fs.mkdirpSync(path.dirname(store));
  fs.writeFileSync(store, `${JSON.stringify(known, null, 2)}\n`);
} else {
  const jobs = Math.max(1, Number(process.env.RUNBOOK_VM_JOBS ?? 2) || 1);
  for (const line of splitLanes(args, jobs, (f) => known[f] ?? 300)) console.log(line);
}
