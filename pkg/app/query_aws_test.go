package app_test

import (
	"context"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/stlarchive/redshift-stl-archive/pkg/app"
	"github.com/stlarchive/redshift-stl-archive/pkg/catalog"
	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/awsfake"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/simtest"
	"github.com/stlarchive/redshift-stl-archive/pkg/query"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/macro"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/presets"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// TestEmbeddedEngineOverS3FetchesOnlyTheQueriedDaysAndTablesOnce exports a cluster with
// history on two days to S3, then answers query_volume over today with the embedded engine
// whose archive.path is an empty cache: the answer counts the source's queries, the cache then
// holds today's stl_query objects and nothing else, and the same query again downloads nothing.
func TestEmbeddedEngineOverS3FetchesOnlyTheQueriedDaysAndTablesOnce(t *testing.T) {
	ctx := context.Background()
	d := newS3Deployment(t)
	reads := countObjectReads(t, d.s3.Endpoint)
	c := simtest.New(t, "east", 0.5)
	// Half an hour of an earlier day, then the recent history: two day partitions.
	start := c.SourceNow(t)
	if _, err := c.Work.Backfill(ctx, c.Conn, start.Add(-26*time.Hour), start.Add(-25*time.Hour-30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	last := c.History(t, 20*time.Minute)

	cache := filepath.Join(t.TempDir(), "cache")
	secure := awsKeys()
	secure[config.PasswordKey(c.Cfg.Name)] = c.Cfg.Password.Reveal()
	cfg := settings(t, map[string]any{
		"archive":  d.archiveJSON(cache, reads.endpoint),
		"state":    d.stateJSON(),
		"aws":      awsJSON(nil),
		"export":   map[string]any{"lag": simtest.Lag.String(), "queryGroup": simtest.QueryGroup},
		"clusters": []any{clusterJSON(c)},
	}, secure)
	exp, _, err := app.OpenExporter(ctx, cfg, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		exp.Close()
		exp.Store().Close()
	})
	simtest.WaitPastLag(t, c, last)
	for _, r := range exp.Cycle(ctx) {
		if err := r.Failed(); err != nil {
			t.Fatalf("cycle: %v", err)
		}
	}

	today := last.Truncate(24 * time.Hour)
	todayDir := "stl_query/cluster=east/day=" + today.Format(time.DateOnly) + "/"
	var todays []string
	days := map[string]bool{}
	for _, k := range d.keys(t) {
		rel := strings.TrimPrefix(k, archivePrefix)
		if strings.HasPrefix(rel, "stl_query/") {
			days[strings.Split(rel, "/")[2]] = true
		}
		if strings.HasPrefix(rel, todayDir) {
			todays = append(todays, rel)
		}
	}
	if len(days) < 2 || len(todays) == 0 {
		t.Fatalf("stl_query is archived on days %v with %d objects today: the test needs today and an earlier day", days, len(todays))
	}

	q, err := app.OpenQueries(ctx, cfg, app.StoreStatus(exp.Store()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	from, to := today, time.Now().UTC().Add(time.Minute)
	run := func() float64 {
		t.Helper()
		ans, err := q.Service.Run(ctx, query.Request{Model: query.Model{Preset: "query_volume"}, From: from, To: to, Interval: 10 * time.Minute})
		if err != nil {
			t.Fatalf("query_volume: %v", err)
		}
		return sumValues(t, ans.Frames)
	}

	before, layouts0 := reads.n.Load(), reads.layouts.Load()
	got := run()
	downloaded := reads.n.Load() - before

	p, err := exp.Store().Get(ctx, "east", "stl_query")
	if err != nil {
		t.Fatal(err)
	}
	var want float64
	// The exporter's own queries carry its query group and are not archived.
	err = c.Conn.QueryRow(ctx, `SELECT count(*) FROM stl_query WHERE `+tables.NotOwn("label", "$1")+` AND endtime BETWEEN $2 AND $3 AND endtime <= $4`,
		simtest.QueryGroup, from, to, p.Watermark).Scan(&want)
	if err != nil {
		t.Fatal(err)
	}
	if want == 0 || got != want {
		t.Errorf("query_volume counts %v queries today, the source %v", got, want)
	}

	cached := cachedFiles(t, cache)
	slices.Sort(todays)
	if !slices.Equal(cached, todays) {
		t.Errorf("the cache holds %v, want today's stl_query objects %v", cached, todays)
	}
	if downloaded != int64(len(todays)) {
		t.Errorf("%d objects downloaded for %d files", downloaded, len(todays))
	}
	t.Logf("query_volume counted %v queries; stl_query on days %v; %d of today's objects downloaded", got, slices.Sorted(maps.Keys(days)), downloaded)

	before, layouts := reads.n.Load(), reads.layouts.Load()
	if again := run(); again != got {
		t.Errorf("the second run counts %v, the first %v", again, got)
	}
	if n := reads.n.Load() - before; n != 0 {
		t.Errorf("the second run downloaded %d objects, want none", n)
	}
	// Each run reads the layout record of every table it lists, since compaction may have
	// switched a day in between: as many in the second run as in the first.
	if first, second := layouts-layouts0, reads.layouts.Load()-layouts; first == 0 || second != first {
		t.Errorf("layout records read %d times in the first run and %d in the second", first, second)
	}
}

// cachedFiles lists the archive files in the cache folder relative to it, leaving out the
// cache's hidden bookkeeping files.
func cachedFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			return err
		}
		rel, err := filepath.Rel(root, p)
		out = append(out, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// sumValues adds up every numeric value of the frames.
func sumValues(t *testing.T, frames data.Frames) float64 {
	t.Helper()
	var sum float64
	for _, f := range frames {
		for _, fld := range f.Fields {
			for i := range fld.Len() {
				v, ok := fld.ConcreteAt(i)
				if !ok {
					continue
				}
				switch n := v.(type) {
				case int64:
					sum += float64(n)
				case float64:
					sum += n
				case time.Time, string:
				default:
					t.Fatalf("field %s holds %T", fld.Name, v)
				}
			}
		}
	}
	return sum
}

// athenaJSON is a configuration of the Athena engine over an archive in S3 that only Athena and
// Glue (both fakes) are asked about.
func athenaJSON(t *testing.T, athenaURL, glueURL string) map[string]any {
	return map[string]any{
		"archive": map[string]any{"path": t.TempDir(), "s3": map[string]any{"bucket": "stl-archive-prod", "prefix": archivePrefix}},
		"aws":     awsJSON(map[string]string{"athena": athenaURL, "glue": glueURL}),
		"export":  map[string]any{"enabled": false},
		// Projection: registered partitions (compaction on) list the archive, which here is
		// not served.
		"compaction": map[string]any{"enabled": false},
		"query": map[string]any{"engine": "athena", "athena": map[string]any{
			"workgroup": "stl-readers", "database": "stl_history", "outputLocation": "s3://stl-athena-results/grafana/"}},
	}
}

// TestAthenaEngineRunsAPresetInTheAthenaDialectWithQueryCallsOnly opens the query side with
// engine athena and runs query_volume: the fake receives the preset's athena SQL, in the
// configured workgroup and database, and no call but those of running a query reaches AWS.
func TestAthenaEngineRunsAPresetInTheAthenaDialectWithQueryCallsOnly(t *testing.T) {
	ctx := context.Background()
	athenaFake := awsfake.NewAthena(t)
	glueFake := awsfake.NewGlue(t)
	cfg := settings(t, athenaJSON(t, athenaFake.URL, glueFake.URL), awsKeys())

	q, err := app.OpenQueries(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	list, err := q.Tables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(tables.Names()) {
		t.Errorf("the editor lists %d tables, want the %d archived", len(list), len(tables.Names()))
	}
	if n := len(athenaFake.Calls()) + len(glueFake.Calls()); n != 0 {
		t.Fatalf("opening the engine and listing its tables made %d AWS calls, want none", n)
	}

	builtin, err := presets.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	p, _ := builtin.Lookup("query_volume")
	env := macro.Env{From: time.Date(2026, 11, 1, 21, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 2, 3, 0, 0, 0, time.UTC),
		Interval: 10 * time.Minute, Clusters: []string{"east", "west"}}
	expand := func(d macro.Dialect) string {
		text, err := p.Query(string(d))
		if err != nil {
			t.Fatal(err)
		}
		sql, err := macro.Expand(text, d, env)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimRight(sql, " \t\r\n")
	}
	want := expand(macro.Athena)
	if want == expand(macro.DuckDB) {
		t.Fatal("the preset expands alike in both dialects: the test could not tell them apart")
	}
	ptr := func(s string) *string { return &s }
	athenaFake.On(want, awsfake.AthenaScript{
		States:  []string{"QUEUED", "RUNNING", "SUCCEEDED"},
		Columns: []awsfake.AthenaColumn{{Name: "time", Type: "timestamp"}, {Name: "cluster", Type: "varchar"}, {Name: "queries", Type: "bigint"}},
		Rows: [][]*string{
			{ptr("2026-11-01 21:00:00.000"), ptr("east"), ptr("4")},
			{ptr("2026-11-01 21:10:00.000"), ptr("west"), ptr("6")},
		},
	})
	ans, err := q.Service.Run(ctx, query.Request{
		Model: query.Model{RefID: "A", QueryType: query.TypeDiagnostics, Preset: "query_volume", Clusters: env.Clusters},
		From:  env.From, To: env.To, Interval: env.Interval,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := sumValues(t, ans.Frames); got != 10 {
		t.Errorf("the answer sums to %v queries, want 10", got)
	}
	if strings.TrimRight(ans.SQL, " \t\r\n") != want {
		t.Errorf("the answer reports SQL\n%s\nwant\n%s", ans.SQL, want)
	}

	ex := athenaFake.Executions()
	if len(ex) != 1 {
		t.Fatalf("%d executions, want 1", len(ex))
	}
	if e := ex[0]; e.WorkGroup != "stl-readers" || e.Database != "stl_history" || e.Catalog != config.DefaultAthenaCatalog ||
		e.OutputLocation != "s3://stl-athena-results/grafana/" {
		t.Errorf("execution in workgroup %q catalog %q database %q output %q, want the configured stl-readers, %s, stl_history, s3://stl-athena-results/grafana/",
			e.WorkGroup, e.Catalog, e.Database, e.OutputLocation, config.DefaultAthenaCatalog)
	}
	allowed := []string{"StartQueryExecution", "GetQueryExecution", "GetQueryResults", "StopQueryExecution"}
	for _, c := range athenaFake.Calls() {
		if !slices.Contains(allowed, c.Operation) {
			t.Errorf("Athena call %s: a query needs only %v", c.Operation, allowed)
		}
	}
	if n := athenaFake.Count("StartQueryExecution"); n != 1 {
		t.Errorf("%d StartQueryExecution calls, want 1", n)
	}
	if g := glueFake.Actions(); len(g) != 0 {
		t.Errorf("a query called Glue: %v", g)
	}
}

// TestEnsureCatalogCreatesTheEightTablesOnceThenChangesNothing creates the Glue database and the
// eight STL tables over the configured archive location, and a second call only reads.
func TestEnsureCatalogCreatesTheEightTablesOnceThenChangesNothing(t *testing.T) {
	ctx := context.Background()
	glueFake := awsfake.NewGlue(t)
	athenaFake := awsfake.NewAthena(t)
	cfg := settings(t, athenaJSON(t, athenaFake.URL, glueFake.URL), awsKeys())
	clusters := []string{"east", "west"}

	rep, err := app.EnsureCatalog(ctx, cfg, clusters)
	if err != nil {
		t.Fatal(err)
	}
	created := rep.Names(catalog.Created)
	slices.Sort(created)
	names := tables.Names()
	slices.Sort(names)
	if !slices.Equal(created, names) || !rep.DatabaseCreated || rep.Database != "stl_history" {
		t.Errorf("first call: database %s (created %v), tables created %v, want stl_history created and %v", rep.Database, rep.DatabaseCreated, created, names)
	}
	if n := glueFake.Mutations(); n != 1+len(names) {
		t.Errorf("first call made %d changing calls, want %d (the database and each table)", n, 1+len(names))
	}
	var located int
	for _, c := range glueFake.Calls() {
		if c.Action == "CreateTable" && strings.Contains(string(c.Body), `"s3://stl-archive-prod/stl/`) {
			located++
		}
	}
	if located != len(names) {
		t.Errorf("%d tables located under s3://stl-archive-prod/stl/, want %d", located, len(names))
	}

	mutations := glueFake.Mutations()
	rep, err = app.EnsureCatalog(ctx, cfg, clusters)
	if err != nil {
		t.Fatal(err)
	}
	if n := glueFake.Mutations() - mutations; n != 0 {
		t.Errorf("second call made %d changing calls, want none", n)
	}
	if u := rep.Names(catalog.Unchanged); len(u) != len(names) || rep.DatabaseCreated {
		t.Errorf("second call: %d tables unchanged, database created %v; want all %d unchanged", len(u), rep.DatabaseCreated, len(names))
	}
	if len(athenaFake.Calls()) != 0 {
		t.Errorf("the catalog called Athena: %v", athenaFake.Calls())
	}
}

// TestAthenaHealthLineComesFromOneGetWorkGroup: the instance's health check learns the
// workgroup's result location and engine version from one GetWorkGroup, and a workgroup
// without a result location is reported naming query.athena.outputLocation.
func TestAthenaHealthLineComesFromOneGetWorkGroup(t *testing.T) {
	ctx := context.Background()
	athenaFake := awsfake.NewAthena(t)
	athenaFake.AddWorkGroup(awsfake.AthenaWorkGroup{Name: "stl-readers", OutputLocation: "s3://results/", EngineVersion: 3})
	athenaFake.AddWorkGroup(awsfake.AthenaWorkGroup{Name: "bare"})
	glueFake := awsfake.NewGlue(t)
	jsonData := athenaJSON(t, athenaFake.URL, glueFake.URL)
	athenaBlock := jsonData["query"].(map[string]any)["athena"].(map[string]any)
	delete(athenaBlock, "outputLocation")
	cfg := settings(t, jsonData, awsKeys())
	if cfg.Query.Athena.Timeout != 5*time.Minute {
		t.Errorf("athena timeout %s, want the 5m default", cfg.Query.Athena.Timeout)
	}
	q, err := app.OpenQueries(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	line, err := q.Check(ctx)
	if err != nil || !strings.Contains(line, "s3://results/") || !strings.Contains(line, "Athena engine version 3") {
		t.Errorf("health line %q (%v), want the workgroup's result location and engine version", line, err)
	}
	if n := len(athenaFake.Calls()); n != 1 {
		t.Errorf("%d Athena calls, want one GetWorkGroup", n)
	}
	athenaBlock["workgroup"] = "bare"
	q2, err := app.OpenQueries(ctx, settings(t, jsonData, awsKeys()), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q2.Close() })
	if _, err := q2.Check(ctx); err == nil || !strings.Contains(err.Error(), "query.athena.outputLocation") {
		t.Errorf("check of a workgroup without results location: %v", err)
	}
}
