package duckdb

import (
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Kind is the Go type of a Field's values.
type Kind int

const (
	KindString  Kind = iota // []*string
	KindInt64               // []*int64
	KindFloat64             // []*float64
	KindBool                // []*bool
	KindTime                // []*time.Time, always UTC
)

func (k Kind) String() string {
	switch k {
	case KindInt64:
		return "int64"
	case KindFloat64:
		return "float64"
	case KindBool:
		return "bool"
	case KindTime:
		return "time"
	}
	return "string"
}

// Field is one result column: its name, DuckDB's name for its type, and its values as a nullable
// typed slice (a nil pointer is SQL NULL), the shape a Grafana data frame field takes.
type Field struct {
	Name string
	// Type is DuckDB's type name, e.g. "BIGINT", "DECIMAL(18,3)", "TIMESTAMP", "VARCHAR[]".
	Type string
	Kind Kind
	// Values is []*string, []*int64, []*float64, []*bool or []*time.Time according to Kind.
	Values any
}

// Result is the columnar answer of one query.
type Result struct {
	// SQL is the statement that ran: the query inside the row-limit wrapper.
	SQL string
	// Truncated is set when the query had more than MaxRows rows; the first MaxRows are kept.
	Truncated bool
	// MaxRows is the row limit that applied.
	MaxRows int

	fields []Field
	rows   int
}

// Fields returns the columns in query order.
func (r *Result) Fields() []Field { return r.fields }

// Len returns the number of rows.
func (r *Result) Len() int { return r.rows }

// kindOf maps DuckDB's type name to the Go kind its values become. Integers up to 128 bits stay
// integers (sum() of an INTEGER column is a HUGEINT) while they fit in int64, and the column
// becomes float64 at the first value that does not (column.widen); decimals become floats, as Grafana plots
// them; nested and exotic types become text.
func kindOf(typeName string) Kind {
	switch typeName {
	case "BOOLEAN":
		return KindBool
	case "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
		"UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT":
		return KindInt64
	case "FLOAT", "DOUBLE":
		return KindFloat64
	case "DATE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMPTZ":
		return KindTime
	}
	if strings.HasPrefix(typeName, "DECIMAL") {
		return KindFloat64
	}
	return KindString
}

// column accumulates the values of one field.
type column struct {
	field   Field
	strings []*string
	ints    []*int64
	floats  []*float64
	bools   []*bool
	times   []*time.Time
}

func (c *column) add(v driver.Value) error {
	switch c.field.Kind {
	case KindInt64:
		if v == nil {
			c.ints = append(c.ints, nil)
			return nil
		}
		n, err := toInt64(v)
		if errors.Is(err, errOutOfRange) {
			// A HUGEINT or UBIGINT beyond int64 (a sum over bigint counters, say): the whole
			// column becomes float64 rather than failing the query; floats hold the magnitude.
			c.widen()
			return c.add(v)
		}
		if err != nil {
			return fmt.Errorf("column %s: %w", c.field.Name, err)
		}
		c.ints = append(c.ints, &n)
	case KindFloat64:
		if v == nil {
			c.floats = append(c.floats, nil)
			return nil
		}
		f, err := toFloat64(v)
		if err != nil {
			return fmt.Errorf("column %s: %w", c.field.Name, err)
		}
		c.floats = append(c.floats, &f)
	case KindBool:
		if v == nil {
			c.bools = append(c.bools, nil)
			return nil
		}
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("column %s: %T is not a bool", c.field.Name, v)
		}
		c.bools = append(c.bools, &b)
	case KindTime:
		if v == nil {
			c.times = append(c.times, nil)
			return nil
		}
		t, ok := v.(time.Time)
		if !ok {
			return fmt.Errorf("column %s: %T is not a time", c.field.Name, v)
		}
		t = t.UTC()
		c.times = append(c.times, &t)
	default:
		if v == nil {
			c.strings = append(c.strings, nil)
			return nil
		}
		s := toText(c.field.Type, v)
		c.strings = append(c.strings, &s)
	}
	return nil
}

// widen turns an integer column into a float64 one, keeping the values read so far.
func (c *column) widen() {
	c.floats = make([]*float64, len(c.ints))
	for i, n := range c.ints {
		if n != nil {
			f := float64(*n)
			c.floats[i] = &f
		}
	}
	c.ints = nil
	c.field.Kind = KindFloat64
}

func (c *column) finish() Field {
	f := c.field
	switch f.Kind {
	case KindInt64:
		f.Values = nonNil(c.ints)
	case KindFloat64:
		f.Values = nonNil(c.floats)
	case KindBool:
		f.Values = nonNil(c.bools)
	case KindTime:
		f.Values = nonNil(c.times)
	default:
		f.Values = nonNil(c.strings)
	}
	return f
}

// nonNil gives an empty result empty slices rather than nil ones, so a type switch on Values
// still tells the kind.
func nonNil[T any](s []*T) []*T {
	if s == nil {
		return []*T{}
	}
	return s
}

var errOutOfRange = errors.New("integer out of the 64-bit range; CAST it to DOUBLE")

func toInt64(v driver.Value) (int64, error) {
	switch n := v.(type) {
	case int8:
		return int64(n), nil
	case int16:
		return int64(n), nil
	case int32:
		return int64(n), nil
	case int64:
		return n, nil
	case int:
		return int64(n), nil
	case uint8:
		return int64(n), nil
	case uint16:
		return int64(n), nil
	case uint32:
		return int64(n), nil
	case uint64:
		if n > math.MaxInt64 {
			return 0, errOutOfRange
		}
		return int64(n), nil
	case *big.Int:
		if !n.IsInt64() {
			return 0, errOutOfRange
		}
		return n.Int64(), nil
	}
	return 0, fmt.Errorf("%T is not an integer", v)
}

func toFloat64(v driver.Value) (float64, error) {
	switch n := v.(type) {
	case float32:
		return float64(n), nil
	case float64:
		return n, nil
	case duckdb.Decimal:
		return n.Float64(), nil
	case *big.Int:
		f, _ := new(big.Float).SetInt(n).Float64()
		return f, nil
	case uint64:
		return float64(n), nil
	}
	if i, err := toInt64(v); err == nil {
		return float64(i), nil
	}
	return 0, fmt.Errorf("%T is not a number", v)
}

// toText renders any other value as text: UUIDs in their usual form, blobs as \x-prefixed hex,
// times of day and intervals readably, nested values as JSON.
func toText(typeName string, v driver.Value) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		if typeName == "UUID" && len(x) == 16 {
			return fmt.Sprintf("%x-%x-%x-%x-%x", x[0:4], x[4:6], x[6:8], x[8:10], x[10:16])
		}
		return `\x` + hex.EncodeToString(x)
	case time.Time:
		return x.Format("15:04:05.999999")
	case duckdb.Interval:
		return formatInterval(x)
	case fmt.Stringer:
		return x.String()
	case map[string]any, []any:
		if b, err := json.Marshal(x); err == nil {
			return string(b)
		}
	}
	return fmt.Sprint(v)
}

func formatInterval(iv duckdb.Interval) string {
	var parts []string
	if iv.Months != 0 {
		parts = append(parts, fmt.Sprintf("%d months", iv.Months))
	}
	if iv.Days != 0 {
		parts = append(parts, fmt.Sprintf("%d days", iv.Days))
	}
	if iv.Micros != 0 || len(parts) == 0 {
		parts = append(parts, (time.Duration(iv.Micros) * time.Microsecond).String())
	}
	return strings.Join(parts, " ")
}

// collect reads at most maxRows rows, and one more to learn whether there were more.
func collect(rows driver.Rows, maxRows int) (*Result, error) {
	names := rows.Columns()
	typed, _ := rows.(driver.RowsColumnTypeDatabaseTypeName)
	cols := make([]column, len(names))
	for i, name := range names {
		typeName := "VARCHAR"
		if typed != nil {
			typeName = typed.ColumnTypeDatabaseTypeName(i)
		}
		cols[i].field = Field{Name: name, Type: typeName, Kind: kindOf(typeName)}
	}
	res := &Result{MaxRows: maxRows}
	dest := make([]driver.Value, len(names))
	for {
		err := rows.Next(dest)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if res.rows == maxRows {
			res.Truncated = true
			break
		}
		for i := range cols {
			if err := cols[i].add(dest[i]); err != nil {
				return nil, err
			}
		}
		res.rows++
	}
	res.fields = make([]Field, len(cols))
	for i := range cols {
		res.fields[i] = cols[i].finish()
	}
	return res, nil
}
