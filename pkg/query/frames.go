package query

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/stlarchive/redshift-stl-archive/pkg/query/duckdb"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/presets"
)

// Frames turns an engine result into the frames of format. preset, when set, names the roles of
// the columns; without it roles follow the column types (time, numbers, text).
func Frames(res *duckdb.Result, format string, preset *presets.Preset, refID string) (data.Frames, error) {
	var (
		f   *data.Frame
		err error
	)
	switch format {
	case presets.TimeSeries:
		f, err = timeSeries(res, preset)
	case presets.Annotations:
		f, err = annotations(res, preset)
	case presets.Variable:
		f, err = variable(res)
	default:
		f = table(res)
	}
	if err != nil {
		return nil, err
	}
	f.RefID = refID
	if res.Truncated {
		meta := f.Meta
		if meta == nil {
			meta = &data.FrameMeta{}
		}
		meta.Notices = append(meta.Notices, data.Notice{Severity: data.NoticeSeverityWarning,
			Text: fmt.Sprintf("Results truncated to the row limit of %d rows: narrow the time range or the clusters, or aggregate more.", res.MaxRows)})
		f.SetMeta(meta)
	}
	return data.Frames{f}, nil
}

// field makes a nullable Grafana field of a result column.
func field(col duckdb.Field) *data.Field {
	return data.NewField(col.Name, nil, col.Values)
}

func table(res *duckdb.Result) *data.Frame {
	f := data.NewFrame("")
	for _, col := range res.Fields() {
		f.Fields = append(f.Fields, field(col))
	}
	f.SetMeta(&data.FrameMeta{PreferredVisualization: data.VisTypeTable})
	return f
}

// role is a column's role: the preset's word for it, else what its type suggests.
func role(col duckdb.Field, preset *presets.Preset) string {
	if preset != nil {
		if r := preset.Role(col.Name); r != "" {
			return r
		}
	}
	switch col.Kind {
	case duckdb.KindTime:
		return presets.RoleTime
	case duckdb.KindInt64, duckdb.KindFloat64:
		return presets.RoleValue
	}
	return presets.RoleLabel
}

// timeSeries builds a wide frame: one time field and a numeric field per value column and label
// set, the shape Grafana alerting accepts. Rows are sorted by time first: the result's order is
// the query's, and a long frame must be in time order to widen.
func timeSeries(res *duckdb.Result, preset *presets.Preset) (*data.Frame, error) {
	cols := res.Fields()
	timeIdx := -1
	for i, col := range cols {
		if col.Kind == duckdb.KindTime && role(col, preset) == presets.RoleTime {
			timeIdx = i
			break
		}
	}
	if timeIdx < 0 {
		return nil, fmt.Errorf("%w: a time series needs a time column (a TIMESTAMP, e.g. $__timeGroup(endtime) AS time); use format table otherwise", ErrBadQuery)
	}
	times := cols[timeIdx].Values.([]*time.Time)
	order := make([]int, 0, len(times))
	for i, t := range times {
		if t != nil { // a point needs a time; rows without one cannot be plotted
			order = append(order, i)
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return times[order[a]].Before(*times[order[b]]) })

	long := data.NewFrame("")
	ts := make([]time.Time, len(order))
	for j, i := range order {
		ts[j] = *times[i]
	}
	long.Fields = append(long.Fields, data.NewField(cols[timeIdx].Name, nil, ts))
	labels := 0
	for i, col := range cols {
		if i == timeIdx {
			continue
		}
		switch {
		case col.Kind == duckdb.KindInt64 || col.Kind == duckdb.KindFloat64:
			long.Fields = append(long.Fields, numberField(col, order))
		case col.Kind == duckdb.KindTime:
			// Another time column (an end time, say) is neither a value nor a label.
		default:
			long.Fields = append(long.Fields, labelField(col, order))
			labels++
		}
	}
	if labels == 0 || len(order) == 0 {
		// Already wide, or empty: an empty wide frame with typed fields is "no data" to alerting.
		long.SetMeta(&data.FrameMeta{Type: data.FrameTypeTimeSeriesWide, TypeVersion: data.FrameTypeVersion{0, 1}})
		labelMetrics(long)
		return long, nil
	}
	long.SetMeta(&data.FrameMeta{Type: data.FrameTypeTimeSeriesLong})
	wide, err := data.LongToWide(long, nil)
	if err != nil {
		return nil, fmt.Errorf("time series: %w", err)
	}
	wide.SetMeta(&data.FrameMeta{Type: data.FrameTypeTimeSeriesWide, TypeVersion: data.FrameTypeVersion{0, 1}})
	labelMetrics(wide)
	return wide, nil
}

// MetricLabel names the value column of a series when a time series has several (p50_seconds
// and p95_seconds, queue_seconds and exec_seconds).
const MetricLabel = "metric"

// labelMetrics gives every numeric field of a wide frame with more than one value column a
// metric label holding its column's name. Grafana alerting tells the series of a frame apart by
// their labels alone: without it, p50 and p95 of one cluster have the same label set and the
// rule fails. A label column named metric already tells them apart and is left alone. The
// display name stays the column's name and the other labels' values ("p95_seconds east"), as
// panels showed them before.
func labelMetrics(f *data.Frame) {
	names := map[string]bool{}
	for _, fld := range f.Fields {
		if isNumber(fld) {
			if _, taken := fld.Labels[MetricLabel]; taken {
				return
			}
			names[fld.Name] = true
		}
	}
	if len(names) < 2 {
		return
	}
	for _, fld := range f.Fields {
		if !isNumber(fld) {
			continue
		}
		display := fld.Name
		for _, k := range sortedKeys(fld.Labels) {
			display += " " + fld.Labels[k]
		}
		if fld.Labels == nil {
			fld.Labels = data.Labels{}
		}
		fld.Labels[MetricLabel] = fld.Name
		if fld.Config == nil {
			fld.Config = &data.FieldConfig{}
		}
		if fld.Config.DisplayNameFromDS == "" {
			fld.Config.DisplayNameFromDS = display
		}
	}
}

func isNumber(f *data.Field) bool {
	switch f.Type() {
	case data.FieldTypeInt64, data.FieldTypeNullableInt64, data.FieldTypeFloat64, data.FieldTypeNullableFloat64:
		return true
	}
	return false
}

// sortedKeys are the label keys in alphabetical order.
func sortedKeys(l data.Labels) []string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// numberField keeps integers as int64 and everything else as float64, nullable, in row order.
func numberField(col duckdb.Field, order []int) *data.Field {
	if col.Kind == duckdb.KindInt64 {
		src := col.Values.([]*int64)
		out := make([]*int64, len(order))
		for j, i := range order {
			out[j] = src[i]
		}
		return data.NewField(col.Name, nil, out)
	}
	src := col.Values.([]*float64)
	out := make([]*float64, len(order))
	for j, i := range order {
		out[j] = src[i]
	}
	return data.NewField(col.Name, nil, out)
}

// labelField is a string field (NULL as ""), which LongToWide turns into a label.
func labelField(col duckdb.Field, order []int) *data.Field {
	text := texts(col)
	out := make([]string, len(order))
	for j, i := range order {
		out[j] = text[i]
	}
	return data.NewField(col.Name, nil, out)
}

// texts renders any column as strings, NULL as "".
func texts(col duckdb.Field) []string {
	switch v := col.Values.(type) {
	case []*string:
		out := make([]string, len(v))
		for i, s := range v {
			if s != nil {
				out[i] = *s
			}
		}
		return out
	case []*int64:
		out := make([]string, len(v))
		for i, n := range v {
			if n != nil {
				out[i] = strconv.FormatInt(*n, 10)
			}
		}
		return out
	case []*float64:
		out := make([]string, len(v))
		for i, n := range v {
			if n != nil {
				out[i] = strconv.FormatFloat(*n, 'g', -1, 64)
			}
		}
		return out
	case []*bool:
		out := make([]string, len(v))
		for i, b := range v {
			if b != nil {
				out[i] = strconv.FormatBool(*b)
			}
		}
		return out
	case []*time.Time:
		out := make([]string, len(v))
		for i, t := range v {
			if t != nil {
				out[i] = t.Format(time.RFC3339Nano)
			}
		}
		return out
	}
	return nil
}

// annotations renames the columns by role to the names Grafana's annotation support reads:
// time, timeEnd, text, tags. Other columns stay as they are.
func annotations(res *duckdb.Result, preset *presets.Preset) (*data.Frame, error) {
	f := data.NewFrame("")
	var hasTime bool
	for _, col := range res.Fields() {
		fld := field(col)
		switch r := role(col, preset); {
		case r == presets.RoleTime && !hasTime && col.Kind == duckdb.KindTime:
			fld.Name, hasTime = "time", true
		case r == presets.RoleTimeEnd && col.Kind == duckdb.KindTime:
			fld.Name = "timeEnd"
		case r == presets.RoleText:
			fld.Name = "text"
		case r == presets.RoleTags:
			fld.Name = "tags"
		}
		f.Fields = append(f.Fields, fld)
	}
	if !hasTime {
		return nil, errors.Join(ErrBadQuery, errors.New("annotations need a time column (a TIMESTAMP named time)"))
	}
	return f, nil
}

// variable is the first column as text: the values of a template variable.
func variable(res *duckdb.Result) (*data.Frame, error) {
	cols := res.Fields()
	if len(cols) == 0 {
		return nil, errors.Join(ErrBadQuery, errors.New("a variable query needs one column"))
	}
	return data.NewFrame("", data.NewField(cols[0].Name, nil, texts(cols[0]))), nil
}
