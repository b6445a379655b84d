WITH a AS (
  SELECT cluster, query, min(event_time) AS event_time, count(*) AS alerts
  FROM stl_alert_event_log
  WHERE day BETWEEN DATE '2026-11-01' AND DATE '2026-11-02' AND (event_time >= CAST(from_iso8601_timestamp('2026-11-01T21:15:30.123Z') AS timestamp) AND event_time <= CAST(from_iso8601_timestamp('2026-11-02T09:59:59.999Z') AS timestamp)) AND cluster IN ('prod-east', 'o''brien')
    AND trim(split_part(event, ':', 1)) = 'Nested Loop Join in the query plan'
  GROUP BY 1, 2
), q AS (
  SELECT q.cluster, q.query, q.userid, q.database, q.starttime, date_diff('millisecond', q.starttime, q.endtime) / 1e3 AS seconds, q.querytxt
  FROM stl_query q JOIN a ON a.cluster = q.cluster AND a.query = q.query
  WHERE q.day BETWEEN DATE '2026-11-01' AND DATE '2026-11-02' AND q.cluster IN ('prod-east', 'o''brien')
), text AS (
  SELECT t.cluster, t.query, rtrim(array_join(array_agg(rpad(t.text, 200, ' ') ORDER BY t.sequence), '')) AS logged
  FROM stl_querytext t JOIN a ON a.cluster = t.cluster AND a.query = t.query
  WHERE t.day BETWEEN DATE '2026-11-01' AND DATE '2026-11-02' AND t.cluster IN ('prod-east', 'o''brien')
  GROUP BY 1, 2
)
SELECT a.event_time AS time, a.cluster, a.query, q.userid, q.database, q.seconds, a.alerts,
  replace(replace(replace(coalesce(text.logged, rtrim(q.querytxt)), '\\', chr(1)), '\n', chr(10)), chr(1), '\') AS sql
FROM a
LEFT JOIN q ON q.cluster = a.cluster AND q.query = a.query
LEFT JOIN text ON text.cluster = a.cluster AND text.query = a.query
ORDER BY a.event_time DESC, a.cluster, a.query
