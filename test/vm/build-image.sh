#!/usr/bin/env bash
# shellcheck disable=SC2016 # mmdebstrap hooks get the root directory as $1: single quotes are meant
# Builds (or reuses) the Debian 12 arm64 disk image the runbooks are tested on, from Debian
# packages only: mmdebstrap with qemu-user-static makes the root filesystem, mkfs.ext4 -d turns
# it into a disk without loop mounts or a partition table.
#
# Cache: ${RUNBOOK_CACHE_DIR:-~/.cache/oci-arm-runbooks}/images/<key>/ holding disk.qcow2,
# vmlinuz, initrd.img and SHA256SUMS, where <key> is the first 16 hex digits of a sha256 over
# this script, packages.txt and every file under image/. An entry is built in a temporary folder
# beside its final place and renamed when complete; SHA256SUMS is written last and fully
# verified before every use (about 3 s for the ~850 MB disk), so a partial or corrupt entry is
# deleted and rebuilt, never booted. Builds of one key are serialised with flock.
#
# Usage: build-image.sh [--key | --no-build]
#   (none)      print the entry's directory as the last line of stdout, building it if needed
#   --key       print the cache key only
#   --no-build  reuse an intact entry or exit 3 (a corrupt entry is still deleted)
# Env: RUNBOOK_CACHE_DIR, DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR (default: what this machine's
# apt sources use), RUNBOOK_IMAGE_SIZE (ext4 size, default 6G). Progress goes to stderr.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${RUNBOOK_CACHE_DIR:-$HOME/.cache/oci-arm-runbooks}/images"
size="${RUNBOOK_IMAGE_SIZE:-6G}"
mode="${1:-build}"
case "$mode" in build | --key | --no-build) ;; *) echo "usage: $0 [--key | --no-build]" >&2; exit 2 ;; esac
start=$SECONDS
say() { printf '[image %3ds] %s\n' "$((SECONDS - start))" "$*" >&2; }

key="$( { cat "$0" "$here/packages.txt"; find "$here/image" -type f -print0 | sort -z | xargs -0 -r cat; } | sha256sum | cut -c1-16)"
if [ "$mode" = --key ]; then echo "$key"; exit 0; fi
dir="$cache/$key"

# The first URI this machine's apt uses for a suite (bookworm, bookworm-security), from
# one-line .list files and deb822 .sources files, so the build goes through the same mirror.
apt_uri() {
  local suite="$1" f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    awk -v s="$suite" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ } if ($(i + 1) == s) { print $i; exit } }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    awk -v s="$suite" 'BEGIN { RS = ""; FS = "\n" }
      { t = 0; u = ""; m = 0; off = 0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^Types:/ && $i ~ /[ \t]deb([ \t]|$)/) t = 1
          if ($i ~ /^Enabled:[ \t]*no/) off = 1
          if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); u = a[2] }
          if ($i ~ /^Suites:/) { n = split($i, b, /[ \t]+/); for (j = 2; j <= n; j++) if (b[j] == s) m = 1 }
        }
        if (t && m && !off && u != "") { print u; exit } }' "$f"
  done
}
verify() {
  [ -s "$1/SHA256SUMS" ] && (cd "$1" && sha256sum --quiet --strict -c SHA256SUMS) >/dev/null 2>&1
}
# Removes a build folder; an interrupted root-mode build can leave /proc or /sys mounted inside
# it, so those are unmounted first and removal never crosses into another filesystem.
remove_tree() {
  awk -v w="$1/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do umount -l "$m" || true; done
  rm -rf --one-file-system "$1"
}

mkdir -p "$cache"
exec 9>"$cache/.$key.lock"
if ! flock -n 9; then
  say "another build of image $key is running: waiting for it"
  flock 9
fi

if [ -d "$dir" ]; then
  if verify "$dir"; then
    say "cached image $key is intact"
    echo "$dir"
    exit 0
  fi
  say "cached image $key is incomplete or corrupt: deleting it"
  rm -rf "$dir"
fi
if [ "$mode" = --no-build ]; then
  say "no intact image $key and --no-build given"
  exit 3
fi
# Leftovers of builds that were killed outright (the lock says none of them is running).
for old in "$cache/.build-$key".*; do [ -e "$old" ] && remove_tree "$old"; done

mirror="${DEBIAN_MIRROR:-$(apt_uri bookworm | head -n1)}"
mirror="${mirror:-http://deb.debian.org/debian}"
security="${DEBIAN_SECURITY_MIRROR:-$(apt_uri bookworm-security | head -n1)}"
security="${security:-http://deb.debian.org/debian-security}"
aptopts=()
proxy="$(apt-config dump --format '%v' Acquire::http::Proxy 2>/dev/null || true)"
[ -n "$proxy" ] && aptopts+=("--aptopt=Acquire::http::Proxy \"$proxy\";")

work="$(mktemp -d "$cache/.build-$key.XXXXXX")"
trap 'remove_tree "$work"' EXIT

# Foreign binaries run through qemu-user-static; binfmt_misc may need mounting on a fresh machine.
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || { echo "qemu-aarch64 binfmt is not registered: apt-get install qemu-user-static binfmt-support" >&2; exit 1; }

# mmdebstrap is silent for minutes under emulation: say what is going on at least every 20 s.
heartbeat() { while sleep 20; do say "still building: $1 ($(du -sm "$work" 2>/dev/null | cut -f1) MB so far)"; done; }
heartbeat "mmdebstrap (packages downloaded, unpacked and configured under qemu-user)" &
hb=$!
trap 'kill "$hb" 2>/dev/null; remove_tree "$work"' EXIT

pkgs="$(grep -Ev '^\s*(#|$)' "$here/packages.txt" | paste -sd, -)"
say "mmdebstrap bookworm arm64 from $mirror ($(tr ',' '\n' <<<"$pkgs" | wc -l) packages)"
# The initramfs only needs the virtio drivers and ext4: building it with every module takes
# minutes per regeneration under emulation, and dpkg triggers regenerate it several times.
mmdebstrap --quiet --arch=arm64 --variant=apt --mode=root --include="$pkgs" "${aptopts[@]}" \
  --essential-hook='mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/usr/share/initramfs-tools/modules.d"; echo MODULES=list > "$1/etc/initramfs-tools/conf.d/runbook-vm"; printf "%s\n" virtio_pci virtio_mmio virtio_blk virtio_net virtio_rng ext4 > "$1/usr/share/initramfs-tools/modules.d/runbook-vm"' \
  --customize-hook='echo "LABEL=rootfs / ext4 defaults,errors=remount-ro 0 1" > "$1/etc/fstab"' \
  --customize-hook="cp '$here/image/90-runbook-vm.cfg' \"\$1/etc/cloud/cloud.cfg.d/\"" \
  --customize-hook="cp '$here/image/20-wired.network' \"\$1/etc/systemd/network/\"" \
  --customize-hook='chroot "$1" systemctl enable systemd-networkd.service ssh.service >/dev/null 2>&1' \
  --customize-hook='chroot "$1" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer man-db.timer >/dev/null 2>&1' \
  --customize-hook='chroot "$1" systemctl disable docker.service docker.socket containerd.service docker-registry.service nginx.service caddy.service coturn.service >/dev/null 2>&1' \
  --customize-hook='echo debian > "$1/etc/hostname"; : > "$1/etc/machine-id"; rm -f "$1/var/lib/dbus/machine-id" "$1"/etc/ssh/ssh_host_*' \
  --customize-hook='echo LANG=C.UTF-8 > "$1/etc/default/locale"' \
  --customize-hook='rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*' \
  bookworm "$work/root" \
  "deb $mirror bookworm main" "deb $mirror bookworm-updates main" "deb $security bookworm-security main"

kill "$hb" 2>/dev/null || true
trap 'remove_tree "$work"' EXIT
say "copying kernel and initrd"
cp -L "$work/root/vmlinuz" "$work/vmlinuz"
cp -L "$work/root/initrd.img" "$work/initrd.img"

say "making the ext4 disk ($size)"
mkfs.ext4 -q -L rootfs -d "$work/root" "$work/disk.raw" "$size" >&2
rm -rf --one-file-system "$work/root"
qemu-img convert -O qcow2 "$work/disk.raw" "$work/disk.qcow2"
rm -f "$work/disk.raw"
(cd "$work" && sha256sum disk.qcow2 vmlinuz initrd.img > SHA256SUMS.new && mv SHA256SUMS.new SHA256SUMS)
chmod 755 "$work"

mv -T "$work" "$dir"
trap - EXIT
say "image $key ready: $(du -sh "$dir/disk.qcow2" | cut -f1)"
echo "$dir"
