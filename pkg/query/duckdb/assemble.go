package duckdb

import (
	"fmt"
	"time"
)

// NewResult assembles a result from columns another engine read (Athena, say), so that every
// engine's answers become frames the same way. Each field's Values must be the typed slice its
// Kind names, and all of one length; truncated says the engine stopped at maxRows with more rows
// left.
func NewResult(sql string, fields []Field, maxRows int, truncated bool) (*Result, error) {
	res := &Result{SQL: sql, MaxRows: maxRows, Truncated: truncated, fields: make([]Field, len(fields))}
	for i, f := range fields {
		n, ok := valuesLen(f)
		if !ok {
			return nil, fmt.Errorf("new result: column %s: values %T do not match kind %s", f.Name, f.Values, f.Kind)
		}
		if i > 0 && n != res.rows {
			return nil, fmt.Errorf("new result: column %s has %d rows, column %s has %d", f.Name, n, fields[0].Name, res.rows)
		}
		res.rows = n
		res.fields[i] = f
	}
	return res, nil
}

// valuesLen is the number of values of f, and whether their type is the one f's Kind names.
func valuesLen(f Field) (int, bool) {
	switch f.Kind {
	case KindString:
		v, ok := f.Values.([]*string)
		return len(v), ok
	case KindInt64:
		v, ok := f.Values.([]*int64)
		return len(v), ok
	case KindFloat64:
		v, ok := f.Values.([]*float64)
		return len(v), ok
	case KindBool:
		v, ok := f.Values.([]*bool)
		return len(v), ok
	case KindTime:
		v, ok := f.Values.([]*time.Time)
		return len(v), ok
	}
	return 0, false
}
