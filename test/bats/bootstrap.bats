#!/usr/bin/env bats
# cloud-init/runbook-bootstrap.sh, first boot's script, with its paths moved into a scratch folder
# and PATH stubs for `oci` (answers like the CLI: a 404 ServiceError, then the object) and `node`
# (records how the runbooks would be run). Runs as root, as cloud-init runs it.
bats_require_minimum_version 1.5.0

setup() {
  load helpers/common
  [ "$(id -u)" -eq 0 ] || skip "the bootstrap refuses to run as a non-root user"
  T="${BATS_TEST_TMPDIR}"
  mkdir -p "$T/stubs" "$T/etc" "$T/src/bin"
  printf '// bundle entry\n' > "$T/src/bin/runbook.mjs"
  tar -czf "$T/bundle.tar.gz" -C "$T/src" bin
  sha=$(sha256sum "$T/bundle.tar.gz" | cut -d' ' -f1)
  write_conf "$sha" 30
  cat > "$T/stubs/oci" <<STUB
#!/bin/sh
echo "\$*" >> "$T/oci.log"
n=\$(wc -l < "$T/oci.log")
if [ "\$n" -le "\${OCI_FAILS:-0}" ]; then
  echo 'ServiceError: {"status": 404, "code": "BucketNotFound", "message": "Either the bucket does not exist or you are not authorized"}' >&2
  exit 1
fi
while [ \$# -gt 0 ]; do [ "\$1" = --file ] && cp "$T/bundle.tar.gz" "\$2"; shift; done
STUB
  cat > "$T/stubs/node" <<STUB
#!/bin/sh
echo "\$*" >> "$T/node.log"
case "\$*" in *" run \${NODE_FAIL:-none} "*) exit 1 ;; esac
STUB
  chmod +x "$T/stubs/oci" "$T/stubs/node"
}

write_conf() {
  cat > "$T/etc/bootstrap.env" <<CONF
RUNBOOK_BUNDLE_BUCKET=artifacts
RUNBOOK_BUNDLE_OBJECT=runbook/bundle.tar.gz
RUNBOOK_BUNDLE_SHA256=$1
BOOTSTRAP_DEADLINE_SECONDS=$2
BOOTSTRAP_RETRY_DELAY_SECONDS=1
OCI_CLI_AUTH=instance_principal
RUNBOOKS='base-host eventfold-db'
CONF
}

bootstrap() {
  RUNBOOK_BOOTSTRAP_CONF="$T/etc/bootstrap.env" RUNBOOK_BOOTSTRAP_ROOT="$T/opt" RUNBOOK_BOOTSTRAP_LOGDIR="$T/log" \
    RUNBOOK_BOOTSTRAP_BINDIR="$T" PATH="$T/stubs:$PATH" bash "${ROOT}/cloud-init/runbook-bootstrap.sh"
}

@test "retries a failing fetch, checks the SHA-256, then runs each runbook here with --yes" {
  OCI_FAILS=2 run --separate-stderr bootstrap
  assert_success
  [ "$(wc -l < "$T/oci.log")" -eq 3 ]
  grep -q -- '--auth instance_principal --bucket-name artifacts --name runbook/bundle.tar.gz' "$T/oci.log"
  [[ "$stderr" == *'BucketNotFound'*'retrying in 1s'* ]]
  [ "$(readlink "$T/opt/current")" = "$T/opt/bundles/$sha" ]
  [ -f "$T/opt/current/bin/runbook.mjs" ]
  [ "$(readlink "$T/runbook")" = "$T/opt/current/bin/runbook.mjs" ]
  run cat "$T/node.log"
  assert_line --index 0 "$T/opt/current/bin/runbook.mjs run base-host --target local --env $T/etc/base-host.env --yes --json"
  assert_line --index 1 "$T/opt/current/bin/runbook.mjs run eventfold-db --target local --env $T/etc/eventfold-db.env --yes --json"
  # Again: the verified bundle is kept, so only the runbooks run (and converge).
  run --separate-stderr bootstrap
  assert_success
  [ "$(wc -l < "$T/oci.log")" -eq 3 ]
  [ "$(wc -l < "$T/node.log")" -eq 4 ]
}

@test "refuses a bundle whose SHA-256 differs, and unpacks and runs nothing" {
  write_conf "$(printf 'a%.0s' $(seq 64))" 30
  run --separate-stderr bootstrap
  assert_failure 1
  [[ "$stderr" == *"the bundle's SHA-256 is $sha, not aaaa"*'refusing it'* ]]
  [[ "$stderr" == *'next: upload the bundle that matches RUNBOOK_BUNDLE_SHA256'* ]]
  [ ! -e "$T/opt/current" ]
  [ -z "$(ls -A "$T/opt/bundles" 2>/dev/null)" ]
  [ ! -e "$T/node.log" ]
}

@test "gives up at its deadline with the IAM hint, the wait bounded" {
  write_conf "$sha" 2
  SECONDS=0
  OCI_FAILS=1000 run --separate-stderr bootstrap
  assert_failure 1
  [ "$SECONDS" -lt 20 ]
  [[ "$stderr" == *'cannot fetch artifacts/runbook/bundle.tar.gz (auth instance_principal)'* ]]
  [[ "$stderr" == *'next: check the dynamic group and policy for this instance'* ]]
  [ ! -e "$T/node.log" ]
}

@test "a failing runbook stops the bootstrap and names the next command" {
  NODE_FAIL=base-host run --separate-stderr bootstrap
  assert_failure 1
  [[ "$stderr" == *'runbook base-host failed'* ]]
  [[ "$stderr" == *"next: fix the cause, then run: sudo runbook run base-host --target local --env $T/etc/base-host.env --yes"* ]]
  [ "$(wc -l < "$T/node.log")" -eq 1 ]
}
