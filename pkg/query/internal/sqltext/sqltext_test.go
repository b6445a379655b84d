package sqltext

import "testing"

func TestSkipQuotedEndsAfterTheClosingQuote(t *testing.T) {
	cases := []struct {
		s    string
		i    int
		want int
	}{
		{"'abc' x", 0, 5},
		{"'it''s' x", 0, 7},
		{`"col""x" y`, 0, 8},
		{"x 'unclosed", 2, 11},
		{"'a;b'; c", 0, 5},
	}
	for _, c := range cases {
		if got := SkipQuoted(c.s, c.i); got != c.want {
			t.Errorf("SkipQuoted(%q, %d) = %d, want %d", c.s, c.i, got, c.want)
		}
	}
}

func TestSkipCommentEndsAfterTheComment(t *testing.T) {
	cases := []struct {
		s    string
		i    int
		want int
	}{
		{"-- a;b\nSELECT", 0, 7},
		{"/* a;b */SELECT", 0, 9},
		{"-- to the end", 0, 13},
		{"/* unclosed", 0, 11},
		{"SELECT 1", 0, 0},
		{"- 1", 0, 0},
	}
	for _, c := range cases {
		if got := SkipComment(c.s, c.i); got != c.want {
			t.Errorf("SkipComment(%q, %d) = %d, want %d", c.s, c.i, got, c.want)
		}
	}
}
