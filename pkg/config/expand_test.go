package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func envOf(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

func TestExpansionFollowsGrafanaRules(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(secretFile, []byte("  from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	x := newExpander(envOf(map[string]string{
		"HOST": "db.example.com", "PORT": "5439", "EMPTY": "", "DOLLAR": "Pa$sw0rd",
	}))
	cases := map[string]string{
		"plain":                       "plain",
		"$HOST":                       "db.example.com",
		"${HOST}":                     "db.example.com",
		"$__env{HOST}":                "db.example.com",
		"$__file{" + secretFile + "}": "from-file",
		"${HOST}:$PORT/x":             "db.example.com:5439/x",
		"$HOST.internal":              "db.example.com.internal",
		"pre${PORT}post":              "pre5439post",
		"[$EMPTY]":                    "[]",
		"cost $$5":                    "cost $5",
		"$${HOST}":                    "${HOST}",
		"$$HOST":                      "$HOST",
		"a$$$HOST":                    "a$db.example.com",
		"trailing $":                  "trailing $",
		"$ alone":                     "$ alone",
		// $NAME inserts its value once: a '$' inside it stays, as in Grafana.
		"$DOLLAR": "Pa$sw0rd",
	}
	for in, want := range cases {
		got, probs := x.expand(in)
		if len(probs) > 0 || got != want {
			t.Errorf("expand(%q) = %q, %v; want %q", in, got, probs, want)
		}
	}
}

func TestExpansionRefusesWhatGrafanaWouldSilentlyMangle(t *testing.T) {
	x := newExpander(envOf(map[string]string{"DOLLAR": "Pa$sw0rd"}))
	cases := map[string]string{
		"$MISSING":            "environment variable MISSING is not set",
		"${MISSING}":          "environment variable MISSING is not set",
		"$__env{MISSING}":     "environment variable MISSING is not set",
		"Pa$sword":            "environment variable sword is not set (write $$ for a literal $)",
		"${DOLLAR}":           "the value of ${DOLLAR} contains $, which Grafana expands a second time; reference the variable as $DOLLAR",
		"${UNCLOSED":          "unterminated ${",
		"${}":                 "empty ${}",
		"$__vault{kv:x}":      "$__vault{…} is not supported",
		"$__file{/no/such/f}": "$__file{/no/such/f}: open /no/such/f",
	}
	for in, want := range cases {
		_, probs := x.expand(in)
		if !strings.Contains(strings.Join(probs, "; "), want) {
			t.Errorf("expand(%q) problems %q, want %q", in, probs, want)
		}
	}
	if _, probs := x.expand("${DOLLAR}"); strings.Contains(strings.Join(probs, ""), "sw0rd") {
		t.Errorf("a problem shows part of a variable's value: %q", probs)
	}
	if _, probs := x.expand("$A and ${B}"); len(probs) != 2 {
		t.Errorf("want both missing variables reported, got %q", probs)
	}
}
