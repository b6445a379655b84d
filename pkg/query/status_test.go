package query_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/query"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/presets"
)

// Status queries and the export_health preset follow the cluster picker like every other
// panel: a multi-value selection keeps its clusters, All (or an unsubstituted variable, as alert
// rules send it) keeps every cluster, in both formats.
func TestStatusQueriesHonourTheClusterFilter(t *testing.T) {
	now := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	var rows []query.StatusRow
	for _, c := range []string{"east", "west", "eu"} {
		for _, tb := range []string{"stl_query", "stl_scan"} {
			rows = append(rows, query.StatusRow{Cluster: c, Table: tb, LagSeconds: 60, Gaps: 1})
		}
	}
	catalog, err := presets.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	svc := &query.Service{Presets: catalog, Now: func() time.Time { return now },
		Status: func(context.Context) ([]query.StatusRow, error) { return rows, nil }}
	cases := []struct {
		clusters []string
		want     []string
	}{
		{[]string{"east"}, []string{"east"}},
		{[]string{"east", "eu"}, []string{"east", "eu"}},
		{[]string{"{east,eu}"}, []string{"east", "eu"}},
		{[]string{"$__all"}, []string{"east", "eu", "west"}},
		{[]string{"$cluster"}, []string{"east", "eu", "west"}},
		{nil, []string{"east", "eu", "west"}},
		{[]string{"nowhere"}, nil},
	}
	models := []query.Model{
		{QueryType: query.TypeStatus},
		{QueryType: query.TypeStatus, Format: presets.TimeSeries},
		{QueryType: query.TypeStatus, Format: presets.TimeSeries, Metric: query.MetricGaps},
		{QueryType: query.TypeDiagnostics, Preset: "export_health"},
	}
	for _, c := range cases {
		for _, m := range models {
			m.Clusters = c.clusters
			ans, err := svc.Run(context.Background(), query.Request{Model: m, From: now.Add(-time.Hour), To: now})
			if err != nil {
				t.Fatalf("%+v: %v", m, err)
			}
			got := map[string]int{}
			f := ans.Frames[0]
			if cl, _ := f.FieldByName("cluster"); cl != nil { // table
				for i := 0; i < cl.Len(); i++ {
					got[cl.At(i).(string)]++
				}
			} else {
				for _, fld := range f.Fields[1:] { // time series: one field per cluster, table and metric
					got[fld.Labels["cluster"]]++
				}
			}
			var names []string
			for n := range got {
				names = append(names, n)
			}
			slices.Sort(names)
			if !slices.Equal(names, c.want) {
				t.Errorf("clusters %q, %s %s %s: frame has clusters %v, want %v", c.clusters, m.QueryType, m.Format, m.Metric, names, c.want)
			}
		}
	}
}
