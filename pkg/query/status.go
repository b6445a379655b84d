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
	// Verification of the archive against the source: the end of the newest window verified
	// equal (nil before the first pass); late rows found and rows healed in all; what the last
	// pass found late, could not verify, or left different.
	VerifiedUpTo         *time.Time
	LateRows             int64
	RowsHealed           int64
	LastPassLateRows     int64
	LastPassUnverifiable int
	Differs              int
	// UnplacedRows is what the last pass counted on the source that no export window can hold
	// (a NULL time, a child row without a parent row that has one): rows not in the archive.
	UnplacedRows int64
}

// The series of a status query in time_series format.
const (
	MetricLag  = "lag_seconds"
	MetricGaps = "gaps"
	// MetricLateRows is the number of rows the last verification pass found on the source
	// behind the watermark: rows that reached STL later than the export lag.
	MetricLateRows = "late_rows"
	// MetricUnverified is the number of windows the last pass could not verify (the source no
	// longer holds them) or left different from the source.
	MetricUnverified = "unverified_windows"
	// MetricUnplaced is the number of rows the last pass counted on the source that no export
	// window can hold, so that are not archived.
	MetricUnplaced = "unplaced_rows"
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
		switch metric {
		case MetricLateRows:
			for _, r := range rows {
				f.Fields = append(f.Fields, data.NewField(MetricLateRows, labels(r, MetricLateRows), []int64{r.LastPassLateRows}))
			}
		case MetricUnverified:
			for _, r := range rows {
				f.Fields = append(f.Fields, data.NewField(MetricUnverified, labels(r, MetricUnverified), []int64{int64(r.LastPassUnverifiable + r.Differs)}))
			}
		case MetricUnplaced:
			for _, r := range rows {
				f.Fields = append(f.Fields, data.NewField(MetricUnplaced, labels(r, MetricUnplaced), []int64{r.UnplacedRows}))
			}
		}
		if metric == "" || metric == MetricLag {
			for _, r := range rows {
				f.Fields = append(f.Fields, data.NewField(MetricLag, labels(r, MetricLag), []float64{r.LagSeconds}))
			}
		}
		if metric == "" || metric == MetricGaps {
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
	verified := make([]*time.Time, n)
	late, healed, unverified := make([]int64, n), make([]int64, n), make([]int64, n)
	unplaced := make([]int64, n)
	for i, r := range rows {
		if r.VerifiedUpTo != nil {
			v := r.VerifiedUpTo.UTC()
			verified[i] = &v
		}
		late[i], healed[i], unverified[i] = r.LateRows, r.RowsHealed, int64(r.LastPassUnverifiable+r.Differs)
		cluster[i], table[i], lastError[i] = r.Cluster, r.Table, r.LastError
		unplaced[i] = r.UnplacedRows
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
		data.NewField("verified_up_to", nil, verified),
		data.NewField("late_rows", nil, late),
		data.NewField("rows_healed", nil, healed),
		data.NewField(MetricUnverified, nil, unverified),
		data.NewField(MetricUnplaced, nil, unplaced),
	)
	f.SetMeta(&data.FrameMeta{PreferredVisualization: data.VisTypeTable})
	return data.Frames{f}
}
