#!/bin/sh
# redis/redis-stack's /entrypoint.sh on Debian 13's redis-server: the config /redis-stack.conf
# (mount your own over it, e.g. with requirepass), data in ${REDIS_DATA_DIR:-/data}, protected mode
# off, in the foreground, then ${REDIS_ARGS}. The Redis Stack modules (JSON, Search, TimeSeries,
# Bloom) and RedisInsight are not in Debian and are not here.
set -e
if [ "$#" -gt 0 ]; then exec "$@"; fi
# shellcheck disable=SC2086 # REDIS_ARGS is split into words, as upstream does
exec redis-server /redis-stack.conf --dir "${REDIS_DATA_DIR:-/data}" --protected-mode no --daemonize no ${REDIS_ARGS:-}
