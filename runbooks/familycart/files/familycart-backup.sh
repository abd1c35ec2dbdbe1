#!/usr/bin/env bash
# Nightly FamilyCart database dump (familycart-backup.service): pg_dump -Fc inside the PostgreSQL
# container (the server's own client), checked with pg_restore --list, a SHA-256 and a fingerprint
# (row count and checksum of every table, read right after the dump) in a manifest, both uploaded
# to Object Storage with --no-overwrite, local copies kept BACKUP_RETENTION_DAYS days.
# Silent on success; any failure is one line on stderr (the journal) and a non-zero exit.
set -euo pipefail
umask 077

conf=${1:-/opt/familycart/backup.env}
# shellcheck source=/dev/null
. "$conf"
: "${BACKUP_BUCKET:?} ${BACKUP_PREFIX:?} ${BACKUP_DIR:=/var/backups/familycart} ${BACKUP_RETENTION_DAYS:=14}"
export OCI_CLI_AUTH="${OCI_CLI_AUTH:-instance_principal}"

compose=(docker compose --project-directory /opt/familycart --env-file /opt/familycart/compose.env -f /opt/familycart/stateful.yaml)
stamp=$(date -u +%Y%m%dT%H%M%SZ)
name="familycart_${stamp}"
mkdir -p "$BACKUP_DIR"
part="$BACKUP_DIR/.${name}.dump.part"
trap 'rm -f "$part" "$BACKUP_DIR/.${name}".*.part' EXIT
fail() {
  echo "familycart-backup: $*" >&2
  exit 1
}

# shellcheck disable=SC2016 # expanded by the container's shell, from the container's environment
"${compose[@]}" exec -T postgres sh -c 'exec pg_dump -Fc -U "$POSTGRES_USER" "$POSTGRES_DB"' >"$part" || fail "pg_dump failed (exit $?); no dump was kept"
[ -s "$part" ] || fail "pg_dump wrote nothing"
"${compose[@]}" exec -T postgres pg_restore --list <"$part" >/dev/null || fail "pg_restore --list cannot read the new dump; it was not kept"

# One line per table: row count, md5 of its rows, schema.table (fingerprint.sql, shared with the restore).
# shellcheck disable=SC2016 # expanded by the container's shell
fingerprint=$("${compose[@]}" exec -T postgres sh -c 'exec psql -X -v ON_ERROR_STOP=1 -At -U "$POSTGRES_USER" -d "$POSTGRES_DB" -f -' </opt/familycart/tools/fingerprint.sql) || fail "reading the table fingerprint failed"

sha=$(sha256sum "$part" | cut -d' ' -f1)
size=$(stat -c %s "$part")
mv "$part" "$BACKUP_DIR/$name.dump"
manifest="$BACKUP_DIR/$name.json"
jq -n --arg dump "$name.dump" --arg sha "$sha" --argjson size "$size" --arg at "$stamp" --arg host "$(hostname)" --arg fp "$fingerprint" \
  '{format: 1, dump: $dump, sha256: $sha, size: $size, createdAt: $at, host: $host, tables: ($fp | split("\n") | map(select(length > 0) | split(" ") | {(.[2:] | join(" ")): {rows: (.[0] | tonumber), md5: .[1]}}) | add // {})}' >"$manifest.part"
mv "$manifest.part" "$manifest"

for f in "$name.dump" "$name.json"; do
  out=$(oci os object put --bucket-name "$BACKUP_BUCKET" --name "$BACKUP_PREFIX/$f" --file "$BACKUP_DIR/$f" --no-overwrite 2>&1) || fail "upload of $f to $BACKUP_BUCKET failed: $(echo "$out" | tr '\n' ' ' | cut -c1-300)"
done

find "$BACKUP_DIR" -maxdepth 1 -name 'familycart_*' -type f -mtime "+$BACKUP_RETENTION_DAYS" -delete
