// Splits the VM test files into lanes that run side by side (RUNBOOK_VM_JOBS, default 2), longest
// first onto the least loaded lane, by each file's duration in the last run on this machine
// (${RUNBOOK_CACHE_DIR:-~/.cache/oci-arm-runbooks}/vm-durations.json; a file never timed counts
// as its figure below, last measured here, or 300 s). Prints one line per lane: the files.
//   node scripts/vm-lanes.mjs FILE...           lanes
//   node scripts/vm-lanes.mjs --record REPORT.json...   remembers the durations of these reports
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';

const store = join(process.env.RUNBOOK_CACHE_DIR ?? join(homedir(), '.cache/oci-arm-runbooks'), 'vm-durations.json');
const measured = {
  'test/integration/eventfold-db.test.ts': 1050,
  'test/integration/central-db.test.ts': 5, // opt-in for now
  'test/integration/triviapay-instance.test.ts': 5, // opt-in for now
  'test/integration/base-host.test.ts': 285,
  'test/vm/containers.test.ts': 900, // with the docker-host snapshot's build
  'test/vm/vm.test.ts': 165,
  'test/vm/snapshot.test.ts': 80,
  'test/integration/volume-guard.test.ts': 60,
};
const known = { ...measured, ...(existsSync(store) ? JSON.parse(readFileSync(store, 'utf8')) : {}) };
const args = process.argv.slice(2);

if (args[0] === '--record') {
  for (const report of args.slice(1).filter(existsSync)) {
    const r = JSON.parse(readFileSync(report, 'utf8'));
    for (const t of r.testResults ?? []) known[relative(process.cwd(), t.name)] = Math.round((t.endTime - t.startTime) / 1000);
  }
  mkdirSync(dirname(store), { recursive: true });
  writeFileSync(store, `${JSON.stringify(known, null, 2)}\n`);
} else {
  const jobs = Math.max(1, Number(process.env.RUNBOOK_VM_JOBS ?? 2) || 1);
  const lanes = Array.from({ length: Math.min(jobs, args.length) }, () => ({ files: [], load: 0 }));
  const weight = (f) => known[f] ?? 300;
  for (const f of [...args].sort((a, b) => weight(b) - weight(a))) {
    const lane = lanes.reduce((m, l) => (l.load < m.load ? l : m));
    lane.files.push(f);
    lane.load += weight(f);
  }
  for (const l of lanes) console.log(l.files.sort().join(' '));
}
