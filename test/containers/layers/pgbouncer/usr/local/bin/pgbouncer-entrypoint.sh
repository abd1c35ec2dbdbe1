#!/bin/sh
# PgBouncer from Debian 13 reading the mounted /etc/pgbouncer/pgbouncer.ini (and the auth_file it
# names). PgBouncer refuses to run as root: started as root, it drops to user postgres.
set -eu
if [ "${1#-}" != "$1" ] || [ "${1%.ini}" != "$1" ]; then set -- pgbouncer "$@"; fi
if [ "$1" = pgbouncer ] && [ "$(id -u)" = 0 ]; then
	exec setpriv --reuid=postgres --regid=postgres --init-groups env HOME=/var/lib/postgresql "$@"
fi
exec "$@"
