package plugin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/stlarchive/redshift-stl-archive/pkg/query"
)

func callResource(t *testing.T, d interface {
	CallResource(context.Context, *backend.CallResourceRequest, backend.CallResourceResponseSender) error
}, path string, params url.Values) (int, []byte) {
	t.Helper()
	var c captured
	u := path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	if err := d.CallResource(context.Background(), &backend.CallResourceRequest{Path: path, URL: u, Method: "GET"}, &c); err != nil {
		t.Fatal(err)
	}
	return c.resp.Status, c.resp.Body
}

// The query editor shows the SQL a preset runs: the preset-sql resource gives it with its macros
// and expanded, and the expansion is exactly the SQL QueryData then runs for the same range,
// interval and clusters.
func TestPresetSQLIsTheSQLThatRuns(t *testing.T) {
	d := instance(t, t.TempDir(), nil)
	from := time.Date(2026, 11, 1, 22, 0, 0, 0, time.UTC)
	to := from.Add(4 * time.Hour)
	for _, preset := range []string{"query_volume", "top_queries", "wlm_queue_wait", "alert_annotations"} {
		params := url.Values{"preset": {preset}, "from": {fmt.Sprint(from.UnixMilli())}, "to": {fmt.Sprint(to.UnixMilli())},
			"interval": {"60000"}, "cluster": {"east", "west"}}
		status, body := callResource(t, d, "preset-sql", params)
		if status != 200 {
			t.Fatalf("%s: status %d: %s", preset, status, body)
		}
		var got query.PresetSQL
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		if got.Preset != preset || got.Dialect != "duckdb" || !strings.Contains(got.SQL, "$__timeFilter") || strings.Contains(got.Expanded, "$__") {
			t.Errorf("%s: %+v", preset, got)
		}
		if !strings.Contains(got.Expanded, "'east'") || !strings.Contains(got.Expanded, "2026-11-01") || !strings.Contains(got.Expanded, "2026-11-02") {
			t.Errorf("%s: expansion does not name the clusters and both days: %s", preset, got.Expanded)
		}
		resp := run(t, context.Background(), d, nil, dataQuery("A", map[string]any{"queryType": "diagnostics", "preset": preset, "clusters": []string{"east", "west"}}, from, to))
		r := resp.Responses["A"]
		if r.Error != nil || len(r.Frames) == 0 || r.Frames[0].Meta == nil {
			t.Fatalf("%s: %v", preset, r.Error)
		}
		if ran := r.Frames[0].Meta.ExecutedQueryString; ran != got.Expanded {
			t.Errorf("%s: shown\n%s\nran\n%s", preset, got.Expanded, ran)
		}
	}
	for _, c := range []struct {
		name   string
		params url.Values
		status int
		says   string
	}{
		{"unknown preset", url.Values{"preset": {"nope"}}, 400, "no preset"},
		{"no preset", nil, 400, "no preset"},
		{"status preset", url.Values{"preset": {"export_health"}}, 400, "export state"},
		{"bad cluster", url.Values{"preset": {"query_volume"}, "cluster": {"x' OR 1=1"}}, 400, "not a cluster name"},
		{"bad time", url.Values{"preset": {"query_volume"}, "from": {"yesterday"}}, 400, "from"},
		{"inverted range", url.Values{"preset": {"query_volume"}, "from": {"2000"}, "to": {"1000"}}, 400, "before"},
		{"all clusters", url.Values{"preset": {"query_volume"}, "cluster": {"$__all"}}, 200, "\"expanded\""},
	} {
		status, body := callResource(t, d, "preset-sql", c.params)
		if status != c.status || !strings.Contains(string(body), c.says) {
			t.Errorf("%s: status %d %s, want %d and %q", c.name, status, body, c.status, c.says)
		}
	}
}
