#!/usr/bin/env bash
# Central data platform backup (the seed's /srv/apps/backup.sh), run by central-db-backup.timer.
# PostgreSQL globals and each database (pg_dump -Fc) dumped inside the server's own container
# (a 17 server needs a 17 client), a Redis RDB snapshot taken by redis-cli --rdb (a replica-style
# sync: consistent, no BGSAVE race), every file hashed into MANIFEST, uploaded with --no-overwrite
# (MANIFEST last, so a listed manifest means a complete backup), then local copies rotated.
# Silent on success; on failure one line on stderr (the journal) and a non-zero exit.
set -euo pipefail
umask 077

conf="${CENTRAL_DB_BACKUP_ENV:-/srv/config/backup.env}"
# shellcheck source=/dev/null
. "$conf"
: "${BACKUP_BUCKET:?}" "${BACKUP_PREFIX:?}" "${BACKUP_KEEP_LOCAL:?}" "${POSTGRES_USER:?}"
root="${BACKUP_ROOT:-/srv/backups}"
redis_data="${REDIS_DATA:-/srv/data/redis}"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
work="$root/.partial-$stamp"
errlog="$root/.last-error"
step="start"

fail() {
  local code=$?
  local last=""
  if [ -s "$errlog" ]; then
    # An OCI service error is a JSON block: its code and message say it in one line.
    last=$(grep -oE '"(code|message)": "[^"]*"' "$errlog" | tr '\n' ' ' || true)
    [ -n "$last" ] || last=$(grep -v '^[[:space:]]*$' "$errlog" | tail -n 1 || true)
  fi
  echo "central-db backup $stamp failed at ${step} (exit $code)${last:+: $last}" >&2
  rm -rf -- "$work"
  exit "$code"
}
trap fail ERR
trap 'rm -rf -- "$work"' INT TERM

mkdir -p -- "$work"
: > "$errlog"
cd -- "$work"

step="globals"
docker exec postgres-db pg_dumpall -U "$POSTGRES_USER" --globals-only > globals.sql 2>>"$errlog"

step="database list"
dbs=$(docker exec postgres-db psql -X -A -t -U "$POSTGRES_USER" -d postgres \
  -c "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate AND datname <> 'postgres' ORDER BY 1" 2>>"$errlog")
for db in $dbs; do
  step="pg_dump $db"
  docker exec postgres-db pg_dump -U "$POSTGRES_USER" -Fc -d "$db" > "db-$db.dump" 2>>"$errlog"
done

step="redis snapshot"
rm -f -- "$redis_data/.backup.rdb"
# The password stays inside the container: read from its own config file into REDISCLI_AUTH.
# shellcheck disable=SC2016
docker exec redis sh -c 'REDISCLI_AUTH="$(sed -n "s/^requirepass //p" /redis-stack.conf)" exec redis-cli --no-auth-warning --rdb /data/.backup.rdb' >/dev/null 2>>"$errlog"
# Copied, not moved: the two folders are separate mounts in the unit's sandbox, and a moving copy
# would try to keep the container user's ownership (chown is filtered there).
cat -- "$redis_data/.backup.rdb" > redis.rdb
rm -f -- "$redis_data/.backup.rdb"

step="manifest"
server=$(docker exec postgres-db psql -X -A -t -U "$POSTGRES_USER" -d postgres -c 'SHOW server_version' 2>>"$errlog")
printf '# central-db backup %s\n# postgres %s\n' "$stamp" "$server" > MANIFEST.new
for f in globals.sql db-*.dump redis.rdb; do
  [ -e "$f" ] || continue
  # Assignments, so a failing sha256sum or stat stops the script (a printf argument would not).
  sum=$(sha256sum -- "$f")
  size=$(stat -c %s -- "$f")
  printf '%s %s %s\n' "${sum%% *}" "$size" "$f" >> MANIFEST.new
done
mv -- MANIFEST.new MANIFEST

step="upload"
export OCI_CLI_AUTH
for f in globals.sql db-*.dump redis.rdb MANIFEST; do
  [ -e "$f" ] || continue
  step="upload $f"
  oci os object put --bucket-name "$BACKUP_BUCKET" --name "$BACKUP_PREFIX/$stamp/$f" --file "$f" --no-overwrite >/dev/null 2>>"$errlog"
done

step="rotate"
cd /
mv -- "$work" "$root/$stamp"
find "$root" -mindepth 1 -maxdepth 1 -type d -name '2*' -printf '%f\n' | sort -r | tail -n +"$((BACKUP_KEEP_LOCAL + 1))" | while read -r old; do
  rm -rf -- "${root:?}/$old"
done
rm -f -- "$errlog"
