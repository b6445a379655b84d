WITH q AS (
  SELECT cluster, query, querytxt, date_diff('millisecond', starttime, endtime) / 1e3 AS seconds
  FROM stl_query
  WHERE day BETWEEN DATE '2026-11-01' AND DATE '2026-11-02' AND (endtime >= CAST(from_iso8601_timestamp('2026-11-01T21:15:30.123Z') AS timestamp) AND endtime <= CAST(from_iso8601_timestamp('2026-11-02T09:59:59.999Z') AS timestamp)) AND cluster IN ('prod-east', 'o''brien')
), alerts AS (
  SELECT cluster, query, count(*) AS alerts
  FROM stl_alert_event_log
  WHERE day BETWEEN DATE '2026-11-01' AND DATE '2026-11-02' AND (event_time >= CAST(from_iso8601_timestamp('2026-11-01T21:15:30.123Z') AS timestamp) AND event_time <= CAST(from_iso8601_timestamp('2026-11-02T09:59:59.999Z') AS timestamp)) AND cluster IN ('prod-east', 'o''brien')
  GROUP BY 1, 2
), top AS (
  SELECT q.cluster, q.querytxt, count(*) AS executions, sum(q.seconds) AS total_seconds,
    avg(q.seconds) AS avg_seconds, max(q.seconds) AS max_seconds, max(q.query) AS query,
    coalesce(sum(a.alerts), 0) AS alerts
  FROM q LEFT JOIN alerts a ON a.cluster = q.cluster AND a.query = q.query
  GROUP BY q.cluster, q.querytxt
  ORDER BY total_seconds DESC, q.cluster, query
  LIMIT 50
), text AS (
  SELECT t.cluster, t.query, rtrim(array_join(array_agg(rpad(t.text, 200, ' ') ORDER BY t.sequence), '')) AS logged
  FROM stl_querytext t JOIN top ON top.cluster = t.cluster AND top.query = t.query
  WHERE t.day BETWEEN DATE '2026-11-01' AND DATE '2026-11-02' AND t.cluster IN ('prod-east', 'o''brien')
  GROUP BY 1, 2
)
SELECT top.cluster, top.query, top.executions, top.total_seconds, top.avg_seconds, top.max_seconds, top.alerts,
  replace(replace(replace(coalesce(text.logged, rtrim(top.querytxt)), '\\', chr(1)), '\n', chr(10)), chr(1), '\') AS sql
FROM top LEFT JOIN text ON text.cluster = top.cluster AND text.query = top.query
ORDER BY top.total_seconds DESC, top.cluster, top.query
