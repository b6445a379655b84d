package sim

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestChunkCutsByCharactersNotBytes(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []int // characters per chunk
	}{
		{"empty statement still has chunk 0", "", []int{0}},
		{"ascii", strings.Repeat("a", 450), []int{200, 200, 50}},
		{"exactly one chunk", strings.Repeat("b", 200), []int{200}},
		{"two-byte characters", strings.Repeat("é", 201), []int{200, 1}},
		{"three-byte characters", strings.Repeat("日", 400), []int{200, 200}},
		{"four-byte emoji", strings.Repeat("🚀", 199) + "xy", []int{200, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := chunk(tt.text, chunkSize)
			var sizes []int
			for _, c := range got {
				if !utf8.ValidString(c) {
					t.Fatalf("chunk %q is not valid UTF-8", c)
				}
				sizes = append(sizes, utf8.RuneCountInString(c))
			}
			if !reflect.DeepEqual(sizes, tt.want) {
				t.Fatalf("chunk sizes %v, want %v", sizes, tt.want)
			}
			if strings.Join(got, "") != tt.text {
				t.Fatal("chunks do not join to the text")
			}
		})
	}
}

// pad blank-pads like character(200) does.
func pad(s string) string {
	return s + strings.Repeat(" ", chunkSize-utf8.RuneCountInString(s))
}

func TestReassembleKeepsBlanksOfInnerChunks(t *testing.T) {
	tests := []struct {
		name string
		text string
	}{
		{"blank run across a boundary", strings.Repeat("x", 195) + "          " + "FROM sales"},
		{"whole chunk of blanks", "SELECT" + strings.Repeat(" ", 194) + strings.Repeat(" ", 200) + "1"},
		{"exactly two chunks", strings.Repeat("ü", 400)},
		{"short", "SELECT 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var padded []string
			for _, c := range chunk(tt.text, chunkSize) {
				padded = append(padded, pad(c))
			}
			if got := Reassemble(padded); got != tt.text {
				t.Fatalf("Reassemble = %q, want %q", got, tt.text)
			}
		})
	}
}

func TestReassembleLosesOnlyTrailingBlanksOfTheStatement(t *testing.T) {
	for _, text := range []string{
		strings.Repeat("y", 250) + "   ",
		strings.Repeat("z", 198) + "     ", // the final blanks start in the chunk before the last
	} {
		var padded []string
		for _, c := range chunk(text, chunkSize) {
			padded = append(padded, pad(c))
		}
		if got := Reassemble(padded); got != strings.TrimRight(text, " ") {
			t.Errorf("Reassemble = %q, want %q", got, strings.TrimRight(text, " "))
		}
	}
}

func TestUnescapeUndoesEscape(t *testing.T) {
	tests := []struct{ issued, logged string }{
		{"SELECT 1", "SELECT 1"},
		{"SELECT 1\nFROM t", `SELECT 1\nFROM t`},
		{`WHERE p = 'C:\\x'`, `WHERE p = 'C:\\\\x'`},
		{`WHERE s = 'a\nb'`, `WHERE s = 'a\\nb'`},
		{"tab\there 'it''s' 日本語 🚀\n", "tab\there 'it''s' 日本語 🚀\\n"},
	}
	for _, tt := range tests {
		if got := escape(tt.issued); got != tt.logged {
			t.Errorf("escape(%q) = %q, want %q", tt.issued, got, tt.logged)
		}
		if got := Unescape(tt.logged); got != tt.issued {
			t.Errorf("Unescape(%q) = %q, want %q", tt.logged, got, tt.issued)
		}
	}
}

func TestSpecialTextsHitChunkEdges(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{199, 200, 201, 400, 600} {
		got := fitLength(r, `SELECT 'Zürich'\nFROM t`, n)
		if c := utf8.RuneCountInString(got); c != n {
			t.Errorf("fitLength to %d gave %d characters", n, c)
		}
		if strings.HasSuffix(got, " ") {
			t.Errorf("fitLength to %d ends in a blank", n)
		}
	}
	for i := 0; i < 50; i++ {
		base := strings.Repeat(`SELECT a, b\nFROM "日本" `, 1+r.IntN(40))
		got := []rune(blanksAcrossBoundary(r, base, 3))
		found := false
		for b := chunkSize; b < len(got); b += chunkSize {
			if got[b-1] == ' ' && got[b] == ' ' {
				found = true
			}
		}
		if !found {
			t.Fatalf("no blank run across a chunk boundary in %q", string(got))
		}
		if strings.Count(string(got), `\`) != strings.Count(base, `\`) || !strings.Contains(strings.ReplaceAll(string(got), " ", ""), strings.ReplaceAll(base, " ", "")) {
			t.Fatalf("inserting blanks changed the text: %q", string(got))
		}
	}
}
