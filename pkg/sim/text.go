package sim

import (
	"strings"
	"unicode/utf8"
)

// Sizes of Redshift's text columns, in characters.
const (
	chunkSize    = 200  // stl_querytext, stl_ddltext, stl_utilitytext: text character(200)
	querytxtSize = 4000 // stl_query.querytxt character(4000)
	planTextSize = 400  // stl_explain.plannode and info character(400)
)

// escape renders a statement the way STL logs it: Redshift writes a newline as the two
// characters \n and a backslash as \\, so that the logged text has no line breaks.
func escape(s string) string {
	if !strings.ContainsAny(s, "\\\n") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for _, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Unescape turns logged statement text back into the statement as issued: \n becomes a newline
// and \\ a backslash. Any other backslash is kept as it is.
func Unescape(logged string) string {
	if !strings.Contains(logged, `\`) {
		return logged
	}
	var b strings.Builder
	b.Grow(len(logged))
	for i := 0; i < len(logged); i++ {
		c := logged[i]
		if c == '\\' && i+1 < len(logged) {
			switch logged[i+1] {
			case 'n':
				b.WriteByte('\n')
				i++
				continue
			case '\\':
				b.WriteByte('\\')
				i++
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// chunk cuts logged text into pieces of at most size characters. An empty text still has one
// (empty) chunk, as a statement always has a sequence 0 row.
func chunk(s string, size int) []string {
	n := utf8.RuneCountInString(s)
	out := make([]string, 0, n/size+1)
	for len(s) > 0 {
		cut, count := 0, 0
		for cut < len(s) && count < size {
			_, w := utf8.DecodeRuneInString(s[cut:])
			cut += w
			count++
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	if len(out) == 0 {
		out = append(out, "")
	}
	return out
}

// truncate keeps the first n characters of s.
func truncate(s string, n int) string {
	count := 0
	for i := range s {
		if count == n {
			return s[:i]
		}
		count++
	}
	return s
}

// Reassemble joins the text chunks of one statement, ordered by sequence, as read from STL
// (character(200), blank-padded), and removes the blanks at the end of the whole. Every chunk but
// the last is full, so its trailing blanks are part of the statement and must not be trimmed
// chunk by chunk. The result is the logged statement without the blanks it may have ended with:
// those cannot be told from padding.
func Reassemble(chunks []string) string {
	return strings.TrimRight(strings.Join(chunks, ""), " ")
}
