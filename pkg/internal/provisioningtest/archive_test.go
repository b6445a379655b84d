package provisioningtest

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/app"
	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/pgtest"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/simtest"
	querypkg "github.com/stlarchive/redshift-stl-archive/pkg/query"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/duckdb"
	presetcatalog "github.com/stlarchive/redshift-stl-archive/pkg/query/presets"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// filledService is the query service over an archive the real exporter filled from two
// simulated clusters with half an hour of history each.
func filledService(t *testing.T) (*querypkg.Service, time.Time) {
	t.Helper()
	ctx := context.Background()
	east, west := simtest.New(t, "demo-east", 1), simtest.New(t, "demo-west", 1)
	var last time.Time
	for _, c := range []*simtest.Cluster{east, west} {
		start := time.Now()
		last = c.History(t, 30*time.Minute)
		t.Logf("%s: 30 min of history in %v", c.Cfg.Name, time.Since(start).Round(time.Millisecond))
	}
	simtest.WaitPastLag(t, east, last)
	simtest.WaitPastLag(t, west, last)

	root := t.TempDir()
	cfg := config.Config{
		Archive: config.Archive{Path: root},
		State:   config.State{Path: filepath.Join(root, ".state", "export.db")},
		Export: config.Export{Enabled: true, Interval: time.Second, Lag: simtest.Lag, Concurrency: 2,
			Tables: tables.Names(), QueryGroup: simtest.QueryGroup, Timeout: 2 * time.Minute},
		Clusters: []config.Cluster{east.Cfg, west.Cfg},
	}
	exp, err := export.Open(cfg, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(exp.Close)
	start := time.Now()
	defer func() { t.Logf("export in %v", time.Since(start).Round(time.Millisecond)) }()
	for _, r := range exp.Cycle(ctx) {
		if err := r.Failed(); err != nil {
			t.Fatalf("export: %v", err)
		}
	}

	eng, err := duckdb.Open(ctx, root, duckdb.Options{Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	catalog, err := presetcatalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	return &querypkg.Service{Engine: eng, Presets: catalog, Status: app.StoreStatus(exp.Store())}, last
}

// Every dashboard query answers with rows over an archive the exporter filled from the
// simulator, as a user opening the dashboards after the demo sees them, and every alert rule
// query gives a series per cluster.
func TestEveryProvisionedQueryAnswersOverAnExportedArchive(t *testing.T) {
	svc, now := filledService(t)
	values := map[string][]string{"cluster": {"demo-east", "demo-west"}}
	// The service classes the simulator's WLM rows use, as the variable would list them.
	vars, err := Variables(root(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vars {
		if v.Title != "service_class" {
			continue
		}
		ans, err := answer(t, svc, v, values, now)
		if err != nil || len(ans.Frames) == 0 || len(ans.Frames[0].Fields) == 0 {
			t.Fatalf("service_class variable: %v", err)
		}
		f := ans.Frames[0].Fields[0]
		for i := range f.Len() {
			if s, ok := f.ConcreteAt(i); ok {
				values["service_class"] = append(values["service_class"], s.(string))
			}
		}
	}
	if len(values["service_class"]) == 0 {
		t.Fatal("the service_class variable lists no service class")
	}
	// A query id, as the link from a query table fills the query-detail dashboard's variable.
	sample, err := answer(t, svc, Query{Target: json.RawMessage(`{"refId":"A","queryType":"sql","rawSql":` + strconv.Quote(SampleQuerySQL) + `,"clusters":["$cluster"]}`)}, values, now)
	if err != nil || len(sample.Frames) == 0 || len(sample.Frames[0].Fields) == 0 || sample.Frames[0].Rows() != 1 {
		t.Fatalf("sample query id: %v", err)
	}
	id, ok := sample.Frames[0].Fields[0].ConcreteAt(0)
	if !ok {
		t.Fatal("no query in the archive")
	}
	values["query"] = []string{id.(string)}

	var all []Query
	for _, list := range []func(string) ([]Query, error){PanelQueries, Variables, Annotations} {
		qs, err := list(root(t))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, qs...)
	}
	start := time.Now()
	for _, q := range all {
		ans, err := answer(t, svc, q, values, now)
		if err != nil {
			t.Errorf("%s %s %q: %v\n%s", q.File, q.Kind, q.Title, err, ans.SQL)
			continue
		}
		rows := 0
		for _, f := range ans.Frames {
			rows += f.Rows()
		}
		if rows == 0 {
			t.Errorf("%s %s %q: no rows\n%s", q.File, q.Kind, q.Title, ans.SQL)
		}
		if q.TimeSeries {
			for _, f := range ans.Frames {
				for _, field := range f.Fields {
					if field.Type().Numeric() && field.Labels["cluster"] == "" {
						t.Errorf("%s %q: series %s is not labelled by cluster", q.File, q.Title, field.Name)
					}
				}
			}
		}
	}
	t.Logf("%d dashboard queries answered in %v", len(all), time.Since(start).Round(time.Millisecond))

	// Alert rules run as stored, over their own relative range, and must give numeric series
	// labelled by cluster.
	alerts, err := AlertQueries(root(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range alerts {
		m, err := querypkg.ParseModel(q.Target, "")
		if err != nil {
			t.Fatal(err)
		}
		ans, err := svc.Run(context.Background(), querypkg.Request{Model: m, From: now.Add(-q.From), To: now.Add(-q.To)})
		if err != nil {
			t.Errorf("rule %s: %v", q.Dashboard, err)
			continue
		}
		clusters := map[string]bool{}
		for _, f := range ans.Frames {
			for _, field := range f.Fields {
				if field.Type().Numeric() && field.Len() > 0 {
					clusters[field.Labels["cluster"]] = true
				}
			}
		}
		if !clusters["demo-east"] || !clusters["demo-west"] || clusters[""] {
			t.Errorf("rule %s: numeric series labelled by clusters %v, want demo-east and demo-west only", q.Dashboard, clusters)
		}
	}
}

func answer(t *testing.T, svc *querypkg.Service, q Query, values map[string][]string, now time.Time) (querypkg.Answer, error) {
	t.Helper()
	target, err := Substitute(q.Target, values)
	if err != nil {
		t.Fatal(err)
	}
	m, err := querypkg.ParseModel(target, "")
	if err != nil {
		t.Fatal(err)
	}
	return svc.Run(context.Background(), querypkg.Request{Model: m, From: now.Add(-2 * time.Hour), To: now, Interval: time.Minute})
}
