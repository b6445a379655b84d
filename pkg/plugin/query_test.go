package plugin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/simtest"
	"github.com/stlarchive/redshift-stl-archive/pkg/plugin"
)

// filledArchive is an archive the real exporter filled from two simulated clusters.
type filledArchive struct {
	root     string
	clusters []*simtest.Cluster
}

func fillArchive(t *testing.T) filledArchive {
	t.Helper()
	root := t.TempDir()
	a, b := simtest.New(t, "east", 1), simtest.New(t, "west", 1)
	var last time.Time
	for _, c := range []*simtest.Cluster{a, b} {
		last = c.History(t, 30*time.Minute)
	}
	cfg := config.Defaults()
	cfg.Archive.Path, cfg.State.Path = root, filepath.Join(root, ".state", "export.db")
	cfg.Export.Lag, cfg.Export.QueryGroup = simtest.Lag, simtest.QueryGroup
	cfg.Clusters = []config.Cluster{a.Cfg, b.Cfg}
	exp, err := export.Open(cfg, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	simtest.WaitPastLag(t, a, last)
	simtest.WaitPastLag(t, b, last)
	for _, r := range exp.Cycle(context.Background()) {
		if err := r.Failed(); err != nil {
			t.Fatal(err)
		}
	}
	exp.Close()
	return filledArchive{root: root, clusters: []*simtest.Cluster{a, b}}
}

// instance opens the datasource as Grafana would, with export off (tests export themselves).
func instance(t *testing.T, root string, query map[string]any, clusters ...*simtest.Cluster) *plugin.Datasource {
	t.Helper()
	js := map[string]any{"archive": map[string]any{"path": root}, "export": map[string]any{"enabled": false}}
	if query != nil {
		js["query"] = query
	}
	secure := map[string]string{}
	var list []map[string]any
	for _, c := range clusters {
		list = append(list, map[string]any{"name": c.Cfg.Name, "host": c.Cfg.Host, "port": c.Cfg.Port,
			"database": c.Cfg.Database, "user": c.Cfg.User, "sslMode": "disable"})
		secure["password."+c.Cfg.Name] = c.Cfg.Password.Reveal()
	}
	if list != nil {
		js["clusters"] = list
	}
	raw, err := json.Marshal(js)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := plugin.NewDatasource(context.Background(), backend.DataSourceInstanceSettings{UID: "stlarchive", JSONData: raw, DecryptedSecureJSONData: secure})
	if err != nil {
		t.Fatal(err)
	}
	d := inst.(*plugin.Datasource)
	t.Cleanup(d.Dispose)
	return d
}

func dataQuery(refID string, model map[string]any, from, to time.Time) backend.DataQuery {
	model["refId"] = refID
	raw, _ := json.Marshal(model)
	return backend.DataQuery{RefID: refID, JSON: raw, TimeRange: backend.TimeRange{From: from, To: to}, Interval: time.Minute, MaxDataPoints: 1000}
}

func run(t *testing.T, ctx context.Context, d *plugin.Datasource, headers map[string]string, qs ...backend.DataQuery) *backend.QueryDataResponse {
	t.Helper()
	resp, err := d.QueryData(ctx, &backend.QueryDataRequest{Queries: qs, Headers: headers})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestQueryDataOverAnExportedArchive runs panel, alert, variable and annotation queries over an
// archive of two simulated clusters.
func TestQueryDataOverAnExportedArchive(t *testing.T) {
	arch := fillArchive(t)
	d := instance(t, arch.root, nil, arch.clusters...)
	ctx := context.Background()
	to := time.Now().UTC()
	from := to.Add(-time.Hour)

	t.Run("TimeSeriesAreWideWithNumericFieldsLabelledByCluster", func(t *testing.T) {
		resp := run(t, ctx, d, nil, dataQuery("A", map[string]any{"queryType": "diagnostics", "preset": "query_volume", "clusters": []string{}}, from, to))
		assertAlertable(t, resp.Responses["A"], []string{"east", "west"})
		fr := resp.Responses["A"].Frames[0]
		if sql := fr.Meta.ExecutedQueryString; !strings.Contains(sql, "FROM stl_query") || strings.Contains(sql, "$__") {
			t.Errorf("executed SQL missing or unexpanded: %q", sql)
		}
	})

	t.Run("AlertRequestWithoutVariablesGetsTheDefaults", func(t *testing.T) {
		// As an alert rule stores it: no query type, an unsubstituted cluster variable.
		q := dataQuery("A", map[string]any{"clusters": []string{"$cluster"}}, from, to)
		q.Interval = 0
		resp := run(t, ctx, d, map[string]string{"FromAlert": "true"}, q)
		assertAlertable(t, resp.Responses["A"], []string{"east", "west"})
		if !strings.Contains(resp.Responses["A"].Frames[0].Meta.ExecutedQueryString, "count(*) AS queries") {
			t.Errorf("an empty model did not run query_volume: %s", resp.Responses["A"].Frames[0].Meta.ExecutedQueryString)
		}
		// A preset without a query type is a diagnostic.
		resp = run(t, ctx, d, map[string]string{"FromAlert": "true"}, dataQuery("B", map[string]any{"preset": "alert_events"}, from, to))
		assertAlertable(t, resp.Responses["B"], []string{"east", "west"})
	})

	t.Run("OneClusterSelectedAnswersForItAlone", func(t *testing.T) {
		resp := run(t, ctx, d, nil, dataQuery("A", map[string]any{"preset": "query_volume", "clusters": []string{"west"}}, from, to))
		assertAlertable(t, resp.Responses["A"], []string{"west"})
	})

	t.Run("TruncationAddsAWarningNoticeAtGrafanasRowLimit", func(t *testing.T) {
		gctx := backend.WithGrafanaConfig(ctx, backend.NewGrafanaCfg(map[string]string{"GF_SQL_ROW_LIMIT": "7"}))
		resp := run(t, gctx, d, nil, dataQuery("A", map[string]any{"queryType": "sql", "rawSql": "SELECT cluster, query FROM stl_query WHERE $__timeFilter(endtime)", "format": "table"}, from, to))
		r := resp.Responses["A"]
		if r.Error != nil {
			t.Fatal(r.Error)
		}
		fr := r.Frames[0]
		if n, _ := fr.RowLen(); n != 7 {
			t.Errorf("%d rows, want Grafana's limit of 7", n)
		}
		if len(fr.Meta.Notices) != 1 || fr.Meta.Notices[0].Severity != data.NoticeSeverityWarning || !strings.Contains(fr.Meta.Notices[0].Text, "7 rows") {
			t.Errorf("no truncation warning: %+v", fr.Meta.Notices)
		}
	})

	t.Run("RefusedQueryFailsAloneAsDownstreamWhileTheOtherAnswers", func(t *testing.T) {
		resp := run(t, ctx, d, nil,
			dataQuery("bad", map[string]any{"queryType": "sql", "rawSql": "SELECT * FROM read_csv('/etc/passwd')"}, from, to),
			dataQuery("good", map[string]any{"queryType": "sql", "rawSql": "SELECT count(*) AS n FROM stl_query"}, from, to))
		bad, good := resp.Responses["bad"], resp.Responses["good"]
		if bad.Error == nil || bad.ErrorSource != backend.ErrorSourceDownstream || bad.Status != backend.StatusBadRequest {
			t.Errorf("refused query: error %v, source %q, status %d", bad.Error, bad.ErrorSource, bad.Status)
		}
		if good.Error != nil || len(good.Frames) != 1 {
			t.Fatalf("the other query failed too: %v", good.Error)
		}
		if n := *good.Frames[0].Fields[0].At(0).(*int64); n == 0 {
			t.Error("count over the archive is 0")
		}
	})

	t.Run("VariablesAndAnnotations", func(t *testing.T) {
		resp := run(t, ctx, d, nil,
			dataQuery("v", map[string]any{"preset": "var_clusters"}, from, to),
			dataQuery("a", map[string]any{"preset": "ddl_annotations"}, from, to),
			dataQuery("b", map[string]any{"preset": "alert_annotations"}, from, to))
		v := resp.Responses["v"]
		if v.Error != nil || len(v.Frames[0].Fields) != 1 {
			t.Fatalf("variable: %v %v", v.Error, v.Frames)
		}
		var names []string
		for i := range v.Frames[0].Fields[0].Len() {
			names = append(names, v.Frames[0].Fields[0].At(i).(string))
		}
		if strings.Join(names, ",") != "east,west" {
			t.Errorf("var_clusters = %v", names)
		}
		for _, ref := range []string{"a", "b"} {
			r := resp.Responses[ref]
			if r.Error != nil {
				t.Fatalf("%s: %v", ref, r.Error)
			}
			fr := r.Frames[0]
			for _, name := range []string{"time", "text", "tags"} {
				if _, i := fr.FieldByName(name); i < 0 {
					t.Errorf("annotation frame %s lacks %s: %v", ref, name, fr.Fields)
				}
			}
			if n, _ := fr.RowLen(); n == 0 {
				t.Errorf("annotation query %s returned nothing", ref)
			}
		}
	})

	t.Run("ResourcesForTheEditors", func(t *testing.T) {
		var clusters []string
		resource(t, d, "clusters", &clusters)
		if !slices.Equal(clusters, []string{"east", "west"}) {
			t.Errorf("clusters = %v", clusters)
		}
		var tables []struct {
			Name    string `json:"name"`
			Columns []struct{ Name, Type string }
		}
		resource(t, d, "tables", &tables)
		found := false
		for _, tb := range tables {
			if tb.Name == "stl_query" {
				for _, c := range tb.Columns {
					found = found || c.Name == "endtime" && c.Type == "TIMESTAMP"
				}
			}
		}
		if !found {
			t.Errorf("tables resource lacks stl_query.endtime TIMESTAMP: %+v", tables)
		}
		var presets []struct{ ID, Title, Description, Format string }
		resource(t, d, "presets", &presets)
		if len(presets) < 18 || presets[0].ID != "query_volume" || presets[0].Format != "time_series" || presets[0].Description == "" {
			t.Errorf("presets resource: %+v", presets)
		}
		var macros []struct{ Name, Args, Description string }
		resource(t, d, "macros", &macros)
		if len(macros) < 6 || macros[0].Name != "$__timeFilter" {
			t.Errorf("macros resource: %+v", macros)
		}
	})
}

// assertAlertable checks what Grafana alerting accepts: one wide frame, a time field, and only
// numeric fields, each labelled with a cluster.
func assertAlertable(t *testing.T, r backend.DataResponse, clusters []string) {
	t.Helper()
	if r.Error != nil {
		t.Fatalf("query failed: %v", r.Error)
	}
	if len(r.Frames) != 1 {
		t.Fatalf("%d frames", len(r.Frames))
	}
	fr := r.Frames[0]
	if fr.TimeSeriesSchema().Type != data.TimeSeriesTypeWide || fr.Meta == nil || fr.Meta.Type != data.FrameTypeTimeSeriesWide {
		t.Fatalf("not a wide time series: %s", fr.TimeSeriesSchema().Type)
	}
	if n, _ := fr.RowLen(); n == 0 {
		t.Fatal("no points")
	}
	seen := map[string]bool{}
	for _, f := range fr.Fields[1:] {
		if !f.Type().Numeric() {
			t.Errorf("field %s is %s, not numeric", f.Name, f.Type())
		}
		c := f.Labels["cluster"]
		if c == "" {
			t.Errorf("field %s has no cluster label: %v", f.Name, f.Labels)
		}
		seen[c] = true
	}
	var got []string
	for c := range seen {
		got = append(got, c)
	}
	sort.Strings(got)
	if !slices.Equal(got, clusters) {
		t.Errorf("series of clusters %v, want %v", got, clusters)
	}
}

type captured struct {
	mu   sync.Mutex
	resp *backend.CallResourceResponse
}

func (c *captured) Send(r *backend.CallResourceResponse) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.resp = r
	return nil
}

func resource(t *testing.T, d *plugin.Datasource, path string, v any) {
	t.Helper()
	var c captured
	if err := d.CallResource(context.Background(), &backend.CallResourceRequest{Path: path, Method: "GET"}, &c); err != nil {
		t.Fatal(err)
	}
	if c.resp.Status != 200 {
		t.Fatalf("%s: status %d: %s", path, c.resp.Status, c.resp.Body)
	}
	if err := json.Unmarshal(c.resp.Body, v); err != nil {
		t.Fatalf("%s: %v: %s", path, err, c.resp.Body)
	}
}

// TestHostileQueriesAreRefusedPerQueryAndWriteNothing sends each hostile query through
// QueryData, with the SQL, the clusters, macro arguments and preset ids as the vectors.
func TestHostileQueriesAreRefusedPerQueryAndWriteNothing(t *testing.T) {
	root := t.TempDir()
	d := instance(t, root, nil)
	outside := t.TempDir()
	target := filepath.Join(outside, "out.csv")
	before := tree(t, root)
	to := time.Now().UTC()
	from := to.Add(-time.Hour)
	sqlQ := func(s string) map[string]any { return map[string]any{"queryType": "sql", "rawSql": s} }
	cases := []struct {
		name  string
		model map[string]any
		says  string
	}{
		{"read_csv of passwd", sqlQ("SELECT * FROM read_csv('/etc/passwd')"), "read_csv"},
		{"read_text", sqlQ("SELECT * FROM read_text('/etc/hostname')"), "read_text"},
		{"glob outside the root", sqlQ("SELECT * FROM glob('" + root + "/../*')"), "glob"},
		{"parquet outside the root", sqlQ("SELECT * FROM read_parquet('" + outside + "/*.parquet')"), "read_parquet"},
		{"file path as a table", sqlQ("SELECT * FROM '/etc/passwd'"), "/etc/passwd"},
		{"copy to", sqlQ("COPY (SELECT 1) TO '" + target + "'"), "COPY"},
		{"copy from", sqlQ("COPY stl_query FROM '/etc/passwd'"), "COPY"},
		{"attach", sqlQ("ATTACH '" + filepath.Join(outside, "x.duckdb") + "' AS x"), "ATTACH"},
		{"install", sqlQ("INSTALL httpfs"), "INSTALL"},
		{"load", sqlQ("LOAD json"), "LOAD"},
		{"set", sqlQ("SET enable_external_access = true"), "SET"},
		{"pragma", sqlQ("PRAGMA enable_profiling"), "PRAGMA"},
		{"two statements", sqlQ("SELECT 1; SELECT 2"), "statement"},
		{"select then copy", sqlQ("SELECT 1; COPY (SELECT 1) TO '" + target + "'"), "statement"},
		{"create table", sqlQ("CREATE TABLE t AS SELECT 1"), "CREATE"},
		{"drop view", sqlQ("DROP VIEW stl_query"), "DROP"},
		{"insert", sqlQ("INSERT INTO stl_query SELECT * FROM stl_query"), "INSERT"},
		{"export database", sqlQ("EXPORT DATABASE '" + outside + "'"), "EXPORT"},
		{"settings table function", sqlQ("SELECT * FROM duckdb_settings()"), "duckdb_settings"},
		{"query table function", sqlQ("SELECT * FROM query('SELECT 1')"), "query"},
		{"read_csv in a subquery", sqlQ("SELECT * FROM stl_query WHERE query IN (SELECT 1 FROM read_csv('/etc/passwd'))"), "read_csv"},
		{"statement after a macro", sqlQ("SELECT * FROM stl_query WHERE $__timeFilter(endtime); COPY (SELECT 1) TO '" + target + "'"), "2 statements"},
		{"expression as a timeFilter argument", sqlQ("SELECT * FROM stl_query WHERE $__timeFilter(endtime >= now() OR 1=1)"), "not a column reference"},
		{"expression as a timeGroup argument", sqlQ("SELECT $__timeGroup(read_text('/etc/passwd')) FROM stl_query"), "not a column reference"},
		{"clusterFilter argument with SQL", sqlQ("SELECT * FROM stl_query WHERE $__clusterFilter(cluster IN ('a') OR 1=1)"), "not a column reference"},
		{"interval argument with SQL", sqlQ("SELECT $__timeGroup(endtime, '1m'' ; DROP VIEW stl_query') FROM stl_query"), "interval"},
		{"unknown macro", sqlQ("SELECT $__sneaky(1) FROM stl_query"), "unknown macro"},
		{"quote in a cluster", map[string]any{"preset": "query_volume", "clusters": []string{"east') OR 1=1 --"}}, "not a cluster name"},
		{"statement in a cluster", map[string]any{"preset": "query_volume", "clusters": []string{"x'; COPY (SELECT 1) TO '/tmp/y"}}, "not a cluster name"},
		{"newline in a cluster", map[string]any{"preset": "query_volume", "clusters": []string{"east\nUNION SELECT 1"}}, "not a cluster name"},
		{"unknown preset", map[string]any{"preset": "drop_everything"}, "no preset"},
		{"preset id with SQL", map[string]any{"preset": "query_volume; DROP VIEW stl_query"}, "no preset"},
		{"unknown query type", map[string]any{"queryType": "exec", "rawSql": "SELECT 1"}, "unknown query type"},
	}
	var qs []backend.DataQuery
	for i, c := range cases {
		qs = append(qs, dataQuery(fmt.Sprintf("Q%d", i), c.model, from, to))
	}
	qs = append(qs, dataQuery("ok", map[string]any{"preset": "query_volume"}, from, to))
	resp := run(t, context.Background(), d, nil, qs...)
	for i, c := range cases {
		r := resp.Responses[fmt.Sprintf("Q%d", i)]
		switch {
		case r.Error == nil:
			t.Errorf("%s: not refused", c.name)
		case r.ErrorSource != backend.ErrorSourceDownstream || r.Status != backend.StatusBadRequest:
			t.Errorf("%s: source %q status %d, want downstream 400: %v", c.name, r.ErrorSource, r.Status, r.Error)
		case !strings.Contains(r.Error.Error(), c.says):
			t.Errorf("%s: error does not say %q: %v", c.name, c.says, r.Error)
		}
	}
	if len(cases) < 25 {
		t.Errorf("only %d hostile queries", len(cases))
	}
	if r := resp.Responses["ok"]; r.Error != nil {
		t.Errorf("a harmless query in the same request failed: %v", r.Error)
	}
	if _, err := os.Stat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s was written", target)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("files appeared outside the archive: %v", entries)
	}
	if after := tree(t, root); !slices.Equal(before, after) {
		t.Errorf("the archive changed: %v → %v", before, after)
	}
}

func tree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestQueryOverTheTimeLimitIsCancelledAtTheLimit runs a query that would take hours: it must
// end with the time limit's error, not before the limit and long before its natural end. How
// soon after the limit it ends depends on the machine's load and is logged, not asserted.
func TestQueryOverTheTimeLimitIsCancelledAtTheLimit(t *testing.T) {
	const limit = time.Second
	d := instance(t, t.TempDir(), map[string]any{"timeout": limit.String()})
	to := time.Now().UTC()
	start := time.Now()
	resp := run(t, context.Background(), d, nil, dataQuery("A", map[string]any{"queryType": "sql",
		"rawSql": "SELECT sum(hash(range)) FROM range(1000000000000)"}, to.Add(-time.Hour), to))
	elapsed := time.Since(start)
	r := resp.Responses["A"]
	if r.Error == nil || !strings.Contains(r.Error.Error(), "time limit") {
		t.Fatalf("want a time limit error, got %v", r.Error)
	}
	if r.Status != backend.StatusTimeout || r.ErrorSource != backend.ErrorSourceDownstream {
		t.Errorf("status %d source %q, want timeout, downstream", r.Status, r.ErrorSource)
	}
	if elapsed < limit || elapsed > limit+time.Minute {
		t.Errorf("cancelled after %s, with a %s limit", elapsed, limit)
	}
	t.Logf("limit %s, answered after %s", limit, elapsed)
}

func TestStatusQueryGivesATableAndAlertableLagAndGaps(t *testing.T) {
	root := t.TempDir()
	c := simtest.New(t, "solo", 0)
	// Export once so that the store has rows.
	cfg := config.Defaults()
	cfg.Archive.Path, cfg.State.Path = root, filepath.Join(root, ".state", "export.db")
	cfg.Export.Lag, cfg.Export.QueryGroup = simtest.Lag, simtest.QueryGroup
	cfg.Clusters = []config.Cluster{c.Cfg}
	exp, err := export.Open(cfg, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range exp.Cycle(context.Background()) {
		if err := r.Failed(); err != nil {
			t.Fatal(err)
		}
	}
	exp.Close()
	d := instance(t, root, nil, c)
	to := time.Now().UTC()
	resp := run(t, context.Background(), d, map[string]string{"FromAlert": "true"},
		dataQuery("T", map[string]any{"queryType": "status"}, to.Add(-time.Hour), to),
		dataQuery("S", map[string]any{"queryType": "status", "format": "time_series"}, to.Add(-time.Hour), to),
		dataQuery("P", map[string]any{"queryType": "status", "preset": "export_health", "format": "time_series"}, to.Add(-time.Hour), to))
	tbl := resp.Responses["T"]
	if tbl.Error != nil {
		t.Fatal(tbl.Error)
	}
	if n, _ := tbl.Frames[0].RowLen(); n != 8 {
		t.Errorf("status table has %d rows, want one per STL table", n)
	}
	for _, name := range []string{"cluster", "table", "watermark", "lag_seconds", "rows", "last_error", "gaps"} {
		if _, i := tbl.Frames[0].FieldByName(name); i < 0 {
			t.Errorf("status table lacks %s", name)
		}
	}
	for _, ref := range []string{"S", "P"} {
		ts := resp.Responses[ref]
		if ts.Error != nil {
			t.Fatal(ts.Error)
		}
		fr := ts.Frames[0]
		if fr.TimeSeriesSchema().Type != data.TimeSeriesTypeWide {
			t.Fatalf("%s: status time series is not wide", ref)
		}
		lags, gaps := 0, 0
		for _, f := range fr.Fields[1:] {
			if f.Labels["cluster"] != "solo" || f.Labels["table"] == "" || !f.Type().Numeric() {
				t.Errorf("%s: field %s %v is not a numeric series labelled by cluster and table", ref, f.Name, f.Labels)
			}
			switch f.Name {
			case "lag_seconds":
				lags++
				if v := f.At(0).(float64); v < 0 || v > 3600 {
					t.Errorf("%s: lag of %s is %v s", ref, f.Labels["table"], v)
				}
			case "gaps":
				gaps++
			}
		}
		if lags != 8 || gaps != 8 {
			t.Errorf("%s: %d lag and %d gap series, want 8 each", ref, lags, gaps)
		}
	}
}
