// Prints the project's speed figures; no pass/fail thresholds here, the numbers go in the notes.
// `npm run bench` runs scripts/setup.sh first (it installs the npm packages this needs), then this;
// `npm run bench -- --vm` adds the ARM64 VM figures. Each part runs as its own process, as before;
// the first that fails stops the bench with its exit code.
import { $, fs, glob, path, ProcessOutput } from 'zx';
import { withProgress } from './lib/progress.ts';

process.chdir(path.join(import.meta.dirname, '..'));
const vm = process.argv.includes('--vm');

/** Runs a part with its output on this terminal. */
const part = (script: string) => $({ stdio: 'inherit' })`node --import tsx ${script}`;
/** Bundles dist/ (output dropped unless it fails). */
const build = () => withProgress('bench: building dist/', () => $`node --import tsx scripts/build.ts`.quiet());

try {
  console.log('== CLI start-up');
  await part('scripts/bench/cli-startup.ts');
  console.log('== EventfoldDB backup and restore beside restic (512 MiB JSON log, 128 MiB incompressible; BENCH_LOG_MIB, BENCH_RANDOM_MIB, BENCH_RUNS to change)');
  await part('scripts/bench/eventfold-backup.ts');
  console.log('== TriviaPay rollout against the stand-ins (BENCH_POOL_SIZES to change)');
  await build();
  await part('scripts/bench/triviapay.ts');
  if (vm && fs.existsSync('scripts/bench/vm.ts')) {
    console.log('== ARM64 VM');
    await part('scripts/bench/vm.ts');
    console.log('== ARM64 VM snapshots');
    await part('scripts/bench/vm-snapshot.ts');
    const reports = (await glob('test/.tmp/results/vm-*.json')).sort();
    if (!reports.length) console.log('VM test file durations (the last npm test): no report at test/.tmp/results/vm-*.json');
    for (const r of reports) await $({ stdio: 'inherit' })`node --import tsx scripts/test-durations.ts ${r} ${`VM test file durations, ${path.basename(r, '.json')} (the last npm test)`}`;
    console.log('== Central database platform (BENCH_SCALE, BENCH_PGBENCH_SECONDS to change)');
    await build();
    await part('scripts/bench/central-db.ts');
    console.log('== Gratonite: bring-up, smoke, deploy, rollback');
    await part('scripts/bench/gratonite.ts');
    console.log('== FamilyCart: allowlist refresh, deploy, rollback, backup and restore against plain pg_dump/pg_restore (BENCH_ROWS)');
    await part('scripts/bench/familycart.ts');
    console.log('== Container images (BENCH_COLD=1 adds a build from nothing)');
    await part('scripts/bench/containers.ts');
  }
} catch (e) {
  if (!(e instanceof ProcessOutput)) throw e;
  if (e.stderr) process.stderr.write(e.stderr);
  process.exit(e.exitCode ?? 1);
}
