#!/usr/bin/env bats
# The CLI contract: help, usage errors, config errors, dry-run and prompts, driven through tsx.
bats_require_minimum_version 1.5.0

setup() {
  load helpers/common
}

@test "--help lists the commands and the exit codes" {
  run --separate-stderr runbook --help
  assert_success
  assert_output --partial 'runbook run RUNBOOK'
  assert_output --partial 'exit codes: 0 ok, 1 step failed, 2 usage, 3 config, 4 precondition refused'
}

@test "list names every runbook" {
  run --separate-stderr runbook list
  assert_success
  assert_output --partial 'base-host'
}

@test "an unknown runbook is a usage error (exit 2)" {
  run --separate-stderr runbook run no-such-runbook
  assert_failure 2
  [[ "$stderr" == *'unknown runbook "no-such-runbook"'* ]]
  [[ "$stderr" == *'runbook list'* ]]
}

@test "run without --target is a usage error showing the choices, and nothing runs (exit 2)" {
  make_stubs
  env_file="$(write_env)"
  PATH="${STUBS}:${PATH}" run --separate-stderr runbook run base-host --env "$env_file" --yes
  assert_failure 2
  [[ "$stderr" == *'run base-host needs --target'* ]]
  for choice in '--target vm ' '--target vm:NAME' '--target ssh://user@host[:port]' '--target local'; do
    [[ "$stderr" == *"$choice"* ]] || { echo "missing choice: $choice"; false; }
  done
  [[ "$stderr" == *'next: runbook run base-host --target vm'* ]]
  run cat "$CALLS"
  assert_output ''
}

@test "unlock without --target is a usage error too (exit 2)" {
  run --separate-stderr runbook unlock
  assert_failure 2
  [[ "$stderr" == *'unlock needs --target'* ]]
}

@test "a bad VM name is a usage error before anything boots (exit 2)" {
  env_file="$(write_env)"
  RUNBOOK_CACHE_DIR="${BATS_TEST_TMPDIR}/cache" run --separate-stderr runbook run base-host --env "$env_file" --target 'vm:No Such'
  assert_failure 2
  [[ "$stderr" == *'VM name "No Such" must be'* ]]
  [ ! -e "${BATS_TEST_TMPDIR}/cache/images" ]
}

@test "vm list says when there is none; vm stop of an unknown VM is a usage error (exit 2)" {
  RUNBOOK_CACHE_DIR="${BATS_TEST_TMPDIR}/cache" run --separate-stderr runbook vm list
  assert_success
  assert_output --partial 'no VMs'
  RUNBOOK_CACHE_DIR="${BATS_TEST_TMPDIR}/cache" run --separate-stderr runbook vm stop nope
  assert_failure 2
  [[ "$stderr" == *'no VM named "nope"'* ]]
  [[ "$stderr" == *'runbook vm list'* ]]
}

@test "an unknown option is a usage error (exit 2)" {
  run --separate-stderr runbook run base-host --frobnicate
  assert_failure 2
  [[ "$stderr" == *"frobnicate"* ]]
}

@test "show renders the runbook as Markdown with its steps" {
  run --separate-stderr runbook show base-host
  assert_success
  assert_output --partial '# Base host'
  assert_output --partial '(`base.nftables`)'
  assert_output --partial '**Destructive:**'
}

@test "show renders a runbook whose optional example names a file this machine lacks (TERRAFORM_OUTPUTS_FILE)" {
  run --separate-stderr runbook show triviapay.rollout
  assert_success
  assert_output --partial '`TERRAFORM_OUTPUTS_FILE` (optional)'
  assert_output --partial '(`triviapay.replace`)'
  assert_output --partial 'docker inspect'
}

@test "a malformed .env is a config error naming file, line and variable (exit 3)" {
  env_file="${BATS_TEST_TMPDIR}/bad.env"
  printf 'ADMIN_USER=admin\nOPERATOR_CIDRS=10.0.0.0/8 10.1.0.0/16\n' > "$env_file"
  run --separate-stderr runbook run base-host --target local --dry-run --env "$env_file"
  assert_failure 3
  [[ "$stderr" == *"bad.env:2: the value of OPERATOR_CIDRS has spaces and no quotes"* ]]
}

@test "a missing required variable is named (exit 3)" {
  env_file="${BATS_TEST_TMPDIR}/partial.env"
  printf 'OPERATOR_CIDRS=10.0.0.0/8\n' > "$env_file"
  run --separate-stderr runbook run base-host --target local --dry-run --env "$env_file"
  assert_failure 3
  [[ "$stderr" == *"ADMIN_SSH_KEYS is required"* ]]
}

@test "a missing .env file is a clear error (exit 3)" {
  run --separate-stderr runbook run base-host --target local --dry-run --env /nonexistent/base-host.env
  assert_failure 3
  [[ "$stderr" == *"cannot read /nonexistent/base-host.env: no such file"* ]]
}

@test "--dry-run prints the plan and runs no write (PATH-stubbed systemctl, nft and friends)" {
  make_stubs
  env_file="$(write_env)"
  PATH="${STUBS}:${PATH}" run --separate-stderr runbook run base-host --target local --dry-run --env "$env_file"
  assert_success
  assert_output --partial 'dry run: nothing will be changed'
  assert_output --partial 'would run useradd --create-home --shell /bin/bash --groups sudo,adm opsadmin'
  assert_output --partial '+++ /etc/nftables.d/10-base-host.nft'
  # the commands run after writing are in the plan, and said to restart what they restart
  assert_output --partial 'would run systemctl restart systemd-journald.service'
  assert_output --partial 'would run systemctl reload ssh.service'
  assert_output --partial 'systemd-journald.service is not running: this change starts it'
  # every recorded call is a read: nft only checks or lists, systemctl only asks
  run grep -Ev '^(nft (-c|list) |systemctl (is-enabled|is-active) |swapon --show)' "$CALLS"
  assert_output ''
  grep -q '^nft -c -f /dev/stdin' "$CALLS"
}

@test "without a terminal a destructive step is refused, not prompted (exit 4), and nothing is loaded" {
  make_stubs
  env_file="$(write_env)"
  PATH="${STUBS}:${PATH}" run --separate-stderr runbook run base-host --target local --from base.nftables --env "$env_file" < /dev/null
  assert_failure 4
  [[ "$stderr$output" == *"no one is at a terminal to confirm"* ]]
  [[ "$stderr$output" == *"--yes --from base.nftables"* ]]
  run grep -E '^(nft -f|systemctl (enable|reload|restart)|systemd-run|install|mv|useradd)' "$CALLS"
  assert_output ''
}

@test "an unreachable SSH target is reported with the host and the next command (exit 5)" {
  port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  env_file="$(write_env)"
  run --separate-stderr runbook run base-host --dry-run --env "$env_file" --target "ssh://admin@127.0.0.1:${port}"
  assert_failure 5
  [[ "$stderr$output" == *"admin@127.0.0.1:${port}"* ]]
  [[ "$stderr$output" == *"ssh -p ${port} admin@127.0.0.1 true"* ]]
}

@test "a target with shell metacharacters or a host starting with - is a usage error (exit 2), never a connection" {
  env_file="$(write_env)"
  for t in 'ssh://admin@-oProxyCommand=touch_/tmp/x' 'ssh://admin@host;reboot' 'ssh://admin@$(id)'; do
    run --separate-stderr runbook run base-host --dry-run --env "$env_file" --target "$t"
    assert_failure 2
    [[ "$stderr" == *"target \"$t\""* ]]
    [[ "$stderr" != *"cannot reach"* ]]
  done
}

@test "an invalid IPv6 CIDR, SSH open to everyone, or a line break in a value is a config error before anything runs (exit 3)" {
  make_stubs
  env_file="$(write_env)"
  sed -i 's|^OPERATOR_CIDRS=.*|OPERATOR_CIDRS="198.51.100.0/24 2001:db8:::1/64"|' "$env_file"
  PATH="${STUBS}:${PATH}" run --separate-stderr runbook run base-host --target local --dry-run --env "$env_file"
  assert_failure 3
  [[ "$stderr" == *'OPERATOR_CIDRS has "2001:db8:::1/64" has an invalid address'* ]]
  sed -i 's|^OPERATOR_CIDRS=.*|OPERATOR_CIDRS="0.0.0.0/1,128.0.0.0/1"|' "$env_file"
  PATH="${STUBS}:${PATH}" run --separate-stderr runbook run base-host --target local --dry-run --env "$env_file"
  assert_failure 3
  [[ "$stderr" == *'admits SSH from every IPv4 address'* ]]
  sed -i 's|^OPERATOR_CIDRS=.*|OPERATOR_CIDRS=198.51.100.0/24|; s|^ADMIN_USER=.*|ADMIN_USER="opsadmin\nALL ALL=(ALL) NOPASSWD:ALL"|' "$env_file"
  PATH="${STUBS}:${PATH}" run --separate-stderr runbook run base-host --target local --dry-run --env "$env_file"
  assert_failure 3
  [[ "$stderr" == *'ADMIN_USER holds a line break or another control character'* ]]
  [ ! -s "$CALLS" ]
}

@test "user-data renders the first-boot cloud-config with the same assets" {
  env_file="$(write_env)"
  run --separate-stderr runbook user-data base-host --env "$env_file"
  assert_success
  assert_line --index 0 '#cloud-config'
  assert_output --partial '- name: opsadmin'
  refute_output --partial '{{'
}

@test "eventfold-db user-data takes one env file and refuses a secret in it (exit 3)" {
  run --separate-stderr runbook user-data eventfold-db --env-example
  assert_success
  assert_output --partial 'RUNBOOK_BUNDLE_SHA256='
  assert_output --partial '# RELEASE_FILE='
  boot="${BATS_TEST_TMPDIR}/boot.env"
  printf '%s\n' "$output" | sed -e 's/^# RELEASE_\(BUCKET\|OBJECT\|VERSION\|SHA256\)=/RELEASE_\1=/' \
    -e 's/^# EVENTFOLD_JWT_SECRET=/EVENTFOLD_JWT_SECRET=/' > "$boot"
  chmod 600 "$boot"
  run --separate-stderr runbook user-data eventfold-db --env "$boot"
  assert_failure 3
  [[ "$stderr" == *'EVENTFOLD_JWT_SECRET cannot go into user-data'* ]]
  [[ "$stderr" != *'change-me-to-64'* ]]
  sed -i '/^EVENTFOLD_JWT_SECRET=/d' "$boot"
  run --separate-stderr runbook user-data eventfold-db --env "$boot"
  assert_success
  assert_line --index 0 '#cloud-config'
  assert_output --partial '/usr/local/sbin/runbook-bootstrap'
  refute_output --partial '{{'
}

@test "triviapay.rollout user-data names each blank value (exit 3), then renders the instance's first boot" {
  boot="${BATS_TEST_TMPDIR}/triviapay.env"
  printf 'BACKEND_PORT=8000\nOCIR_REPO_URL=iad.ocir.io/ns/triviapay-api\n' > "$boot"
  chmod 600 "$boot"
  run --separate-stderr runbook user-data triviapay.rollout --env "$boot"
  assert_failure 3
  [[ "$stderr" == *'the instance user-data needs APP_ENV_SECRET_ID, OCIR_USERNAME_SECRET_ID, OCIR_AUTH_TOKEN_SECRET_ID'* ]]
  printf 'APP_ENV_SECRET_ID=ocid1.vaultsecret.oc1.iad.a\nOCIR_USERNAME_SECRET_ID=ocid1.vaultsecret.oc1.iad.b\nOCIR_AUTH_TOKEN_SECRET_ID=ocid1.vaultsecret.oc1.iad.c\n' >> "$boot"
  run --separate-stderr runbook user-data triviapay.rollout --env "$boot"
  assert_success
  assert_line --index 0 '#cloud-config'
  assert_output --partial '- path: /etc/systemd/system/triviapay.service'
  assert_output --partial '- [/usr/local/sbin/triviapay-boot]'
  refute_output --partial '{{'
}

@test "user-data without --env says how to make one (exit 2)" {
  run --separate-stderr runbook user-data eventfold-db
  assert_failure 2
  [[ "$stderr" == *'runbook user-data eventfold-db --env-example'* ]]
}

@test "with --json a failed step is an event on stdout and a sentence on stderr (exit 1)" {
  make_stubs
  printf '#!/bin/sh\necho "dpkg-query: database is locked" >&2\nexit 2\n' > "${STUBS}/dpkg-query"
  chmod +x "${STUBS}/dpkg-query"
  env_file="$(write_env)"
  PATH="${STUBS}:${PATH}" run --separate-stderr runbook run base-host --target local --dry-run --json --env "$env_file"
  assert_failure 1
  assert_line --partial '"type":"step-failed"'
  assert_line --partial '"type":"run-end","ok":false'
  [[ "$stderr" == *'error [host local]: '*'dpkg-query'*'exited 2'* ]]
  [[ "$stderr" == *'next: '* ]]
}
