// Package macro expands the Grafana-style macros of a query ($__timeFilter, $__timeGroup,
// $__dayFilter, $__clusterFilter, …) into SQL of one engine dialect: DuckDB for the embedded
// engine, Trino for Athena. Values from the dashboard (time range, interval, clusters) become SQL
// literals that it quotes itself; a macro argument may only name a column. It neither runs nor
// validates the rest of the query: that is the engine's job.
package macro

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stlarchive/redshift-stl-archive/pkg/query/internal/sqltext"
)

// Dialect is the SQL dialect macros expand to.
type Dialect string

const (
	DuckDB Dialect = "duckdb"
	Athena Dialect = "athena" // Trino, as Athena engine v3 speaks it
)

// Env is what the dashboard supplies for one query.
type Env struct {
	// From and To bound the time range, both inclusive.
	From, To time.Time
	// Interval is the panel's interval, used by $__timeGroup without an explicit one.
	Interval time.Duration
	// Clusters restricts $__clusterFilter; nil means all clusters, empty means none.
	Clusters []string
}

// Error says which macro could not be expanded and why. It is always the query author's (or a
// template variable's) fault.
type Error struct {
	Macro  string
	Reason string
}

func (e *Error) Error() string { return fmt.Sprintf("macro %s: %s", e.Macro, e.Reason) }

// Expand replaces every macro in sql with its expansion in dialect. Text inside string literals,
// quoted identifiers and comments is left alone.
func Expand(sql string, dialect Dialect, env Env) (string, error) {
	if dialect != DuckDB && dialect != Athena {
		return "", fmt.Errorf("expand macros: unknown dialect %q", dialect)
	}
	x := expander{dialect: dialect, env: env}
	var b strings.Builder
	b.Grow(len(sql))
	for i := 0; i < len(sql); {
		if j := skipInert(sql, i); j > i {
			b.WriteString(sql[i:j])
			i = j
			continue
		}
		if !strings.HasPrefix(sql[i:], "$__") {
			b.WriteByte(sql[i])
			i++
			continue
		}
		m, next, err := parseMacro(sql, i)
		if err != nil {
			return "", err
		}
		out, err := x.expand(m)
		if err != nil {
			return "", err
		}
		b.WriteString(out)
		i = next
	}
	return b.String(), nil
}

// call is one macro occurrence: its name, whether it had parentheses, and its raw arguments.
type call struct {
	name   string
	parens bool
	args   []string
}

func (c call) String() string { return "$__" + c.name }

// parseMacro reads the macro starting at sql[i] ("$__name" and an optional "(args)" right after
// it) and returns the index after it. Arguments are split at top-level commas; parentheses nest
// and quoted strings are opaque.
func parseMacro(sql string, i int) (call, int, error) {
	j := i + 3
	for j < len(sql) && isWordByte(sql[j]) {
		j++
	}
	c := call{name: sql[i+3 : j]}
	if c.name == "" {
		return c, 0, &Error{Macro: "$__", Reason: "missing macro name"}
	}
	if j >= len(sql) || sql[j] != '(' {
		return c, j, nil
	}
	c.parens = true
	depth, start := 0, j+1
	for k := j; k < len(sql); {
		switch sql[k] {
		case '\'', '"':
			k = sqltext.SkipQuoted(sql, k)
			continue
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				c.args = splitArgs(sql[start:k])
				return c, k + 1, nil
			}
		}
		k++
	}
	return c, 0, &Error{Macro: c.String(), Reason: "missing closing parenthesis"}
}

// splitArgs splits at commas outside parentheses and quotes; "()" has no arguments.
func splitArgs(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	var args []string
	depth, start := 0, 0
	for k := 0; k < len(s); {
		switch s[k] {
		case '\'', '"':
			k = sqltext.SkipQuoted(s, k)
			continue
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				args = append(args, strings.TrimSpace(s[start:k]))
				start = k + 1
			}
		}
		k++
	}
	return append(args, strings.TrimSpace(s[start:]))
}

type expander struct {
	dialect Dialect
	env     Env
}

func (x expander) expand(c call) (string, error) {
	fail := func(format string, args ...any) (string, error) {
		return "", &Error{Macro: c.String(), Reason: fmt.Sprintf(format, args...)}
	}
	switch c.name {
	case "timeFilter":
		if len(c.args) != 1 {
			return fail("takes one column, got %d arguments", len(c.args))
		}
		col, err := column(c, c.args[0])
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("(%s >= %s AND %s <= %s)", col, x.timestamp(x.env.From), col, x.timestamp(x.env.To)), nil
	case "timeFrom", "timeTo":
		if len(c.args) != 0 {
			return fail("takes no arguments")
		}
		if c.name == "timeFrom" {
			return x.timestamp(x.env.From), nil
		}
		return x.timestamp(x.env.To), nil
	case "timeGroup":
		if len(c.args) < 1 || len(c.args) > 2 {
			return fail("takes a column and an optional interval, got %d arguments", len(c.args))
		}
		col, err := column(c, c.args[0])
		if err != nil {
			return "", err
		}
		iv := x.env.Interval
		if len(c.args) == 2 && strings.Trim(c.args[1], "'") != "$__interval" {
			if iv, err = parseInterval(c.args[1]); err != nil {
				return fail("%v", err)
			}
		}
		if iv <= 0 {
			return fail("no interval: give one, e.g. '5m', or run with a panel interval")
		}
		return x.timeGroup(col, iv), nil
	case "dayFilter":
		col, err := optionalColumn(c, "day")
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s BETWEEN DATE '%s' AND DATE '%s'", col,
			x.env.From.UTC().Format(time.DateOnly), x.env.To.UTC().Format(time.DateOnly)), nil
	case "clusterFilter":
		col, err := optionalColumn(c, "cluster")
		if err != nil {
			return "", err
		}
		return clusterFilter(c, col, x.env.Clusters)
	case "interval":
		// Grafana substitutes $__interval as text ("5m") in dashboards; a query that reaches the
		// backend with it unexpanded (alert rules) gets an interval literal that SQL can use.
		if c.parens {
			return fail("takes no arguments")
		}
		if x.env.Interval <= 0 {
			return fail("no panel interval")
		}
		return x.intervalLiteral(x.env.Interval), nil
	case "interval_ms":
		if c.parens {
			return fail("takes no arguments")
		}
		return strconv.FormatInt(x.env.Interval.Milliseconds(), 10), nil
	}
	return "", &Error{Macro: c.String(), Reason: "unknown macro; known: $__timeFilter, $__timeFrom, $__timeTo, $__timeGroup, $__dayFilter, $__clusterFilter, $__interval, $__interval_ms"}
}

// timestamp is an instant as a plain (zone-less) timestamp literal in UTC, the way STL times are
// stored. Trino's from_iso8601_timestamp gives a timestamp with time zone; the cast keeps its UTC
// wall time whatever the session zone. Athena reads timestamps to the millisecond.
func (x expander) timestamp(t time.Time) string {
	t = t.UTC()
	if x.dialect == Athena {
		return fmt.Sprintf("CAST(from_iso8601_timestamp('%s') AS timestamp)", t.Format("2006-01-02T15:04:05.000Z"))
	}
	return fmt.Sprintf("TIMESTAMP '%s'", t.Format("2006-01-02 15:04:05.000000"))
}

// truncUnits are the intervals Trino's date_trunc does directly. Weeks start on Monday there, as
// they do in DuckDB's time_bucket (whose origin is a Monday).
var truncUnits = map[time.Duration]string{
	time.Second: "second", time.Minute: "minute", time.Hour: "hour", 24 * time.Hour: "day", 7 * 24 * time.Hour: "week",
}

func (x expander) timeGroup(col string, iv time.Duration) string {
	if x.dialect == Athena {
		if unit, ok := truncUnits[iv]; ok {
			return fmt.Sprintf("date_trunc('%s', %s)", unit, col)
		}
		secs := strconv.FormatFloat(iv.Seconds(), 'f', -1, 64)
		return fmt.Sprintf("from_unixtime(floor(to_unixtime(%s) / %s) * %s)", col, secs, secs)
	}
	return fmt.Sprintf("time_bucket(%s, %s)", x.intervalLiteral(iv), col)
}

func clusterFilter(c call, col string, clusters []string) (string, error) {
	if clusters == nil {
		return "1=1", nil
	}
	if len(clusters) == 0 {
		return "1=0", nil
	}
	quoted := make([]string, len(clusters))
	for i, v := range clusters {
		if !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0 {
			return "", &Error{Macro: c.String(), Reason: fmt.Sprintf("cluster %q has control characters or invalid UTF-8", v)}
		}
		quoted[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	return fmt.Sprintf("%s IN (%s)", col, strings.Join(quoted, ", ")), nil
}

func optionalColumn(c call, def string) (string, error) {
	switch len(c.args) {
	case 0:
		return def, nil
	case 1:
		return column(c, c.args[0])
	}
	return "", &Error{Macro: c.String(), Reason: fmt.Sprintf("takes at most one column, got %d arguments", len(c.args))}
}

// columnRe is a column reference: up to three dot-separated parts, each a plain identifier or a
// double-quoted one. Anything else (an expression, a literal, a second statement) is refused, so
// an argument cannot smuggle SQL into the expansion.
var columnRe = regexp.MustCompile(`^(?:[A-Za-z_][A-Za-z0-9_]*|"(?:[^"\x00-\x1f]|"")+")(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|"(?:[^"\x00-\x1f]|"")+")){0,2}$`)

func column(c call, arg string) (string, error) {
	if !columnRe.MatchString(arg) {
		return "", &Error{Macro: c.String(), Reason: fmt.Sprintf("argument %q is not a column reference", arg)}
	}
	return arg, nil
}

var intervalRe = regexp.MustCompile(`^(\d+)(ms|s|m|h|d|w)$`)

// parseInterval reads an interval the way Grafana writes them ('5m', 30s, '1d'), quoted or not.
func parseInterval(arg string) (time.Duration, error) {
	s := strings.TrimSpace(arg)
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		s = s[1 : len(s)-1]
	}
	m := intervalRe.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("interval %q is not a number with a unit of ms, s, m, h, d or w", arg)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("interval %q: %w", arg, err)
	}
	unit := map[string]time.Duration{"ms": time.Millisecond, "s": time.Second, "m": time.Minute,
		"h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[m[2]]
	if n <= 0 || n > int64(math.MaxInt64/unit) {
		return 0, fmt.Errorf("interval %q is out of range", arg)
	}
	return time.Duration(n) * unit, nil
}

// intervalLiteral is an interval in the dialect's syntax.
func (x expander) intervalLiteral(d time.Duration) string {
	if x.dialect == Athena {
		// Trino's day-to-second intervals have no unit below SECOND; it takes a fraction.
		return fmt.Sprintf("INTERVAL '%s' SECOND", strconv.FormatFloat(d.Seconds(), 'f', -1, 64))
	}
	if d%time.Second == 0 {
		return fmt.Sprintf("INTERVAL '%d seconds'", d/time.Second)
	}
	return fmt.Sprintf("INTERVAL '%d microseconds'", d/time.Microsecond)
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// skipInert returns the index after a string literal (plain, E'…' or dollar-quoted), quoted
// identifier or comment starting at i, or i itself when none starts there.
func skipInert(s string, i int) int {
	switch {
	case s[i] == '\'' || s[i] == '"':
		return sqltext.SkipQuoted(s, i)
	case (s[i] == 'E' || s[i] == 'e') && i+1 < len(s) && s[i+1] == '\'' && (i == 0 || !isWordByte(s[i-1])):
		for k := i + 2; k < len(s); k++ {
			switch s[k] {
			case '\\':
				k++
			case '\'':
				if k+1 < len(s) && s[k+1] == '\'' {
					k++
					continue
				}
				return k + 1
			}
		}
		return len(s)
	case s[i] == '$' && !strings.HasPrefix(s[i:], "$__"):
		// $tag$…$tag$; a lone $ (as in $1) is just a character.
		j := i + 1
		for j < len(s) && isWordByte(s[j]) {
			j++
		}
		if j < len(s) && s[j] == '$' && (j == i+1 || !(s[i+1] >= '0' && s[i+1] <= '9')) {
			tag := s[i : j+1]
			if k := strings.Index(s[j+1:], tag); k >= 0 {
				return j + 1 + k + len(tag)
			}
			return len(s)
		}
		return i
	}
	return sqltext.SkipComment(s, i)
}
