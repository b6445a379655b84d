package query_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/query"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/presets"
)

func TestModelsGetTheDefaultsOfAPanelAndOfAnAlertRule(t *testing.T) {
	catalog, err := presets.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		json     string
		qt       string // Grafana's query type beside the JSON
		wantType string
		preset   string
		format   string
		clusters []string
	}{
		{"nothing set is query volume", `{"refId":"A"}`, "", "diagnostics", "query_volume", "time_series", nil},
		{"a preset alone is a diagnostic", `{"preset":"top_queries"}`, "", "diagnostics", "top_queries", "table", nil},
		{"SQL alone is SQL as a table", `{"rawSql":"SELECT 1"}`, "", "sql", "", "table", nil},
		{"query type beside the JSON", `{"rawSql":"SELECT 1"}`, "sql", "sql", "", "table", nil},
		{"format of the model wins", `{"preset":"query_volume","format":"table"}`, "", "diagnostics", "query_volume", "table", nil},
		{"unsubstituted variable is all clusters", `{"clusters":["$cluster"]}`, "", "diagnostics", "query_volume", "time_series", nil},
		{"braced variable is all clusters", `{"clusters":["${cluster:csv}"]}`, "", "diagnostics", "query_volume", "time_series", nil},
		{"All is all clusters", `{"clusters":["$__all"]}`, "", "diagnostics", "query_volume", "time_series", nil},
		{"empty list is all clusters", `{"clusters":[]}`, "", "diagnostics", "query_volume", "time_series", nil},
		{"clusters kept", `{"clusters":["east"," west-2 ",""]}`, "", "diagnostics", "query_volume", "time_series", []string{"east", "west-2"}},
		{"multi-value variable formats", `{"clusters":["{east,west-2}","c3, c4"]}`, "", "diagnostics", "query_volume", "time_series", []string{"east", "west-2", "c3", "c4"}},
		{"status is a table", `{"queryType":"status"}`, "", "status", "", "table", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := query.ParseModel([]byte(tc.json), tc.qt)
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := query.Normalize(m, catalog)
			if err != nil {
				t.Fatal(err)
			}
			if got.QueryType != tc.wantType || got.Preset != tc.preset || got.Format != tc.format || !slices.Equal(got.Clusters, tc.clusters) {
				t.Errorf("got type %q preset %q format %q clusters %q", got.QueryType, got.Preset, got.Format, got.Clusters)
			}
		})
	}
}

func TestBadModelsAreTheAuthorsFault(t *testing.T) {
	catalog, err := presets.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, js := range []string{
		`{"preset":"nope"}`,
		`{"queryType":"sql"}`,
		`{"queryType":"shell","rawSql":"SELECT 1"}`,
		`{"format":"graph"}`,
		`{"clusters":["East"]}`,
		`{"clusters":["a'b"]}`,
		`{"limit":-1}`,
	} {
		m, err := query.ParseModel([]byte(js), "")
		if err == nil {
			_, _, err = query.Normalize(m, catalog)
		}
		if !errors.Is(err, query.ErrBadQuery) || !query.IsUserError(err) {
			t.Errorf("%s: %v, want a bad query", js, err)
		}
	}
	if _, err := query.ParseModel([]byte(`{"clusters":"east"`), ""); !errors.Is(err, query.ErrBadQuery) {
		t.Errorf("malformed JSON: %v", err)
	}
}

func TestAutoIntervalGivesAFewHundredReadablePoints(t *testing.T) {
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		span time.Duration
		want time.Duration
	}{
		{time.Hour, 30 * time.Second},
		{24 * time.Hour, 5 * time.Minute},
		{30 * 24 * time.Hour, 3 * time.Hour},
		{5 * 365 * 24 * time.Hour, 7 * 24 * time.Hour},
	} {
		if got := query.AutoInterval(now.Add(-tc.span), now); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.span, got, tc.want)
		}
	}
}
