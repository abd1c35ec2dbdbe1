#!/usr/bin/env bash
# The test command: set-up, unit tests, CLI contract tests (bats), then the ARM64 VM tests.
# Ends with one plain line "N passed, N failed". RUNBOOK_VM_TESTS=0 skips the VM tests.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
bash scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }

out=test/.tmp/results
rm -rf "$out" && mkdir -p "$out"
status=0

echo "== unit tests" >&2
npx vitest run test/unit --reporter=default --reporter=json --outputFile.json="$out/unit.json" || status=1

echo "== CLI contract tests (bats)" >&2
node_modules/bats/bin/bats --formatter tap test/bats > "$out/bats.tap" 2> "$out/bats.err" || status=1
grep -E '^(not )?ok ' "$out/bats.tap" | grep -v '^ok ' >&2 || true
grep -E '^not ok' -A 20 "$out/bats.tap" | head -60 >&2 || true

vm_tests=$(find test/vm test/integration -name '*.test.ts' 2>/dev/null | sort)
if [ "${RUNBOOK_VM_TESTS:-1}" != "0" ] && [ -n "$vm_tests" ]; then
  echo "== ARM64 VM tests" >&2
  # shellcheck disable=SC2086 # one path per word
  npx vitest run $vm_tests --no-file-parallelism --reporter=default --reporter=json --outputFile.json="$out/vm.json" || status=1
  node scripts/test-durations.mjs "$out/vm.json" "VM test file durations" >&2
fi

node scripts/summarize-tests.mjs "$out" || status=1
exit "$status"
