package query

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/stlarchive/redshift-stl-archive/pkg/query/duckdb"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/duckdb/worker"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/macro"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/presets"
)

// Engine runs one SELECT over the archive with a row limit of its own.
type Engine interface {
	QueryLimit(ctx context.Context, sql string, maxRows int) (*duckdb.Result, error)
}

var (
	_ Engine = (*duckdb.Engine)(nil)
	_ Engine = (*worker.Pool)(nil)
)

// Service answers query models over one engine. The zero value is not usable: set Engine and
// Presets.
type Service struct {
	Engine  Engine
	Dialect macro.Dialect // default duckdb
	Presets *presets.Catalog
	// MaxRows is the datasource's row limit (config query.maxRows); 0 leaves it to the engine.
	MaxRows int
	// Status reads the export state for status queries and the export_health preset.
	Status func(ctx context.Context) ([]StatusRow, error)
	// Now is the clock of status frames; default time.Now.
	Now func() time.Time
	// Prepare, when set, runs before the engine with the expanded SQL and the query's time range:
	// an archive kept in S3 brings the files the query reads into the engine's root. The files
	// stay until release is called, after the engine has answered.
	Prepare func(ctx context.Context, sql string, from, to time.Time) (release func(), err error)
}

// Request is one query to answer.
type Request struct {
	Model    Model
	From, To time.Time
	// Interval is the panel's interval; zero picks one from the time range.
	Interval time.Duration
	// MaxRows is Grafana's SQL row limit for the request; 0 means none.
	MaxRows int
}

// Answer is the frames of one query and the SQL that ran (empty for status queries).
type Answer struct {
	Frames data.Frames
	SQL    string
}

// errFrames marks a failure to build frames from a result the engine did return: the plugin's
// fault, not the query's.
var errFrames = errors.New("build frames")

// IsFrameError reports whether err happened while building frames.
func IsFrameError(err error) bool { return errors.Is(err, errFrames) }

// IsUserError reports whether err is the query author's: a bad model, a bad macro, SQL the
// engine refused or rejected, or a query over the time limit.
func IsUserError(err error) bool {
	var me *macro.Error
	return errors.Is(err, ErrBadQuery) || errors.As(err, &me) || errors.Is(err, duckdb.ErrRefused) ||
		errors.Is(err, duckdb.ErrInvalid) || errors.Is(err, duckdb.ErrTimeout) || errors.Is(err, duckdb.ErrMemory)
}

// Run answers one query.
func (s *Service) Run(ctx context.Context, r Request) (Answer, error) {
	m, preset, err := Normalize(r.Model, s.Presets)
	if err != nil {
		return Answer{}, err
	}
	if m.QueryType == TypeStatus || preset != nil && preset.FromStatus() {
		return s.status(ctx, m.Format, m.Metric, m.Clusters)
	}
	text := m.RawSQL
	if preset != nil {
		if text, err = preset.Query(string(s.dialect())); err != nil {
			return Answer{}, badQuery("%v", err)
		}
	}
	sql, err := s.Expand(text, r.From, r.To, r.Interval, m.Clusters)
	if err != nil {
		return Answer{}, err
	}
	res, err := s.query(ctx, sql, r.From, r.To, s.rowLimit(r.MaxRows, m.Limit))
	if err != nil {
		return Answer{SQL: sql}, err
	}
	frames, err := Frames(res, m.Format, preset, m.RefID)
	if err != nil {
		return Answer{SQL: sql}, fmt.Errorf("%w: %w", errFrames, err)
	}
	for _, f := range frames {
		f.SetMeta(withExecuted(f.Meta, sql))
	}
	return Answer{Frames: frames, SQL: sql}, nil
}

// query runs sql on the engine, after Prepare when there is one.
func (s *Service) query(ctx context.Context, sql string, from, to time.Time, maxRows int) (*duckdb.Result, error) {
	if s.Prepare != nil {
		release, err := s.Prepare(ctx, sql, from, to)
		if err != nil {
			return nil, err
		}
		defer release()
	}
	return s.Engine.QueryLimit(ctx, sql, maxRows)
}

// Expand expands the macros of text for the service's dialect. A zero interval becomes one that
// gives a few hundred points over the range.
func (s *Service) Expand(text string, from, to time.Time, interval time.Duration, clusters []string) (string, error) {
	if interval <= 0 {
		interval = AutoInterval(from, to)
	}
	sql, err := macro.Expand(text, s.dialect(), macro.Env{From: from, To: to, Interval: interval, Clusters: clusters})
	if err != nil {
		return "", fmt.Errorf("expand macros: %w", err)
	}
	return sql, nil
}

func (s *Service) dialect() macro.Dialect {
	if s.Dialect == "" {
		return macro.DuckDB
	}
	return s.Dialect
}

// rowLimit is the smallest of the positive limits; 0 when there is none.
func (s *Service) rowLimit(limits ...int) int {
	out := s.MaxRows
	for _, l := range limits {
		if l > 0 && (out <= 0 || l < out) {
			out = l
		}
	}
	return out
}

// niceIntervals are the steps AutoInterval rounds up to.
var niceIntervals = []time.Duration{time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second,
	time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour,
	3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}

// AutoInterval is the interval of a query that has none (alert rules, the CLI): the range over
// about 300 points, rounded up to a step people read easily.
func AutoInterval(from, to time.Time) time.Duration {
	want := to.Sub(from) / 300
	for _, iv := range niceIntervals {
		if iv >= want {
			return iv
		}
	}
	return niceIntervals[len(niceIntervals)-1]
}

func withExecuted(meta *data.FrameMeta, sql string) *data.FrameMeta {
	if meta == nil {
		meta = &data.FrameMeta{}
	}
	meta.ExecutedQueryString = sql
	return meta
}
