// Package sqltext scans SQL text for the tokens whose content is not code: quoted strings and
// identifiers, and comments. The macro expander and the Athena statement guard both need to step
// over them, and must agree on where they end.
package sqltext

import "strings"

// SkipQuoted returns the index after the quoted token that starts at i (its quote character is
// s[i]); a doubled quote escapes itself. An unclosed token runs to the end.
func SkipQuoted(s string, i int) int {
	q := s[i]
	for k := i + 1; k < len(s); k++ {
		if s[k] == q {
			if k+1 < len(s) && s[k+1] == q {
				k++
				continue
			}
			return k + 1
		}
	}
	return len(s)
}

// SkipComment returns the index after the -- or /* */ comment that starts at i, or i when none
// starts there. An unclosed comment runs to the end.
func SkipComment(s string, i int) int {
	switch {
	case strings.HasPrefix(s[i:], "--"):
		if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
			return i + j + 1
		}
		return len(s)
	case strings.HasPrefix(s[i:], "/*"):
		if j := strings.Index(s[i+2:], "*/"); j >= 0 {
			return i + 2 + j + 2
		}
		return len(s)
	}
	return i
}
