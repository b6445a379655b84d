SELECT cluster, perm_table_name AS table_name, sum(CAST(rows AS DECIMAL(38,0))) AS rows, sum(CAST(bytes AS DECIMAL(38,0))) AS bytes, count(DISTINCT query) AS queries
FROM stl_scan
WHERE day BETWEEN DATE '2026-11-01' AND DATE '2026-11-02' AND (endtime >= CAST(from_iso8601_timestamp('2026-11-01T21:15:30.123Z') AS timestamp) AND endtime <= CAST(from_iso8601_timestamp('2026-11-02T09:59:59.999Z') AS timestamp)) AND cluster IN ('prod-east', 'o''brien') AND coalesce(perm_table_name, '') <> ''
GROUP BY 1, 2
ORDER BY bytes DESC, cluster, table_name
