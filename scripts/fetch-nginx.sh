#!/usr/bin/env bash
# Makes Debian's nginx binary available to the nginx config test without installing the package
# (installing it would start a server on this machine): apt downloads nginx and nginx-common from
# the machine's own sources into ${RUNBOOK_CACHE_DIR:-~/.cache/oci-arm-runbooks}/tools/nginx/,
# dpkg-deb unpacks them there, and the last line of stdout is the binary's path.
set -euo pipefail

dest="${RUNBOOK_CACHE_DIR:-$HOME/.cache/oci-arm-runbooks}/tools/nginx"
bin="$dest/root/usr/sbin/nginx"

if [ -x "$bin" ] && timeout 30 "$bin" -v >/dev/null 2>&1; then
  echo "$bin"
  exit 0
fi

mkdir -p "$dest"
work=$(mktemp -d "$dest/download.XXXXXX")
trap 'rm -rf "$work"' EXIT
chmod 0755 "$work"
(cd "$work" && timeout 300 apt-get download -q nginx nginx-common >&2) || {
  echo "fetch-nginx: apt-get download nginx nginx-common failed (run apt-get update?)" >&2
  exit 1
}
rm -rf "$dest/root.new" && mkdir -p "$dest/root.new"
for d in "$work"/*.deb; do dpkg-deb -x "$d" "$dest/root.new"; done
rm -rf "$dest/root" && mv "$dest/root.new" "$dest/root"
timeout 30 "$bin" -v >&2 || { echo "fetch-nginx: the unpacked nginx does not run" >&2; exit 1; }
echo "$bin"
