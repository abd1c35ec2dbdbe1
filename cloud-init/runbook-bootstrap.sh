#!/bin/bash
# First-boot bootstrap, run by cloud-init (runcmd) with no terminal. Fetches the runbook bundle
# named in /etc/runbook/bootstrap.env from Object Storage with the instance's own OCI identity,
# refuses it unless its SHA-256 matches, unpacks it under /opt/runbook, and runs each runbook of
# RUNBOOKS on this host with --yes. Every runbook converges, so running this again (as root)
# after fixing a failure resumes where it stopped. The events go to /var/log/runbook/bootstrap.jsonl.
#
# The paths below can be moved with RUNBOOK_BOOTSTRAP_{CONF,ROOT,LOGDIR,BINDIR} (the tests do).
set -euo pipefail
umask 022

conf=${RUNBOOK_BOOTSTRAP_CONF:-/etc/runbook/bootstrap.env}
root=${RUNBOOK_BOOTSTRAP_ROOT:-/opt/runbook}
logdir=${RUNBOOK_BOOTSTRAP_LOGDIR:-/var/log/runbook}
bindir=${RUNBOOK_BOOTSTRAP_BINDIR:-/usr/local/bin}
log() { printf 'runbook-bootstrap: %s\n' "$*" >&2; }
die() { log "$1"; log "next: $2"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root" "sudo $0"
[ -r "$conf" ] || die "$conf is missing" "render the user-data with: runbook user-data eventfold-db --env FILE"
# shellcheck source=/dev/null
. "$conf"
: "${RUNBOOK_BUNDLE_BUCKET:?}" "${RUNBOOK_BUNDLE_OBJECT:?}" "${RUNBOOK_BUNDLE_SHA256:?}" "${RUNBOOKS:?}"
auth=${OCI_CLI_AUTH:-instance_principal}
deadline=$((SECONDS + ${BOOTSTRAP_DEADLINE_SECONDS:-1200}))

if ! command -v node >/dev/null; then
  log "installing nodejs"
  timeout 900 apt-get update -q || true
  DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q --no-install-recommends nodejs \
    || die "nodejs could not be installed" "check the host's package mirror, then run: sudo $0"
fi
command -v oci >/dev/null || die "the OCI CLI (oci) is not installed" "install the OCI CLI on the image, then run: sudo $0"

bundle=$root/bundles/$RUNBOOK_BUNDLE_SHA256
if [ ! -e "$bundle/.verified" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # Instance-principal permissions can take minutes to work after launch (and show up as a
  # 404 meanwhile): retry every failure until the deadline, backing off up to a minute.
  delay=${BOOTSTRAP_RETRY_DELAY_SECONDS:-5}
  until timeout 300 oci os object get --auth "$auth" --bucket-name "$RUNBOOK_BUNDLE_BUCKET" \
      --name "$RUNBOOK_BUNDLE_OBJECT" --file "$tmp/bundle.tar.gz" >/dev/null 2>"$tmp/err"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 3 "$tmp/err" >&2 || true
      die "cannot fetch $RUNBOOK_BUNDLE_BUCKET/$RUNBOOK_BUNDLE_OBJECT (auth $auth)" \
        "check the dynamic group and policy for this instance, then run: sudo $0"
    fi
    log "fetching $RUNBOOK_BUNDLE_OBJECT failed ($(tail -n 1 "$tmp/err" | cut -c1-160)); retrying in ${delay}s"
    sleep "$delay"
    delay=$((delay * 2 > 60 ? 60 : delay * 2))
  done
  got=$(sha256sum "$tmp/bundle.tar.gz" | cut -d' ' -f1)
  [ "$got" = "$RUNBOOK_BUNDLE_SHA256" ] || die "the bundle's SHA-256 is $got, not $RUNBOOK_BUNDLE_SHA256; refusing it" \
    "upload the bundle that matches RUNBOOK_BUNDLE_SHA256, then run: sudo $0"
  rm -rf "$bundle.partial"
  mkdir -p "$bundle.partial"
  tar -xzf "$tmp/bundle.tar.gz" -C "$bundle.partial" --no-same-owner
  touch "$bundle.partial/.verified"
  rm -rf "$bundle"
  mv "$bundle.partial" "$bundle"
fi
ln -sfn "$bundle" "$root/current.new" && mv -T "$root/current.new" "$root/current"
ln -sfn "$root/current/bin/runbook.mjs" "$bindir/runbook"

install -d -m 0750 "$logdir"
envdir=$(dirname "$conf")
for rb in $RUNBOOKS; do
  [ "$SECONDS" -lt "$deadline" ] || die "out of time before $rb" "run: sudo $0"
  log "running $rb"
  if ! node "$root/current/bin/runbook.mjs" run "$rb" --target local --env "$envdir/$rb.env" --yes --json \
      >>"$logdir/bootstrap.jsonl"; then
    die "runbook $rb failed on $(hostname); its events are in $logdir/bootstrap.jsonl" \
      "fix the cause, then run: sudo runbook run $rb --target local --env $envdir/$rb.env --yes, and sudo $0"
  fi
done
log "done: $RUNBOOKS"
