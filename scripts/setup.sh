#!/usr/bin/env bash
# Everything a fresh machine needs before the runbooks or the tests run: npm packages, the
# Debian packages of scripts/host-packages.txt (tools and libraries only: nothing that starts a
# service or runs at boot), Docker Compose v2 and cloud-init's schema check unpacked into the
# cache (scripts/fetch-compose.ts, scripts/fetch-cloud-init.ts), and the bundled CLI. Says what
# it installs before it does; asks only at a terminal, never under CI. Idempotent and quiet when
# nothing is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Compares the lock file with what is installed (npm's own record), not file times: a fresh
# checkout is newer than node_modules, and `npm ci` would wipe a node_modules other checkouts share.
installed() {
  node -e '
    const fs = require("fs");
    const want = JSON.parse(fs.readFileSync("package-lock.json", "utf8")).packages;
    const have = JSON.parse(fs.readFileSync("node_modules/.package-lock.json", "utf8")).packages;
    const off = Object.keys(want).filter((k) => k && !want[k].optional && have[k]?.version !== want[k].version);
    process.exit(off.length ? 1 : 0);
  ' 2>/dev/null
}
if ! installed; then
  echo "setup: installing npm packages" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

mapfile -t want < <(grep -Ev '^\s*(#|$)' scripts/host-packages.txt)
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]}; run: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  # Said before it is done; asked only of someone at a terminal, never under CI.
  echo "setup: will install these Debian packages (tools and libraries, no services): ${missing[*]}" >&2
  if [ -t 0 ] && [ -t 2 ] && [ -z "${CI:-}" ]; then
    read -r -p "setup: install them now? [Y/n] " answer
    case "$answer" in [nN]*) echo "setup: not installed; run: apt-get install --no-install-recommends ${missing[*]}" >&2; exit 1 ;; esac
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

node --import tsx scripts/fetch-compose.ts >/dev/null
node --import tsx scripts/fetch-cloud-init.ts >/dev/null
node --import tsx scripts/fetch-test-servers.ts >/dev/null

node --import tsx scripts/build.ts >/dev/null
exit 0
