-- One line per table: "rows md5 schema.table", the md5 over the table's rows in a stable order
-- (the name last: a quoted name may hold spaces).
-- The backup records it beside each dump; a restore must read back the same lines.
SELECT format('%s %s', (xpath('/row/c/text()', query_to_xml(format('select count(*) || '' '' || md5(coalesce(string_agg(x::text, chr(10) order by x::text), '''')) as c from %s x', t.n), false, true, '')))[1]::text, t.n)
FROM (
  SELECT format('%I.%I', table_schema, table_name) AS n
  FROM information_schema.tables
  WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')
  ORDER BY 1
) t;
