package query

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/stlarchive/redshift-stl-archive/pkg/query/presets"
)

// StatusRow is the export state of one (cluster, table), as the status query shows it. The
// caller fills it from the exporter's store; this package does not read export internals.
type StatusRow struct {
	Cluster   string
	Table     string
	Watermark *time.Time
	// LagSeconds is how far the archive is behind now; -1 before the first export.
	LagSeconds float64
	Rows       int64
	LastError  string
	Gaps       int
}

// The series of a status query in time_series format.
const (
	MetricLag  = "lag_seconds"
	MetricGaps = "gaps"
)

// status answers a status query for clusters (nil: every cluster), as the dashboards' cluster
// picker asks.
func (s *Service) status(ctx context.Context, format, metric string, clusters []string) (Answer, error) {
	if s.Status == nil {
		return Answer{}, fmt.Errorf("export status: not available here")
	}
	rows, err := s.Status(ctx)
	if err != nil {
		return Answer{}, fmt.Errorf("export status: %w", err)
	}
	rows = OfClusters(rows, clusters)
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	return Answer{Frames: StatusFrames(rows, format, metric, now())}, nil
}

// OfClusters keeps the rows of the named clusters, in their order; nil names keep every row.
func OfClusters(rows []StatusRow, clusters []string) []StatusRow {
	if clusters == nil {
		return rows
	}
	out := make([]StatusRow, 0, len(rows))
	for _, r := range rows {
		if slices.Contains(clusters, r.Cluster) {
			out = append(out, r)
		}
	}
	return out
}

// StatusFrames is the export status as a table, or, for format time_series, as one wide frame
// at now with a lag_seconds and a gaps field per cluster and table, labelled by both, for alert
// rules to threshold. metric keeps one of the two; with both, a metric label keeps every
// series' labels unique.
func StatusFrames(rows []StatusRow, format, metric string, now time.Time) data.Frames {
	if format == presets.TimeSeries {
		f := data.NewFrame("export_status", data.NewField("time", nil, []time.Time{now.UTC()}))
		labels := func(r StatusRow, m string) data.Labels {
			l := data.Labels{"cluster": r.Cluster, "table": r.Table}
			if metric == "" {
				l["metric"] = m
			}
			return l
		}
		if metric != MetricGaps {
			for _, r := range rows {
				f.Fields = append(f.Fields, data.NewField(MetricLag, labels(r, MetricLag), []float64{r.LagSeconds}))
			}
		}
		if metric != MetricLag {
			for _, r := range rows {
				f.Fields = append(f.Fields, data.NewField(MetricGaps, labels(r, MetricGaps), []int64{int64(r.Gaps)}))
			}
		}
		f.SetMeta(&data.FrameMeta{Type: data.FrameTypeTimeSeriesWide, TypeVersion: data.FrameTypeVersion{0, 1}})
		return data.Frames{f}
	}
	n := len(rows)
	cluster, table, lastError := make([]string, n), make([]string, n), make([]string, n)
	watermark := make([]*time.Time, n)
	lag := make([]float64, n)
	count, gaps := make([]int64, n), make([]int64, n)
	for i, r := range rows {
		cluster[i], table[i], lastError[i] = r.Cluster, r.Table, r.LastError
		if r.Watermark != nil {
			w := r.Watermark.UTC()
			watermark[i] = &w
		}
		lag[i], count[i], gaps[i] = r.LagSeconds, r.Rows, int64(r.Gaps)
	}
	f := data.NewFrame("export_status",
		data.NewField("cluster", nil, cluster),
		data.NewField("table", nil, table),
		data.NewField("watermark", nil, watermark),
		data.NewField("lag_seconds", nil, lag),
		data.NewField("rows", nil, count),
		data.NewField("last_error", nil, lastError),
		data.NewField("gaps", nil, gaps),
	)
	f.SetMeta(&data.FrameMeta{PreferredVisualization: data.VisTypeTable})
	return data.Frames{f}
}
