#!/bin/bash
# triviapay-health [SECONDS]: 0 when http://127.0.0.1:$TRIVIAPAY_PORT/health answers 200 with
# {"status":"healthy"} (what the load balancer's check expects of GET /health), trying once a
# second for up to SECONDS (default: once). Otherwise 1, with the last answer on stderr.
set -euo pipefail
port=${TRIVIAPAY_PORT:?TRIVIAPAY_PORT is not set (see /etc/triviapay/container.env)}
end=$((SECONDS + ${1:-0}))
url="http://127.0.0.1:$port/health"
while :; do
  body=$(curl -fsS --max-time 3 -H 'Cache-Control: no-cache' "$url" 2>&1) || true
  if [[ $body =~ \"status\"[[:space:]]*:[[:space:]]*\"healthy\" ]]; then
    exit 0
  fi
  # Run as the unit's ExecStartPost, $MAINPID is the `docker run`: once it is gone, stop waiting.
  if [ -n "${MAINPID:-}" ] && ! kill -0 "$MAINPID" 2>/dev/null; then
    printf 'triviapay-health: the container exited before %s answered healthy\n' "$url" >&2
    exit 1
  fi
  if [ "$SECONDS" -ge "$end" ]; then
    printf 'triviapay-health: %s did not answer {"status":"healthy"}; last answer: %s\n' "$url" "${body:0:200}" >&2
    exit 1
  fi
  sleep 1
done
