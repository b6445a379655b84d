SELECT from_unixtime(floor(to_unixtime(service_class_end_time) / 300) * 300) AS time, cluster, CAST(service_class AS VARCHAR) AS service_class,
  sum(CAST(total_queue_time AS DECIMAL(38,0))) / 1e6 AS queue_seconds, sum(CAST(total_exec_time AS DECIMAL(38,0))) / 1e6 AS exec_seconds
FROM stl_wlm_query
WHERE day BETWEEN DATE '2026-11-01' AND DATE '2026-11-02' AND (service_class_end_time >= CAST(from_iso8601_timestamp('2026-11-01T21:15:30.123Z') AS timestamp) AND service_class_end_time <= CAST(from_iso8601_timestamp('2026-11-02T09:59:59.999Z') AS timestamp)) AND cluster IN ('prod-east', 'o''brien')
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
