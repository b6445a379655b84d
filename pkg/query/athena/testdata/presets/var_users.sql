SELECT DISTINCT CAST(userid AS VARCHAR) AS userid FROM stl_query
WHERE day BETWEEN DATE '2026-11-01' AND DATE '2026-11-02' AND (endtime >= CAST(from_iso8601_timestamp('2026-11-01T21:15:30.123Z') AS timestamp) AND endtime <= CAST(from_iso8601_timestamp('2026-11-02T09:59:59.999Z') AS timestamp)) AND cluster IN ('prod-east', 'o''brien')
ORDER BY 1
