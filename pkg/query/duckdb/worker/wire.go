package worker

import (
	"errors"
	"fmt"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/query/duckdb"
)

// The protocol is gob over two pipes: the parent writes requests on one, the worker answers each
// with exactly one response on the other, in order. The first response, sent unasked, says
// whether the worker opened its engine.

type request struct {
	Op      string // "query" or "tables"
	SQL     string
	MaxRows int
}

type response struct {
	Err    *wireError
	Result *wireResult
	Tables []duckdb.TableInfo
}

// wireError carries an error's class and message; the parent rebuilds an error that matches the
// same sentinel.
type wireError struct {
	Kind string // refused, invalid, timeout, memory, or empty
	Msg  string
}

type wireResult struct {
	SQL       string
	Truncated bool
	MaxRows   int
	Columns   []wireColumn
}

// wireColumn is one result column: gob cannot send nil pointers inside a slice, so NULLs travel
// as a mask next to dense values.
type wireColumn struct {
	Name, Type string
	Kind       duckdb.Kind
	Null       []bool
	Strings    []string
	Ints       []int64
	Floats     []float64
	Bools      []bool
	Times      []time.Time
}

func encodeError(err error) *wireError {
	kind := ""
	switch {
	case errors.Is(err, duckdb.ErrRefused):
		kind = "refused"
	case errors.Is(err, duckdb.ErrInvalid):
		kind = "invalid"
	case errors.Is(err, duckdb.ErrTimeout):
		kind = "timeout"
	case errors.Is(err, duckdb.ErrMemory):
		kind = "memory"
	}
	return &wireError{Kind: kind, Msg: err.Error()}
}

// remoteError is an error the worker reported, with its message unchanged.
type remoteError struct {
	kind error
	msg  string
}

func (e *remoteError) Error() string { return e.msg }

func (e *remoteError) Is(target error) bool { return e.kind != nil && target == e.kind }

func (w *wireError) decode() error {
	var kind error
	switch w.Kind {
	case "refused":
		kind = duckdb.ErrRefused
	case "invalid":
		kind = duckdb.ErrInvalid
	case "timeout":
		kind = duckdb.ErrTimeout
	case "memory":
		kind = duckdb.ErrMemory
	}
	return &remoteError{kind: kind, msg: w.Msg}
}

func encodeResult(res *duckdb.Result) *wireResult {
	out := &wireResult{SQL: res.SQL, Truncated: res.Truncated, MaxRows: res.MaxRows}
	for _, f := range res.Fields() {
		c := wireColumn{Name: f.Name, Type: f.Type, Kind: f.Kind}
		switch v := f.Values.(type) {
		case []*string:
			c.Null, c.Strings = pack(v)
		case []*int64:
			c.Null, c.Ints = pack(v)
		case []*float64:
			c.Null, c.Floats = pack(v)
		case []*bool:
			c.Null, c.Bools = pack(v)
		case []*time.Time:
			c.Null, c.Times = pack(v)
		}
		out.Columns = append(out.Columns, c)
	}
	return out
}

func (w *wireResult) decode() (*duckdb.Result, error) {
	fields := make([]duckdb.Field, len(w.Columns))
	for i, c := range w.Columns {
		f := duckdb.Field{Name: c.Name, Type: c.Type, Kind: c.Kind}
		var err error
		switch c.Kind {
		case duckdb.KindString:
			f.Values, err = unpack(c.Null, c.Strings)
		case duckdb.KindInt64:
			f.Values, err = unpack(c.Null, c.Ints)
		case duckdb.KindFloat64:
			f.Values, err = unpack(c.Null, c.Floats)
		case duckdb.KindBool:
			f.Values, err = unpack(c.Null, c.Bools)
		case duckdb.KindTime:
			var ts []*time.Time
			ts, err = unpack(c.Null, c.Times)
			for _, t := range ts {
				if t != nil {
					*t = t.UTC()
				}
			}
			f.Values = ts
		default:
			err = fmt.Errorf("unknown kind %d", c.Kind)
		}
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", c.Name, err)
		}
		fields[i] = f
	}
	return duckdb.NewResult(w.SQL, fields, w.MaxRows, w.Truncated)
}

func pack[T any](v []*T) ([]bool, []T) {
	null := make([]bool, len(v))
	dense := make([]T, 0, len(v))
	for i, p := range v {
		if p == nil {
			null[i] = true
			continue
		}
		dense = append(dense, *p)
	}
	return null, dense
}

func unpack[T any](null []bool, dense []T) ([]*T, error) {
	out := make([]*T, len(null))
	j := 0
	for i, isNull := range null {
		if isNull {
			continue
		}
		if j >= len(dense) {
			return nil, errors.New("fewer values than the null mask says")
		}
		out[i] = &dense[j]
		j++
	}
	if j != len(dense) {
		return nil, errors.New("more values than the null mask says")
	}
	return out, nil
}
