package athena

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/athena/types"

	"github.com/stlarchive/redshift-stl-archive/pkg/query/duckdb"
)

// kindOf maps the type Athena names in a result's column metadata to the Go kind its values
// become, as the embedded engine does: integers stay integers, decimals become floats (Grafana
// plots them), dates and timestamps become times, and nested or exotic types stay text in
// Athena's rendering.
func kindOf(athenaType string) duckdb.Kind {
	switch baseType(athenaType) {
	case "boolean":
		return duckdb.KindBool
	case "tinyint", "smallint", "integer", "int", "bigint":
		return duckdb.KindInt64
	case "double", "float", "real", "decimal":
		return duckdb.KindFloat64
	case "date", "timestamp", "timestamp with time zone":
		return duckdb.KindTime
	}
	return duckdb.KindString
}

// baseType is a type name without parameters, lower case: "timestamp(3) with time zone" and
// "TIMESTAMP WITH TIME ZONE" are both "timestamp with time zone".
func baseType(t string) string {
	t = strings.ToLower(strings.TrimSpace(t))
	for {
		i := strings.IndexByte(t, '(')
		if i < 0 {
			return strings.Join(strings.Fields(t), " ")
		}
		j := strings.IndexByte(t[i:], ')')
		if j < 0 {
			return strings.Join(strings.Fields(t[:i]), " ")
		}
		t = t[:i] + " " + t[i+j+1:]
	}
}

// typeName is the column's type as a reader knows it: decimals with their precision and scale.
func typeName(c types.ColumnInfo) string {
	t := ""
	if c.Type != nil {
		t = *c.Type
	}
	if baseType(t) == "decimal" && c.Precision > 0 {
		return fmt.Sprintf("decimal(%d,%d)", c.Precision, c.Scale)
	}
	return t
}

// builder accumulates the rows of a result column by column.
type builder struct {
	fields []duckdb.Field
	cols   []column
	rows   int
}

// column holds the values of one field; only the slice of its kind is used.
type column struct {
	strings []*string
	ints    []*int64
	floats  []*float64
	bools   []*bool
	times   []*time.Time
}

func newBuilder(info []types.ColumnInfo) *builder {
	b := &builder{fields: make([]duckdb.Field, len(info)), cols: make([]column, len(info))}
	for i, c := range info {
		name := ""
		if c.Name != nil {
			name = *c.Name
		}
		t := typeName(c)
		b.fields[i] = duckdb.Field{Name: name, Type: t, Kind: kindOf(t)}
	}
	return b
}

func (b *builder) add(row types.Row) error {
	if len(row.Data) != len(b.fields) {
		return fmt.Errorf("row %d has %d values for %d columns", b.rows+1, len(row.Data), len(b.fields))
	}
	for i, d := range row.Data {
		if err := b.cols[i].add(b.fields[i].Kind, d.VarCharValue); err != nil {
			return fmt.Errorf("row %d, column %s (%s): %w", b.rows+1, b.fields[i].Name, b.fields[i].Type, err)
		}
	}
	b.rows++
	return nil
}

func (b *builder) result(maxRows int, truncated bool) (*duckdb.Result, error) {
	fields := make([]duckdb.Field, len(b.fields))
	for i, f := range b.fields {
		f.Values = b.cols[i].values(f.Kind)
		fields[i] = f
	}
	return duckdb.NewResult("", fields, maxRows, truncated)
}

// add parses one value as Athena renders it in results; a nil value is SQL NULL.
func (c *column) add(kind duckdb.Kind, v *string) error {
	switch kind {
	case duckdb.KindInt64:
		if v == nil {
			c.ints = append(c.ints, nil)
			return nil
		}
		n, err := strconv.ParseInt(*v, 10, 64)
		if err != nil {
			return err
		}
		c.ints = append(c.ints, &n)
	case duckdb.KindFloat64:
		if v == nil {
			c.floats = append(c.floats, nil)
			return nil
		}
		// ParseFloat reads Athena's NaN, Infinity and -Infinity too.
		f, err := strconv.ParseFloat(*v, 64)
		if err != nil {
			return err
		}
		c.floats = append(c.floats, &f)
	case duckdb.KindBool:
		if v == nil {
			c.bools = append(c.bools, nil)
			return nil
		}
		b, err := strconv.ParseBool(*v)
		if err != nil {
			return err
		}
		c.bools = append(c.bools, &b)
	case duckdb.KindTime:
		if v == nil {
			c.times = append(c.times, nil)
			return nil
		}
		t, err := parseTime(*v)
		if err != nil {
			return err
		}
		c.times = append(c.times, &t)
	default:
		c.strings = append(c.strings, v)
	}
	return nil
}

func (c *column) values(kind duckdb.Kind) any {
	switch kind {
	case duckdb.KindInt64:
		return nonNil(c.ints)
	case duckdb.KindFloat64:
		return nonNil(c.floats)
	case duckdb.KindBool:
		return nonNil(c.bools)
	case duckdb.KindTime:
		return nonNil(c.times)
	}
	return nonNil(c.strings)
}

// nonNil gives an empty result empty slices, so that a type switch on Values still tells the
// kind.
func nonNil[T any](s []*T) []*T {
	if s == nil {
		return []*T{}
	}
	return s
}

// Layouts of Athena's dates and timestamps in results. The fraction has as many digits as the
// type's precision (3 for Athena's timestamps), or none.
const (
	dateLayout      = "2006-01-02"
	timestampLayout = "2006-01-02 15:04:05.999999999"
)

// parseTime reads a date, a timestamp, or a timestamp with time zone ("… UTC", "… +02:00", "…
// Europe/Paris"). Plain timestamps are UTC wall times, as the archive stores STL times; every
// time comes back in UTC.
func parseTime(s string) (time.Time, error) {
	if len(s) == len(dateLayout) {
		return time.Parse(dateLayout, s)
	}
	plain := s
	if len(s) > 10 && s[10] == 'T' {
		plain = s[:10] + " " + s[11:]
	}
	if t, err := time.Parse(timestampLayout, plain); err == nil {
		return t, nil
	}
	i := strings.LastIndexByte(s, ' ')
	if i < 0 {
		return time.Time{}, fmt.Errorf("%q is not a date or timestamp", s)
	}
	wall, zone := s[:i], s[i+1:]
	var loc *time.Location
	switch {
	case zone == "UTC" || zone == "Z":
		loc = time.UTC
	case strings.HasPrefix(zone, "+") || strings.HasPrefix(zone, "-"):
		off, err := time.Parse("-07:00", zone)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q: zone offset: %w", s, err)
		}
		loc = off.Location()
	default:
		l, err := time.LoadLocation(zone)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q: %w", s, err)
		}
		loc = l
	}
	t, err := time.ParseInLocation(timestampLayout, wall, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a timestamp with time zone: %w", s, err)
	}
	return t.UTC(), nil
}
