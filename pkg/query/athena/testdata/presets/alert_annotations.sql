SELECT min(event_time) AS time, cluster || ',' || trim(split_part(event, ':', 1)) AS tags,
  trim(split_part(event, ':', 1)) || ' (query ' || CAST(query AS VARCHAR) || ' on ' || cluster || '): ' || min(trim(solution)) AS text
FROM stl_alert_event_log
WHERE day BETWEEN DATE '2026-11-01' AND DATE '2026-11-02' AND (event_time >= CAST(from_iso8601_timestamp('2026-11-01T21:15:30.123Z') AS timestamp) AND event_time <= CAST(from_iso8601_timestamp('2026-11-02T09:59:59.999Z') AS timestamp)) AND cluster IN ('prod-east', 'o''brien')
GROUP BY cluster, query, trim(split_part(event, ':', 1))
ORDER BY 1
