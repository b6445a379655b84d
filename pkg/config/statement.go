package config

import (
	"fmt"
	"strings"
)

// statementProblem checks that sql is exactly one statement and that it starts with SELECT or
// WITH. It scans as Redshift's lexer splits statements, so that a ';' inside a string literal, a
// quoted identifier or a comment does not count, and a trailing ';' is allowed. Backslash escapes
// a quote inside a string literal, as Redshift reads it.
//
// The check keeps an operator's typo (or a pasted script) from running DML on every cluster; it is
// not a sandbox: the query runs with the cluster user's own rights.
func statementProblem(sql string) string {
	first := ""
	ended := false
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '-' && strings.HasPrefix(sql[i:], "--"):
			end := strings.IndexByte(sql[i:], '\n')
			if end < 0 {
				return keywordProblem(first)
			}
			i += end + 1
		case c == '/' && strings.HasPrefix(sql[i:], "/*"):
			n, ok := blockComment(sql[i:])
			if !ok {
				return "unterminated /* comment"
			}
			i += n
		case c == '\'' || c == '"':
			n, ok := quoted(sql[i:], c)
			if !ok {
				if c == '"' {
					return "unterminated quoted identifier"
				}
				return "unterminated string literal"
			}
			if ended {
				return "must be one statement: found more after ';'"
			}
			if first == "" {
				return fmt.Sprintf("must start with SELECT or WITH, got %s", sql[i:i+n])
			}
			i += n
		case c == ';':
			ended = true
			i++
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		default:
			if ended {
				return "must be one statement: found more after ';'"
			}
			if first == "" {
				n := wordLen(sql[i:])
				if n == 0 {
					return fmt.Sprintf("must start with SELECT or WITH, got %q", sql[i:i+1])
				}
				first = strings.ToUpper(sql[i : i+n])
				if msg := keywordProblem(first); msg != "" {
					return msg
				}
				i += n
				continue
			}
			i++
		}
	}
	return keywordProblem(first)
}

func keywordProblem(first string) string {
	switch first {
	case "SELECT", "WITH":
		return ""
	case "":
		return "required: one SELECT or WITH statement"
	}
	return fmt.Sprintf("must start with SELECT or WITH, got %s", first)
}

func wordLen(s string) int {
	n := 0
	for n < len(s) && (s[n] >= 'a' && s[n] <= 'z' || s[n] >= 'A' && s[n] <= 'Z' || s[n] == '_') {
		n++
	}
	return n
}

// quoted returns the length of the quoted token at the start of s, including both quotes. A
// doubled quote stands for itself; in string literals so does a backslash-escaped one.
func quoted(s string, q byte) (int, bool) {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if q == '\'' {
				i++
			}
		case q:
			if i+1 < len(s) && s[i+1] == q {
				i++
				continue
			}
			return i + 1, true
		}
	}
	return 0, false
}

// blockComment returns the length of the /* comment */ at the start of s. Comments nest, as in
// PostgreSQL.
func blockComment(s string) (int, bool) {
	depth := 0
	for i := 0; i+1 < len(s); i++ {
		switch {
		case s[i] == '/' && s[i+1] == '*':
			depth++
			i++
		case s[i] == '*' && s[i+1] == '/':
			depth--
			i++
			if depth == 0 {
				return i + 1, true
			}
		}
	}
	return 0, false
}
