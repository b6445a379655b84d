package macro

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var env = Env{
	From:     time.Date(2026, 11, 1, 22, 15, 30, 123456000, time.FixedZone("CET", 3600)),
	To:       time.Date(2026, 11, 2, 9, 59, 59, 999999000, time.UTC),
	Interval: 5 * time.Minute,
	Clusters: []string{"prod-1", "o'brien"},
}

// goldenCases are expanded in both dialects; the output of each dialect is one golden file.
var goldenCases = []struct {
	name string
	sql  string
	env  func(Env) Env
}{
	{"time filter", "SELECT * FROM stl_query WHERE $__timeFilter(endtime)", nil},
	{"qualified and quoted column", `SELECT * FROM stl_query q WHERE $__timeFilter(q."endtime") AND $__timeFilter(main.q.starttime)`, nil},
	{"time from and to", "SELECT $__timeFrom() AS f, $__timeTo() AS t, $__timeFrom AS f2", nil},
	{"time group explicit", "SELECT $__timeGroup(endtime, '5m') AS time, count(*) FROM stl_query GROUP BY 1", nil},
	{"time group units", "SELECT $__timeGroup(endtime, '1h'), $__timeGroup(endtime, 1d), $__timeGroup(endtime, '30s'), $__timeGroup(endtime, '250ms'), $__timeGroup(endtime, '1w')", nil},
	{"time group panel interval", "SELECT $__timeGroup(endtime), $__timeGroup(endtime, $__interval), $__timeGroup(endtime, '$__interval') FROM stl_query", nil},
	{"day filter", "SELECT * FROM stl_query WHERE $__dayFilter AND $__dayFilter() AND $__dayFilter(q.day)", nil},
	{"cluster filter", "SELECT * FROM stl_query q WHERE $__clusterFilter AND $__clusterFilter(q.cluster)", nil},
	{"cluster filter all", "SELECT * FROM stl_query WHERE $__clusterFilter", func(e Env) Env { e.Clusters = nil; return e }},
	{"cluster filter none", "SELECT * FROM stl_query WHERE $__clusterFilter()", func(e Env) Env { e.Clusters = []string{}; return e }},
	{"interval variables", "SELECT '$__interval' AS quoted, $__interval AS iv, $__interval_ms AS ms", nil},
	{"sub-second interval variable", "SELECT $__interval AS iv", func(e Env) Env { e.Interval = 1500 * time.Millisecond; return e }},
	{"macros in strings and comments stay", "SELECT '$__timeFilter(x)', \"$__nope\" -- $__unknown(\n/* $__unknown */ FROM stl_query", nil},
	{"macros in escaped and dollar-quoted strings stay", "SELECT E'it\\'s $__nope', $$ $__nope $$, $q$ $__nope $q$, $1 WHERE $__clusterFilter", nil},
	{"dashboard query", `SELECT $__timeGroup(q.endtime, '1h') AS time, q.cluster, count(*) AS queries
FROM stl_query q
WHERE $__dayFilter(q.day) AND $__timeFilter(q.endtime) AND $__clusterFilter(q.cluster)
GROUP BY 1, 2 ORDER BY 1`, nil},
}

func TestExpandMatchesGoldenFiles(t *testing.T) {
	for _, d := range []Dialect{DuckDB, Athena} {
		var b strings.Builder
		for _, tc := range goldenCases {
			e := env
			if tc.env != nil {
				e = tc.env(e)
			}
			out, err := Expand(tc.sql, d, e)
			if err != nil {
				t.Fatalf("%s %s: %v", d, tc.name, err)
			}
			fmt.Fprintf(&b, "-- %s\n%s\n\n", tc.name, out)
		}
		path := filepath.Join("testdata", string(d)+".golden")
		if *update {
			if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if got := b.String(); got != string(want) {
			t.Errorf("%s expansion differs from %s (run with -update after checking):\n%s", d, path, got)
		}
	}
}

func TestExpandRefusesInjectionAndMistakes(t *testing.T) {
	for _, tc := range []struct {
		name string
		sql  string
		env  func(Env) Env
		says string
	}{
		{"unknown macro", "SELECT $__timeFilterx(endtime)", nil, "$__timeFilterx"},
		{"unknown macro without parens", "SELECT $__table", nil, "$__table"},
		{"bare prefix", "SELECT $__", nil, "missing macro name"},
		{"argument that closes the macro early", "SELECT * FROM t WHERE $__timeFilter((x); DROP TABLE t)", nil, "not a column reference"},
		{"expression argument", "SELECT $__timeFilter(x OR 1=1)", nil, "not a column reference"},
		{"function argument", "SELECT $__timeFilter(now())", nil, "not a column reference"},
		{"string argument", "SELECT $__timeFilter('x')", nil, "not a column reference"},
		{"comment in argument", "SELECT $__timeFilter(x --\n)", nil, "not a column reference"},
		{"quote breaking out of identifier", `SELECT $__clusterFilter("a"" OR 1=1 --")`, nil, ""},
		{"unbalanced quoted identifier", `SELECT $__clusterFilter("a)`, nil, "closing parenthesis"},
		{"empty argument", "SELECT $__timeFilter()", nil, "one column"},
		{"two columns", "SELECT $__timeFilter(a, b)", nil, "one column"},
		{"unclosed", "SELECT $__timeFilter(a", nil, "closing parenthesis"},
		{"bad interval", "SELECT $__timeGroup(a, '5 minutes')", nil, "not a number with a unit"},
		{"interval injection", "SELECT $__timeGroup(a, '5m'') OR 1=1 --')", nil, "not a number with a unit"},
		{"zero interval", "SELECT $__timeGroup(a, '0s')", nil, "out of range"},
		{"no interval at all", "SELECT $__timeGroup(a)", func(e Env) Env { e.Interval = 0; return e }, "no interval"},
		{"arguments to time from", "SELECT $__timeFrom(x)", nil, "no arguments"},
		{"cluster with a NUL", "SELECT $__clusterFilter", func(e Env) Env { e.Clusters = []string{"a\x00b"}; return e }, "control characters"},
		{"cluster with a newline", "SELECT $__clusterFilter", func(e Env) Env { e.Clusters = []string{"a\n--"}; return e }, "control characters"},
	} {
		e := env
		if tc.env != nil {
			e = tc.env(e)
		}
		out, err := Expand(tc.sql, DuckDB, e)
		var me *Error
		if tc.says == "" {
			// Not an error: but the quoted identifier stays one identifier.
			if err != nil || out != `SELECT "a"" OR 1=1 --" IN ('prod-1', 'o''brien')` {
				t.Errorf("%s: %q, %v", tc.name, out, err)
			}
			continue
		}
		if !errors.As(err, &me) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: want an error saying %q, got %q, %v", tc.name, tc.says, out, err)
		}
	}
}

func TestClusterValuesAreQuotedNeverSpliced(t *testing.T) {
	e := env
	e.Clusters = []string{"a') OR 1=1 --", `b\'`, "c"}
	for _, d := range []Dialect{DuckDB, Athena} {
		out, err := Expand("SELECT * FROM stl_query WHERE $__clusterFilter", d, e)
		if err != nil {
			t.Fatal(err)
		}
		want := `SELECT * FROM stl_query WHERE cluster IN ('a'') OR 1=1 --', 'b\''', 'c')`
		if out != want {
			t.Errorf("%s: %s", d, out)
		}
	}
}

func TestUnknownDialectIsAnError(t *testing.T) {
	if _, err := Expand("SELECT 1", "postgres", env); err == nil {
		t.Fatal("no error")
	}
}
