// Row count and an md5 over the sorted rows of every table in a database: equal fingerprints
// before a backup and after its restore prove the data came back. Run with psql -A -t: one
// `schema.table|rows|md5` line per table.
export const FINGERPRINT_SQL = `SELECT format('%I.%I', n.nspname, c.relname),
  (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text,
  (xpath('/row/m/text()', query_to_xml(format('SELECT md5(coalesce(string_agg(x::text, chr(10) ORDER BY x::text), '''')) AS m FROM %I.%I x', n.nspname, c.relname), false, true, '')))[1]::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
ORDER BY 1;
`;
