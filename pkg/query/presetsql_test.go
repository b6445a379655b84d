package query_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/query"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/macro"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/presets"
)

// The SQL shown for a preset is the configured engine's: Athena's dialect for an Athena
// datasource, DuckDB's otherwise.
func TestPresetSQLFollowsTheEngineDialect(t *testing.T) {
	catalog, err := presets.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, d := range []macro.Dialect{macro.DuckDB, macro.Athena} {
		svc := &query.Service{Presets: catalog, Dialect: d}
		got, err := svc.PresetSQL("query_duration", from, from.Add(time.Hour), time.Minute, []string{"east"})
		if err != nil {
			t.Fatal(err)
		}
		p, _ := catalog.Lookup("query_duration")
		want, _ := p.Query(string(d))
		if got.Dialect != string(d) || got.SQL != want || got.Format != "time_series" {
			t.Errorf("%s: %+v", d, got)
		}
		// quantile_cont is DuckDB's, approx_percentile Trino's.
		if (d == macro.Athena) != strings.Contains(got.Expanded, "approx_percentile") {
			t.Errorf("%s: expanded in the wrong dialect: %s", d, got.Expanded)
		}
	}
}
