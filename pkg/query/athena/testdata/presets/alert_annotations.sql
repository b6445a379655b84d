SELECT min(event_time) AS time, cluster || ',' || coalesce(nullif(trim(split_part(event, ':', 1)), ''), 'unnamed event') AS tags,
  coalesce(nullif(trim(split_part(event, ':', 1)), ''), 'STL alert event') || ' (query ' || coalesce(CAST(query AS VARCHAR), 'unknown') ||
  ' on ' || cluster || '): ' || coalesce(nullif(min(trim(solution)), ''), 'no solution logged') AS text
FROM stl_alert_event_log
WHERE day BETWEEN DATE '2026-11-01' AND DATE '2026-11-02' AND (event_time >= CAST(from_iso8601_timestamp('2026-11-01T21:15:30.123Z') AS timestamp) AND event_time <= CAST(from_iso8601_timestamp('2026-11-02T09:59:59.999Z') AS timestamp)) AND cluster IN ('prod-east', 'o''brien')
GROUP BY cluster, query, trim(split_part(event, ':', 1))
ORDER BY 1
