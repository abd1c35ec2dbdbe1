#!/usr/bin/env bash
# Makes a Docker Compose v2 binary available for the compose asset validator and prints its path
# as the last line of stdout. Debian 12's docker-compose (1.29) rejects the compose spec's
# top-level `name:`, so this takes Debian 13's package: apt downloads it with a sources list,
# lists, cache and status of its own (the machine's apt sources and state are never touched), from
# the Debian mirror the machine already uses, and dpkg-deb unpacks it into
#   ${RUNBOOK_CACHE_DIR:-~/.cache/oci-arm-runbooks}/tools/docker-compose_VERSION_ARCH/
# with tools/docker-compose linking to the current one. A later run only checks that link.
# RUNBOOK_DEBIAN_MIRROR overrides the mirror (e.g. on a machine whose sources name no Debian one).
# COMPOSE_ARCH=arm64 fetches the ARM64 binary for the test VMs instead (linked as
# tools/docker-compose-arm64; dynamically linked, so it is checked by its ELF header, not run).
set -euo pipefail

suite=trixie
pkg=docker-compose
tools="${RUNBOOK_CACHE_DIR:-$HOME/.cache/oci-arm-runbooks}/tools"
link="$tools/$pkg${COMPOSE_ARCH:+-$COMPOSE_ARCH}"

die() {
  echo "fetch-compose: $*" >&2
  exit 1
}

# Warm path: the linked binary exists and runs.
# A foreign binary cannot run here: its ELF machine field must name the architecture instead.
runs() {
  if [ -n "${COMPOSE_ARCH:-}" ]; then
    [ "$(od -An -tx1 -j18 -N2 "$1" 2>/dev/null | tr -d ' \n')" = "b700" ]
  else
    timeout 30 "$1" version >/dev/null 2>&1
  fi
}

if [ -x "$link" ] && runs "$link"; then
  readlink -f "$link"
  exit 0
fi

for t in apt-get apt-cache dpkg dpkg-deb timeout; do
  command -v "$t" >/dev/null || die "$t not found; this needs a Debian machine"
done
arch=${COMPOSE_ARCH:-$(dpkg --print-architecture)}

# The URI of the first enabled source that serves this machine's own release (e.g. the entry
# with suite "bookworm" on Debian 12), from one-line .list and deb822 .sources files alike.
machine_mirror() {
  local codename files=()
  codename=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release 2>/dev/null | tr -d '"')
  [ -n "$codename" ] || return 0
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    if [ -f "$f" ]; then files+=("$f"); fi
  done
  [ "${#files[@]}" -gt 0 ] || return 0
  awk -v want="$codename" '
    function has(list, w) { return (" " list " ") ~ (" " w " ") }
    function stanza() {
      if (!found && has(types, "deb") && tolower(enabled) != "no" && has(suites, want)) { split(uris, u, " "); found = u[1] }
      types = ""; uris = ""; suites = ""; enabled = ""
    }
    FNR == 1 { stanza() }
    /^[ \t]*#/ { next }
    FILENAME ~ /\.list$/ {
      line = $0; sub(/\[[^]]*\]/, "", line); n = split(line, f, /[ \t]+/)
      if (!found && f[1] == "deb" && n >= 3 && f[3] == want) found = f[2]
      next
    }
    /^[ \t]*$/ { stanza(); next }
    { key = tolower($1); val = $0; sub(/^[^:]*:[ \t]*/, "", val) }
    key == "types:" { types = val }
    key == "uris:" { uris = val }
    key == "suites:" { suites = val }
    key == "enabled:" { enabled = val }
    END { stanza(); if (found) print found }
  ' "${files[@]}"
}

mirror="${RUNBOOK_DEBIAN_MIRROR:-$(machine_mirror)}"
mirror="${mirror%/}"
[ -n "$mirror" ] || die "no Debian mirror found in /etc/apt/sources.list or /etc/apt/sources.list.d/; set RUNBOOK_DEBIAN_MIRROR to one (its URI, e.g. http://MIRROR/debian)"

mkdir -p "$tools"
work=$(mktemp -d "$tools/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/preferences.d" "$work/deb"
: >"$work/status"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$keyring" ] || die "$keyring not found; run: apt-get install debian-archive-keyring"
echo "deb [arch=$arch signed-by=$keyring target=Packages] $mirror $suite main" >"$work/sources.list"

# Everything apt reads or writes is in $work. The sandbox user _apt cannot reach a root-only
# cache directory, and nothing is installed, so downloads run as the calling user.
apt_opts=(
  -o "Dir::Etc::sourcelist=$work/sources.list" -o Dir::Etc::sourceparts=-
  -o "Dir::Etc::preferences=$work/preferences" -o "Dir::Etc::preferencesparts=$work/preferences.d"
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "Dir::State::status=$work/status"
  -o APT::Sandbox::User=root -o Acquire::Languages=none -o "APT::Architecture=$arch" -o "APT::Architectures=$arch"
  -o Acquire::Retries=2 -o Acquire::http::Timeout=30 -o Acquire::https::Timeout=30
)

timeout -k 10 180 apt-get -qq --error-on=any "${apt_opts[@]}" update >"$work/log" 2>&1 ||
  die "apt-get update of $mirror $suite failed or timed out: $(tail -n 3 "$work/log")"
version=$(timeout -k 10 60 apt-cache "${apt_opts[@]}" show --no-all-versions "$pkg" 2>/dev/null | awk '/^Version:/ { print $2; exit }') || true
[ -n "$version" ] || die "$pkg is not in $mirror $suite for $arch"

name="${pkg}_${version//:/%3a}_$arch"
dest="$tools/$name"
if ! { [ -x "$dest/$pkg" ] && runs "$dest/$pkg"; }; then
  echo "fetch-compose: downloading $pkg $version ($suite, $arch)" >&2
  (cd "$work/deb" && timeout -k 10 300 apt-get -qq "${apt_opts[@]}" download "$pkg=$version") >"$work/log" 2>&1 ||
    die "apt-get download $pkg=$version from $mirror failed or timed out: $(tail -n 3 "$work/log")"
  deb=$(find "$work/deb" -maxdepth 1 -name '*.deb' -print -quit)
  [ -n "$deb" ] || die "apt-get download $pkg=$version left no .deb"
  dpkg-deb -x "$deb" "$work/root"
  bin="$work/root/usr/libexec/docker/cli-plugins/$pkg"
  [ -x "$bin" ] || die "$deb has no usr/libexec/docker/cli-plugins/$pkg"
  if [ -n "${COMPOSE_ARCH:-}" ]; then
    runs "$bin" || die "$deb holds no $arch binary"
  else
    out=$(timeout 30 "$bin" version 2>&1) || die "$pkg $version does not run on this machine: $out"
    case "$out" in *"version 2."* | *"version v2."*) ;; *) die "$pkg $version is not compose v2: $out" ;; esac
  fi
  mkdir -p "$work/$name"
  mv "$bin" "$work/$name/$pkg"
  rm -rf "$dest"
  # A concurrent run may have put the same version in place first; either copy will do.
  mv -T "$work/$name" "$dest" 2>/dev/null || [ -x "$dest/$pkg" ] || die "cannot move $pkg into $dest"
fi

# Swap the link in one rename so a concurrent reader sees the old binary or the new one.
ln -sfn "$name/$pkg" "$work/link"
mv -Tf "$work/link" "$link"
readlink -f "$link"
