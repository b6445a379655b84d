package athena

import (
	"strings"

	"github.com/stlarchive/redshift-stl-archive/pkg/query/duckdb"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/internal/sqltext"
)

// checkStatement lets through one SELECT or WITH query and returns it without a trailing
// semicolon. Athena runs one statement per query execution, but that statement could as well be
// a DROP TABLE, a CREATE TABLE AS or an UNLOAD into any bucket the role may write: a query from a
// dashboard must only read. Trino has no statement other than a query that starts with WITH or
// SELECT (or a parenthesis around one), so the first word decides; Athena's own parser then
// refuses a second statement after a semicolon, and this refuses it first with a clearer word.
func checkStatement(sql string) (string, error) {
	spans := statements(sql)
	switch len(spans) {
	case 0:
		return "", &duckdb.RefusedError{Reason: "empty query; send one SELECT or WITH query"}
	case 1:
	default:
		return "", &duckdb.RefusedError{Reason: "more than one statement; send exactly one SELECT or WITH query"}
	}
	s := spans[0]
	word := firstWord(sql[s.start:s.end])
	switch strings.ToUpper(word) {
	case "SELECT", "WITH", "(":
	default:
		return "", &duckdb.RefusedError{Reason: "a " + strings.ToUpper(word) + " statement; only SELECT or WITH queries run"}
	}
	// Keep leading comments: Athena's line numbers in errors then match the user's text.
	return strings.TrimRight(sql[:s.end], " \t\r\n"), nil
}

type span struct{ start, end int }

// statements splits sql at semicolons outside string literals, quoted identifiers and comments,
// and returns the parts that hold more than blanks and comments, with those trimmed at the start.
func statements(sql string) []span {
	var out []span
	start := 0
	flush := func(end int) {
		if i := skipBlank(sql, start, end); i < end {
			out = append(out, span{i, end})
		}
	}
	for i := 0; i < len(sql); {
		switch {
		case sql[i] == '\'' || sql[i] == '"':
			i = sqltext.SkipQuoted(sql, i)
		case strings.HasPrefix(sql[i:], "--"):
			i = sqltext.SkipComment(sql, i)
		case strings.HasPrefix(sql[i:], "/*"):
			i = sqltext.SkipComment(sql, i)
		case sql[i] == ';':
			flush(i)
			i++
			start = i
		default:
			i++
		}
	}
	flush(len(sql))
	return out
}

// skipBlank returns the index of the first byte in sql[i:end] that is neither blank nor in a
// comment, or end.
func skipBlank(sql string, i, end int) int {
	for i < end {
		switch {
		case strings.ContainsRune(" \t\r\n\f", rune(sql[i])):
			i++
		case strings.HasPrefix(sql[i:end], "--"):
			i = min(sqltext.SkipComment(sql, i), end)
		case strings.HasPrefix(sql[i:end], "/*"):
			i = min(sqltext.SkipComment(sql, i), end)
		default:
			return i
		}
	}
	return end
}

// firstWord is the leading keyword of a statement, or its first character when that is not a
// letter.
func firstWord(s string) string {
	i := 0
	for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z' || s[i] == '_') {
		i++
	}
	if i == 0 {
		return s[:1]
	}
	return s[:i]
}
