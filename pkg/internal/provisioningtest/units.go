package provisioningtest

import "strings"

// CountUnit is the unit of a value that counts things (queries, events, gaps): Grafana's "short".
const CountUnit = "short"

// UnitOf is the Grafana unit a result column's name says its values have, or "" when the name
// says nothing. The rule, by the end of the name:
//
//	seconds, *_seconds       s        (durations, lag)
//	*_ms                     ms
//	*_us, *_micros           µs       (STL's raw microsecond columns)
//	bytes, *_bytes           bytes
//	rows, *_rows             short    (row counts)
//	*_percent, *_pct         percent
//
// Dashboards must show each such column in its unit. Value columns of presets (role value) that
// match no rule are counts, shown as CountUnit.
func UnitOf(column string) string {
	c := strings.ToLower(column)
	switch {
	case c == "seconds" || strings.HasSuffix(c, "_seconds"):
		return "s"
	case strings.HasSuffix(c, "_ms"):
		return "ms"
	case strings.HasSuffix(c, "_us") || strings.HasSuffix(c, "_micros"):
		return "µs"
	case c == "bytes" || strings.HasSuffix(c, "_bytes"):
		return "bytes"
	case c == "rows" || strings.HasSuffix(c, "_rows"):
		return CountUnit
	case strings.HasSuffix(c, "_percent") || strings.HasSuffix(c, "_pct"):
		return "percent"
	}
	return ""
}
