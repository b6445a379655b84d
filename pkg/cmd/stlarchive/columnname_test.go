package main

import (
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// A series with a metric label (p50/p95 of one cluster) reads as its column and cluster, not
// with its column name twice.
func TestColumnNamesOfLabelledSeries(t *testing.T) {
	plain := data.NewField("queries", data.Labels{"cluster": "east"}, []int64{1})
	metric := data.NewField("p95_seconds", data.Labels{"cluster": "east", "metric": "p95_seconds"}, []float64{1})
	metric.Config = &data.FieldConfig{DisplayNameFromDS: "p95_seconds east"}
	for f, want := range map[*data.Field]string{plain: "queries east", metric: "p95_seconds east", data.NewField("n", nil, []int64{1}): "n"} {
		if got := columnName(f); got != want {
			t.Errorf("%s%v: %q, want %q", f.Name, f.Labels, got, want)
		}
	}
}
