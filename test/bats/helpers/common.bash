# Shared set-up for the CLI contract tests: the CLI runs through tsx, as in development.
ROOT="$(cd "$(dirname "${BATS_TEST_FILENAME}")/../.." && pwd)"
load "${ROOT}/node_modules/bats-support/load.bash"
load "${ROOT}/node_modules/bats-assert/load.bash"

runbook() {
  node --import tsx "${ROOT}/lib/cli/main.ts" "$@"
}

# PATH stubs that record each call (one line per call: name and argv) and answer like a host
# that has none of the runbooks' state yet. Nothing they are asked to do is done.
make_stubs() {
  STUBS="${BATS_TEST_TMPDIR}/stubs"
  CALLS="${BATS_TEST_TMPDIR}/calls.log"
  mkdir -p "${STUBS}"
  : > "${CALLS}"
  for name in nft systemctl useradd usermod apt-get swapon swapoff mkswap fallocate visudo sshd systemd-run ss mkdir tee rm install mv; do
    cat > "${STUBS}/${name}" <<STUB
#!/bin/sh
printf '%s\n' "${name} \$*" >> "${CALLS}"
case "${name} \$1" in
  "nft list"|"systemctl is-enabled") exit 1 ;;
esac
cat > /dev/null
exit 0
STUB
    chmod +x "${STUBS}/${name}"
  done
  export STUBS CALLS
}

write_env() {
  cat > "${BATS_TEST_TMPDIR}/base-host.env" <<'ENV'
ADMIN_USER=opsadmin
ADMIN_SSH_KEYS="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBatsBatsBatsBatsBatsBatsBatsBatsBatsBatsBats bats@test"
OPERATOR_CIDRS=198.51.100.0/24
SWAP_SIZE_MB=64
ENV
  echo "${BATS_TEST_TMPDIR}/base-host.env"
}
