#!/bin/sh
# The official redis image's entrypoint on Debian 13's redis-server: `redis-server [CONF] [ARGS]`
# (a first argument that is an option or a .conf file means redis-server), /data owned by redis,
# the server dropped to user redis, umask 0077. Upstream builds redis with protected mode off; the
# Debian binary has it on, so a server started without a config file gets --protected-mode no.
set -e
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then set -- redis-server "$@"; fi
if [ "$1" = redis-server ] && [ "${2%.conf}" = "${2:-}" ]; then
	shift
	set -- redis-server --protected-mode no "$@"
fi
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
	find . \! -user redis -exec chown redis '{}' +
	exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi
um="$(umask)"
if [ "$um" = '0022' ]; then umask 0077; fi
exec "$@"
