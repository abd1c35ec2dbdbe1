#!/bin/sh
# mmdebstrap customize hook for the shared trixie base layer ($1: the root folder, on the host).
# What the upstream images prepare at build time, done once for every image on this base.
set -eu
root="$1"
# Official postgres image: the sample config (copied by initdb) listens on every address.
sample="$root/usr/share/postgresql/17/postgresql.conf.sample"
sed -ri "s!^#?listen_addresses[[:space:]]*=.*!listen_addresses = '*'!" "$sample"
grep -q "^listen_addresses = '\*'" "$sample"
# PGDATA (chmod 1777 like upstream, so any --user can initdb there; the entrypoint makes it 0700),
# the socket folder, and redis's /data.
chroot "$root" install -d -o postgres -g postgres -m 1777 /var/lib/postgresql/data
chroot "$root" install -d -o postgres -g postgres -m 3777 /run/postgresql
chroot "$root" install -d -o redis -g redis -m 0755 /data
# Nothing the containers need at run time: apt lists and caches, logs of the build.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old "$root"/var/log/*.log "$root"/var/log/apt/*
