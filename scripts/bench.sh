#!/usr/bin/env bash
# Prints the project's speed figures; no pass/fail thresholds here, the numbers go in the notes.
set -euo pipefail
cd "$(dirname "$0")/.." || exit 1
bash scripts/setup.sh
echo "== CLI start-up"
node scripts/bench/cli-startup.mjs
echo "== EventfoldDB backup and restore beside restic (512 MiB JSON log, 128 MiB incompressible; BENCH_LOG_MIB, BENCH_RANDOM_MIB, BENCH_RUNS to change)"
node --import tsx scripts/bench/eventfold-backup.ts
echo "== TriviaPay rollout against the stand-ins (BENCH_POOL_SIZES to change)"
node scripts/build.mjs >/dev/null
node --import tsx scripts/bench/triviapay.ts
if [ "${1:-}" = "--vm" ] && [ -f scripts/bench/vm.ts ]; then
  echo "== ARM64 VM"
  node --import tsx scripts/bench/vm.ts
  echo "== ARM64 VM snapshots"
  node --import tsx scripts/bench/vm-snapshot.ts
  for r in test/.tmp/results/vm-*.json; do node scripts/test-durations.mjs "$r" "VM test file durations, $(basename "$r" .json) (the last npm test)"; done
  echo "== Central database platform (BENCH_SCALE, BENCH_PGBENCH_SECONDS to change)"
  node scripts/build.mjs >/dev/null
  node --import tsx scripts/bench/central-db.ts
  echo "== Container images (BENCH_COLD=1 adds a build from nothing)"
  node --import tsx scripts/bench/containers.ts
fi
