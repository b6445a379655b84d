WITH q AS (
  SELECT cluster, query, endtime
  FROM stl_query
  WHERE day BETWEEN DATE '2026-11-01' AND DATE '2026-11-02' AND (endtime >= CAST(from_iso8601_timestamp('2026-11-01T21:15:30.123Z') AS timestamp) AND endtime <= CAST(from_iso8601_timestamp('2026-11-02T09:59:59.999Z') AS timestamp)) AND cluster IN ('prod-east', 'o''brien')
), notes AS (
  SELECT e.cluster, e.query, trim(t.table_name) AS table_name
  FROM stl_explain e
  CROSS JOIN UNNEST(split(regexp_extract(e.plannode, 'Tables missing statistics:\s*(.*?)\s*-+\s*$', 1), ',')) AS t(table_name)
  WHERE e.plannode LIKE '%missing statistics%' AND e.day BETWEEN DATE '2026-11-01' AND DATE '2026-11-02' AND e.cluster IN ('prod-east', 'o''brien')
)
SELECT n.cluster, n.table_name, count(DISTINCT n.query) AS queries, max(q.endtime) AS last_seen
FROM notes n JOIN q ON q.cluster = n.cluster AND q.query = n.query
WHERE n.table_name <> ''
GROUP BY 1, 2
ORDER BY queries DESC, n.cluster, n.table_name
