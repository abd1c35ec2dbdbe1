#!/usr/bin/env bash
# Debian 12 packages the ARM64 VM tests need on the machine that runs them: mmdebstrap with
# qemu-user-static to build the arm64 image, qemu-system-arm to boot it, genisoimage for the
# NoCloud seed, openssh-client to reach it. Run as root on a fresh Debian 12 machine; installing
# what is already there changes nothing.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "setup-host: run as root" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
  qemu-system-arm \
  qemu-user-static \
  binfmt-support \
  mmdebstrap \
  arch-test \
  qemu-utils \
  genisoimage \
  e2fsprogs \
  util-linux \
  openssh-client \
  ca-certificates
# Foreign (arm64) binaries in the image build run through binfmt_misc.
update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
