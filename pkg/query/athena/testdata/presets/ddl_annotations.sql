SELECT starttime AS time, endtime AS time_end, cluster AS tags,
  'DDL on ' || cluster || ' by user ' || coalesce(CAST(userid AS VARCHAR), 'unknown') || ': ' ||
  coalesce(replace(replace(replace(rtrim(array_join(array_agg(rpad(text, 200, ' ') ORDER BY sequence), '')), '\\', chr(1)), '\n', chr(10)), chr(1), '\'), '(no statement text logged)') AS text
FROM stl_ddltext
WHERE day BETWEEN DATE '2026-11-01' AND DATE '2026-11-02' AND (endtime >= CAST(from_iso8601_timestamp('2026-11-01T21:15:30.123Z') AS timestamp) AND endtime <= CAST(from_iso8601_timestamp('2026-11-02T09:59:59.999Z') AS timestamp)) AND cluster IN ('prod-east', 'o''brien')
GROUP BY cluster, xid, pid, starttime, endtime, userid
ORDER BY starttime
