SELECT from_unixtime(floor(to_unixtime(event_time) / 300) * 300) AS time, cluster, trim(split_part(event, ':', 1)) AS event, count(*) AS events
FROM stl_alert_event_log
WHERE day BETWEEN DATE '2026-11-01' AND DATE '2026-11-02' AND (event_time >= CAST(from_iso8601_timestamp('2026-11-01T21:15:30.123Z') AS timestamp) AND event_time <= CAST(from_iso8601_timestamp('2026-11-02T09:59:59.999Z') AS timestamp)) AND cluster IN ('prod-east', 'o''brien')
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
