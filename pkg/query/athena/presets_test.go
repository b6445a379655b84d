package athena_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/stlarchive/redshift-stl-archive/pkg/internal/awsfake"
	"github.com/stlarchive/redshift-stl-archive/pkg/query"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/athena"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/macro"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/presets"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenEnv is the dashboard of every golden expansion: a range across midnight UTC, a panel
// interval that is no unit of date_trunc, and two clusters, one with a quote in its name.
var goldenEnv = macro.Env{
	From:     time.Date(2026, 11, 1, 21, 15, 30, 123e6, time.UTC),
	To:       time.Date(2026, 11, 2, 9, 59, 59, 999e6, time.UTC),
	Interval: 5 * time.Minute,
	Clusters: []string{"prod-east", "o'brien"},
}

// duckdbOnly are spellings that DuckDB takes and Trino does not: in a preset's athena SQL they
// are a DuckDB query pasted into the wrong dialect. They are matched outside string literals.
var duckdbOnly = []struct {
	re   *regexp.Regexp
	says string
}{
	{regexp.MustCompile(`::`), ":: cast (Trino: CAST(x AS type))"},
	{regexp.MustCompile(`(?i)\bepoch_ms\s*\(`), "epoch_ms (Trino: to_unixtime / from_unixtime)"},
	{regexp.MustCompile(`(?i)\bepoch\s*\(`), "epoch (Trino: to_unixtime)"},
	{regexp.MustCompile(`(?i)\btime_bucket\s*\(`), "time_bucket (Trino: date_trunc or from_unixtime arithmetic)"},
	{regexp.MustCompile(`(?i)\bstrftime\s*\(`), "strftime (Trino: format_datetime / date_format)"},
	{regexp.MustCompile(`(?i)\bstrptime\s*\(`), "strptime (Trino: date_parse)"},
	{regexp.MustCompile(`(?i)\bstring_agg\s*\(`), "string_agg (Trino: array_join(array_agg(…), …) or listagg)"},
	{regexp.MustCompile(`(?i)\bstring_split\s*\(`), "string_split (Trino: split)"},
	{regexp.MustCompile(`(?i)\bquantile_cont\s*\(`), "quantile_cont (Trino: approx_percentile)"},
	{regexp.MustCompile(`(?i)\bquantile_disc\s*\(`), "quantile_disc (Trino: approx_percentile)"},
	{regexp.MustCompile(`(?i)\bmedian\s*\(`), "median (Trino: approx_percentile(x, 0.5))"},
	{regexp.MustCompile(`(?i)\barg_(max|min)\s*\(`), "arg_max/arg_min (Trino: max_by/min_by)"},
	{regexp.MustCompile(`(?i)\blist_\w+\s*\(`), "list_* (Trino: array functions)"},
	{regexp.MustCompile(`(?i)\bregexp_matches\s*\(`), "regexp_matches (Trino: regexp_like)"},
	{regexp.MustCompile(`(?i)\bdate_part\s*\(`), "date_part (Trino: extract)"},
	{regexp.MustCompile(`(?i)\bread_parquet\s*\(`), "read_parquet (Athena reads Glue tables)"},
	{regexp.MustCompile(`(?i)\bilike\b`), "ILIKE (Trino: lower(x) LIKE …)"},
	{regexp.MustCompile(`(?i)\bunnest\s*\(\s*string_split`), "unnest(string_split(…)) (Trino: CROSS JOIN UNNEST(split(…)))"},
	{regexp.MustCompile(`(?i)\bINTERVAL\s*'\d+\s+[a-z]+'`), "INTERVAL '5 minutes' (Trino: INTERVAL '5' MINUTE)"},
	{regexp.MustCompile(`(?i)\bVARCHAR\s*\[\]`), "VARCHAR[] (Trino: array(varchar))"},
}

// rawOnly are literal arguments Trino refuses: its date_diff knows no microsecond unit.
var rawOnly = []struct{ text, says string }{
	{"'microsecond'", "date_diff unit microsecond (Trino's smallest is millisecond)"},
	{"'microseconds'", "date_diff unit microseconds (Trino's smallest is millisecond)"},
}

// literal matches a string literal or a quoted identifier.
var literal = regexp.MustCompile(`'(?:[^']|'')*'|"(?:[^"]|"")*"`)

// TestPresetsExpandToGoldenTrino keeps the athena SQL of every built-in preset, as it reaches
// Athena, in testdata/presets/<id>.sql: a change to a preset or to the athena macros shows up as
// a diff to review. There is no Trino here to run it; the checks below catch DuckDB spellings.
func TestPresetsExpandToGoldenTrino(t *testing.T) {
	catalog, err := presets.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	fake := awsfake.NewAthena(t)
	e := newEngine(t, fake, athena.Options{})
	seen := map[string]bool{}
	for _, p := range catalog.All() {
		if p.FromStatus() {
			continue
		}
		t.Run(p.ID, func(t *testing.T) {
			text, err := p.Query(string(macro.Athena))
			if err != nil {
				t.Fatalf("preset has no athena SQL: %v", err)
			}
			sql, err := macro.Expand(text, macro.Athena, goldenEnv)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(sql, "$__") {
				t.Errorf("a macro is left after expansion:\n%s", sql)
			}
			code := literal.ReplaceAllString(sql, "''")
			for _, d := range duckdbOnly {
				if loc := d.re.FindStringIndex(code); loc != nil {
					t.Errorf("DuckDB-only %s at %q", d.says, code[loc[0]:loc[1]])
				}
			}
			for _, r := range rawOnly {
				if strings.Contains(strings.ToLower(sql), r.text) {
					t.Errorf("DuckDB-only %s", r.says)
				}
			}
			// The engine passes the preset to Athena as it is, trailing blanks aside.
			sent := strings.TrimRight(sql, " \t\r\n")
			fake.On(sent, awsfake.AthenaScript{})
			if _, err := e.QueryLimit(context.Background(), sql, 0); err != nil {
				t.Errorf("the engine did not run the preset: %v", err)
			}
			path := filepath.Join("testdata", "presets", p.ID+".sql")
			seen[filepath.Base(path)] = true
			if *update {
				if err := os.WriteFile(path, []byte(sql), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if sql != string(want) {
				t.Errorf("expansion differs from %s (run with -update after checking):\n%s", path, sql)
			}
		})
	}
	// A golden file of a preset that is gone would go on looking like coverage.
	files, err := filepath.Glob(filepath.Join("testdata", "presets", "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !seen[filepath.Base(f)] {
			if *update {
				_ = os.Remove(f)
				continue
			}
			t.Errorf("%s belongs to no built-in preset", f)
		}
	}
}

func TestPresetRunsOnAthenaIntoALabelledTimeSeries(t *testing.T) {
	catalog, err := presets.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	fake := awsfake.NewAthena(t)
	e := newEngine(t, fake, athena.Options{})
	svc := &query.Service{Engine: e, Dialect: macro.Athena, Presets: catalog}
	from, to := goldenEnv.From, goldenEnv.To
	p, _ := catalog.Lookup("query_volume")
	text, err := p.Query(string(macro.Athena))
	if err != nil {
		t.Fatal(err)
	}
	sql, err := svc.Expand(text, from, to, goldenEnv.Interval, []string{"prod-east", "prod-west"})
	if err != nil {
		t.Fatal(err)
	}
	fake.On(strings.TrimRight(sql, "\n"), awsfake.AthenaScript{
		States: []string{"QUEUED", "RUNNING", "SUCCEEDED"},
		Columns: []awsfake.AthenaColumn{
			{Name: "time", Type: "timestamp with time zone"}, {Name: "cluster", Type: "varchar"}, {Name: "queries", Type: "bigint"},
		},
		Rows: [][]*string{
			{ptr("2026-11-01 21:15:00.000 UTC"), ptr("prod-east"), ptr("3")},
			{ptr("2026-11-01 21:15:00.000 UTC"), ptr("prod-west"), ptr("5")},
			{ptr("2026-11-01 21:20:00.000 UTC"), ptr("prod-east"), ptr("7")},
		},
	})
	ans, err := svc.Run(context.Background(), query.Request{
		Model: query.Model{RefID: "A", QueryType: query.TypeDiagnostics, Preset: "query_volume", Clusters: []string{"prod-east", "prod-west"}},
		From:  from, To: to, Interval: goldenEnv.Interval,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ans.Frames) != 1 {
		t.Fatalf("%d frames, want 1", len(ans.Frames))
	}
	f := ans.Frames[0]
	if f.TimeSeriesSchema().Type != data.TimeSeriesTypeWide {
		t.Fatalf("frame is not a wide time series: %d fields", len(f.Fields))
	}
	if f.Rows() != 2 {
		t.Errorf("%d time points, want 2", f.Rows())
	}
	got := map[string]float64{}
	for _, fld := range f.Fields[1:] {
		for i := range fld.Len() {
			v, ok := fld.ConcreteAt(i)
			if !ok {
				continue
			}
			n, _ := v.(int64)
			got[fld.Labels["cluster"]+" "+f.Fields[0].At(i).(time.Time).Format("15:04")] = float64(n)
		}
	}
	want := map[string]float64{"prod-east 21:15": 3, "prod-west 21:15": 5, "prod-east 21:20": 7}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
	if ex := fake.Executions(); len(ex) != 1 || !strings.Contains(ex[0].Query, "cluster IN ('prod-east', 'prod-west')") {
		t.Errorf("executions %+v: want one query filtered to the two clusters", ex)
	}
}
