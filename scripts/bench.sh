#!/usr/bin/env bash
# Prints the project's speed figures; no pass/fail thresholds here, the numbers go in the notes.
set -euo pipefail
cd "$(dirname "$0")/.." || exit 1
bash scripts/setup.sh
echo "== CLI start-up"
node scripts/bench/cli-startup.mjs
if [ "${1:-}" = "--vm" ] && [ -f scripts/bench/vm.ts ]; then
  echo "== ARM64 VM"
  node --import tsx scripts/bench/vm.ts
fi
