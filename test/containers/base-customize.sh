#!/bin/sh
# mmdebstrap extract hook for the shared trixie base layer ($1: the root folder, on the host).
# The packages were only unpacked (extract variant): no maintainer script ran. This does, with the
# host's tools and no chroot, the little of their work a container relies on, then what the
# upstream images prepare at build time.
set -eu
root="$1"

# Users and groups: base-passwd's masters (what its postinst copies), then the service users with
# the official images' fixed IDs (postgres 999 as in the postgres image; redis 998, since both live
# in this one layer and the redis image's own 999 is taken).
cp "$root/usr/share/base-passwd/passwd.master" "$root/etc/passwd"
cp "$root/usr/share/base-passwd/group.master" "$root/etc/group"
cat >>"$root/etc/group" <<'EOF'
postgres:x:999:
redis:x:998:
EOF
cat >>"$root/etc/passwd" <<'EOF'
postgres:x:999:999:PostgreSQL administrator:/var/lib/postgresql:/bin/sh
redis:x:998:998::/var/lib/redis:/usr/sbin/nologin
EOF
cut -d: -f1 "$root/etc/passwd" | sed 's/$/:*:20000:0:99999:7:::/' >"$root/etc/shadow"
cut -d: -f1 "$root/etc/group" | sed 's/$/:*::/' >"$root/etc/gshadow"
chmod 0640 "$root/etc/shadow" "$root/etc/gshadow"
chgrp 42 "$root/etc/shadow" "$root/etc/gshadow" # shadow, as in base-passwd's master

# The alternatives the entrypoints and healthchecks call by their generic names.
alt() { # alt NAME TARGET
	ln -sfn "$2" "$root/etc/alternatives/$1"
	ln -sfn "/etc/alternatives/$1" "$root/usr/bin/$1"
}
mkdir -p "$root/etc/alternatives"
alt nc /usr/bin/nc.openbsd
alt awk /usr/bin/mawk
alt which /usr/bin/which.debianutils
for f in nc.openbsd mawk which.debianutils; do test -x "$root/usr/bin/$f"; done

# PostgreSQL's JIT (LLVM, about 170 MB): not needed by any test; without its provider library
# the server simply does not JIT.
rm -f "$root"/usr/lib/postgresql/17/lib/llvmjit*.so "$root"/usr/lib/aarch64-linux-gnu/libLLVM.so.* "$root"/usr/lib/aarch64-linux-gnu/libz3.so.*
rm -rf "$root/usr/lib/postgresql/17/lib/bitcode"

# Official postgres image: the sample config (copied by initdb) listens on every address.
sample="$root/usr/share/postgresql/17/postgresql.conf.sample"
sed -ri "s!^#?listen_addresses[[:space:]]*=.*!listen_addresses = '*'!" "$sample"
grep -q "^listen_addresses = '\*'" "$sample"
# PGDATA (chmod 1777 like upstream, so any --user can initdb there; the entrypoint makes it 0700),
# the socket folder, postgres' home, and redis's /data.
install -d -o 999 -g 999 -m 0755 "$root/var/lib/postgresql"
install -d -o 999 -g 999 -m 1777 "$root/var/lib/postgresql/data"
install -d -o 999 -g 999 -m 3777 "$root/run/postgresql"
install -d -o 998 -g 998 -m 0750 "$root/var/lib/redis"
install -d -o 998 -g 998 -m 0755 "$root/data"
# Nothing the containers need at run time: apt lists and caches, logs of the build.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old "$root"/var/log/*.log "$root"/var/log/apt/*
