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
  # Lanes side by side (RUNBOOK_VM_JOBS, default 2): much of a VM test is waiting on the emulated
  # guest, so two lanes finish well before one. Each lane runs its files one at a time.
  echo "== ARM64 VM tests (${RUNBOOK_VM_JOBS:-2} lanes)" >&2
  # shellcheck disable=SC2086 # one path per word
  mapfile -t lanes < <(node --import tsx scripts/vm-lanes.ts $vm_tests)
  for i in "${!lanes[@]}"; do
    n=$((i + 1))
    echo "   lane $n: ${lanes[$i]}" >&2
    # Progress as it comes, each line marked with its lane; the lane's exit code kept in a file.
    # shellcheck disable=SC2086 # one path per word
    { npx vitest run ${lanes[$i]} --no-file-parallelism --reporter=default --reporter=json --outputFile.json="$out/vm-$n.json" 2>&1; echo $? > "$out/vm-$n.rc"; } | sed -u "s/^/[vm $n] /" >&2 &
  done
  wait
  for i in "${!lanes[@]}"; do
    [ "$(cat "$out/vm-$((i + 1)).rc" 2>/dev/null)" = 0 ] || status=1
  done
  for i in "${!lanes[@]}"; do node --import tsx scripts/test-durations.ts "$out/vm-$((i + 1)).json" "VM test file durations, lane $((i + 1))" >&2; done
  node --import tsx scripts/vm-lanes.ts --record "$out"/vm-*.json
fi

node --import tsx scripts/summarize-tests.ts "$out" || status=1
exit "$status"
