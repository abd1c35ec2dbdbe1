#!/usr/bin/env bash
# The README's main command: set up this machine, then run a runbook end to end on a local ARM64 VM.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node --import tsx scripts/demo.ts
