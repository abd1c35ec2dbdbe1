#!/usr/bin/env bash
# shellcheck disable=SC2016 # mmdebstrap hooks get the root directory as $1: single quotes are meant
# Builds (or reuses) the Debian 12 arm64 disk image the runbooks are tested on, from Debian
# packages only: mmdebstrap with qemu-user-static makes the root filesystem, mkfs.ext4 -d turns
# it into a disk without loop mounts or root partitions. The cache entry is keyed by a hash of
# this script, packages.txt and image/; it is written beside its final place and renamed when
# complete, and SHA256SUMS (written last) is verified before every use, so a partial or corrupt
# entry is rebuilt, never booted. Prints the entry's directory as the last line of stdout.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${RUNBOOK_CACHE_DIR:-$HOME/.cache/oci-arm-runbooks}/images"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
security="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
size="${RUNBOOK_IMAGE_SIZE:-3G}"
start=$SECONDS
say() { printf '[image %3ds] %s\n' "$((SECONDS - start))" "$*" >&2; }

key="$( { cat "$0" "$here/packages.txt"; find "$here/image" -type f -print0 | sort -z | xargs -0 cat; } | sha256sum | cut -c1-16)"
dir="$cache/$key"

verify() {
  [ -s "$1/SHA256SUMS" ] && (cd "$1" && sha256sum --quiet --strict -c SHA256SUMS) >/dev/null 2>&1
}

if [ -d "$dir" ]; then
  if verify "$dir"; then
    say "cached image $key is intact"
    echo "$dir"
    exit 0
  fi
  say "cached image $key is incomplete or corrupt: rebuilding"
  rm -rf "$dir"
fi

mkdir -p "$cache"
work="$(mktemp -d "$cache/.build-$key.XXXXXX")"
# An interrupted root-mode build can leave /proc or /sys mounted inside the tree: unmount those
# before removing it, and never cross into another filesystem while removing.
cleanup() {
  awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do umount -l "$m" || true; done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

# Foreign binaries run through qemu-user-static; binfmt_misc may need mounting in a fresh VM.
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || { echo "qemu-aarch64 binfmt is not registered: apt-get install qemu-user-static binfmt-support" >&2; exit 1; }

pkgs="$(grep -Ev '^\s*(#|$)' "$here/packages.txt" | paste -sd, -)"
say "mmdebstrap bookworm arm64 ($(tr ',' '\n' <<<"$pkgs" | wc -l) packages)"
# The initramfs only needs the virtio drivers and ext4: building it with every module takes
# minutes per regeneration under emulation, and dpkg triggers regenerate it several times.
mmdebstrap --quiet --arch=arm64 --variant=apt --mode=root --include="$pkgs" \
  --essential-hook='mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/usr/share/initramfs-tools/modules.d"; echo MODULES=list > "$1/etc/initramfs-tools/conf.d/runbook-vm"; printf "%s\n" virtio_pci virtio_mmio virtio_blk virtio_net virtio_rng ext4 > "$1/usr/share/initramfs-tools/modules.d/runbook-vm"' \
  --customize-hook='echo "LABEL=rootfs / ext4 defaults,errors=remount-ro 0 1" > "$1/etc/fstab"' \
  --customize-hook="cp '$here/image/90-runbook-vm.cfg' \"\$1/etc/cloud/cloud.cfg.d/\"" \
  --customize-hook="cp '$here/image/20-wired.network' \"\$1/etc/systemd/network/\"" \
  --customize-hook='chroot "$1" systemctl enable systemd-networkd.service ssh.service >/dev/null 2>&1' \
  --customize-hook='chroot "$1" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer man-db.timer >/dev/null 2>&1' \
  --customize-hook='echo debian > "$1/etc/hostname"; : > "$1/etc/machine-id"; rm -f "$1"/etc/ssh/ssh_host_*' \
  --customize-hook='rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*' \
  bookworm "$work/root" \
  "deb $mirror bookworm main" "deb $mirror bookworm-updates main" "deb $security bookworm-security main"

say "copying kernel and initrd"
cp -L "$work/root/vmlinuz" "$work/vmlinuz"
cp -L "$work/root/initrd.img" "$work/initrd.img"

say "making the ext4 disk ($size)"
mkfs.ext4 -q -L rootfs -d "$work/root" "$work/disk.raw" "$size"
rm -rf "$work/root"
qemu-img convert -O qcow2 "$work/disk.raw" "$work/disk.qcow2"
rm -f "$work/disk.raw"
(cd "$work" && sha256sum disk.qcow2 vmlinuz initrd.img > SHA256SUMS.new && mv SHA256SUMS.new SHA256SUMS)

mv "$work" "$dir"
trap - EXIT
say "image $key ready: $(du -sh "$dir/disk.qcow2" | cut -f1)"
echo "$dir"
