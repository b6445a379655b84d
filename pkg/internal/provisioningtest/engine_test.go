package provisioningtest

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	querypkg "github.com/stlarchive/redshift-stl-archive/pkg/query"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/duckdb"
	presetcatalog "github.com/stlarchive/redshift-stl-archive/pkg/query/presets"
)

// service is the backend's query service over the locked-down embedded engine on an archive
// with no files yet: the views then exist with their catalog columns and no rows, so a
// misspelt column, a function DuckDB lacks, a refused statement or an unknown preset fails
// here without any data. The end-to-end test runs the same queries over a filled archive.
func service(t *testing.T) *querypkg.Service {
	t.Helper()
	ctx := context.Background()
	eng, err := duckdb.Open(ctx, t.TempDir(), duckdb.Options{Timeout: 20 * time.Second, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	catalog, err := presetcatalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	wm := time.Now().Add(-time.Hour)
	return &querypkg.Service{Engine: eng, Presets: catalog, Status: func(context.Context) ([]querypkg.StatusRow, error) {
		return []querypkg.StatusRow{
			{Cluster: "demo-east", Table: "stl_query", Watermark: &wm, LagSeconds: 3600, Rows: 10},
			{Cluster: "demo-west", Table: "stl_query", Watermark: &wm, LagSeconds: 3600, Rows: 10, Gaps: 1},
		}, nil
	}}
}

// run answers one provisioned query as the plugin would: dashboard variables substituted the
// way the frontend does, alert queries as stored.
func run(t *testing.T, svc *querypkg.Service, q Query) (querypkg.Answer, error) {
	t.Helper()
	target, err := Substitute(q.Target, map[string][]string{"cluster": {"demo-east", "demo-west"}, "service_class": {"6", "100"}, "query": {"42"}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := querypkg.ParseModel(target, "")
	if err != nil {
		t.Fatal(err)
	}
	to := time.Now().UTC()
	req := querypkg.Request{Model: m, From: to.Add(-24 * time.Hour), To: to, Interval: time.Minute}
	if q.Kind == KindAlert {
		// Alert rules have no panel interval.
		req = querypkg.Request{Model: m, From: to.Add(-q.From), To: to.Add(-q.To)}
	}
	return svc.Run(context.Background(), req)
}

func TestEveryProvisionedQueryRunsOnTheBackend(t *testing.T) {
	svc := service(t)
	var all []Query
	for _, list := range []func(string) ([]Query, error){PanelQueries, Variables, Annotations, AlertQueries} {
		qs, err := list(root(t))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, qs...)
	}
	for _, q := range all {
		ans, err := run(t, svc, q)
		if err != nil {
			t.Errorf("%s %s %q: %v\n%s", q.File, q.Kind, q.Title, err, ans.SQL)
			continue
		}
		if len(ans.Frames) == 0 {
			t.Errorf("%s %s %q: no frames", q.File, q.Kind, q.Title)
		}
		var m query
		_ = json.Unmarshal(q.Target, &m)
		if m.QueryType == "sql" && q.TimeSeries {
			checkTimeSeriesColumns(t, q, ans.SQL, svc)
		}
	}
}

// checkTimeSeriesColumns asserts the shape a raw SQL time series must have for graphs and
// alerting: one time column, numeric values and a cluster label. Over an empty archive the
// frames have no fields to look at, so the columns of the SQL that ran are checked.
func checkTimeSeriesColumns(t *testing.T, q Query, sql string, svc *querypkg.Service) {
	t.Helper()
	res, err := svc.Engine.QueryLimit(context.Background(), sql, 0)
	if err != nil {
		t.Errorf("%s %q: %v", q.Kind, q.Title, err)
		return
	}
	var times, numbers int
	var cluster bool
	var cols []string
	for _, f := range res.Fields() {
		cols = append(cols, f.Name+" "+f.Kind.String())
		switch f.Kind {
		case duckdb.KindTime:
			times++
		case duckdb.KindInt64, duckdb.KindFloat64:
			numbers++
		case duckdb.KindString:
			cluster = cluster || f.Name == "cluster"
		}
	}
	if times != 1 || numbers == 0 || !cluster {
		t.Errorf("%s %q: columns %v: a time series needs one time column, numeric values and a cluster label", q.Kind, q.Title, cols)
	}
}

// Grafana alerting turns each numeric field into one series identified by its labels alone:
// two series with the same labels in one query are refused, and a threshold meant for one
// field would judge the other. Each rule's query must give one series per label set.
func TestAlertQueriesGiveOneSeriesPerLabelSet(t *testing.T) {
	svc := service(t)
	qs, err := AlertQueries(root(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		ans, err := run(t, svc, q)
		if err != nil {
			t.Errorf("rule %s: %v", q.Dashboard, err)
			continue
		}
		var seen []string
		for _, f := range ans.Frames {
			if f.TimeSeriesSchema().Type != data.TimeSeriesTypeWide && f.Rows() > 0 {
				t.Errorf("rule %s: frame %q is not a wide time series", q.Dashboard, f.Name)
			}
			for _, field := range f.Fields {
				// An empty result has no series to tell apart (alerting reads it as no data).
				if !field.Type().Numeric() || field.Len() == 0 {
					continue
				}
				key := field.Labels.String()
				if slices.Contains(seen, key) {
					t.Errorf("rule %s: fields %s share labels %s with another numeric field", q.Dashboard, field.Name, key)
				}
				seen = append(seen, key)
				if !strings.Contains(key, "cluster=") {
					t.Errorf("rule %s: field %s is not labelled by cluster: %s", q.Dashboard, field.Name, key)
				}
			}
		}
	}
}

// A range without rows is normal — a quiet cluster, a new archive, an alert window without
// events — and must read as an empty series (Grafana's "No data", the rule's noDataState), not
// as a failed query.
func TestTimeSeriesOverARangeWithoutRowsIsEmptyNotAnError(t *testing.T) {
	svc := service(t)
	qs, err := PanelQueries(root(t))
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := AlertQueries(root(t))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, q := range append(qs, alerts...) {
		var m query
		_ = json.Unmarshal(q.Target, &m)
		if !q.TimeSeries || m.QueryType == "status" {
			continue
		}
		n++
		ans, err := run(t, svc, q)
		if err != nil {
			t.Errorf("%s %q over an empty archive: %v", q.Kind, q.Title, err)
			continue
		}
		for _, f := range ans.Frames {
			if f.Rows() != 0 {
				t.Errorf("%s %q: %d rows from an empty archive", q.Kind, q.Title, f.Rows())
			}
		}
	}
	if n == 0 {
		t.Fatal("no time series queries")
	}
}
