// Package athena is the query engine for archives in S3: it runs one SELECT on Amazon Athena
// (start, poll with backoff, page through the results), stops the query when the caller gives up,
// and returns the same typed columns as the embedded engine, so that frames are built alike. It
// makes no other AWS call per query (the Glue tables are pkg/catalog's) and refuses anything but a
// SELECT or WITH query, since Athena would run DDL or UNLOAD as readily.
package athena

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/athena/types"

	"github.com/stlarchive/redshift-stl-archive/pkg/query/duckdb"
)

// API is the part of the Athena client a query uses; *athena.Client satisfies it.
type API interface {
	StartQueryExecution(ctx context.Context, in *athena.StartQueryExecutionInput, opts ...func(*athena.Options)) (*athena.StartQueryExecutionOutput, error)
	GetQueryExecution(ctx context.Context, in *athena.GetQueryExecutionInput, opts ...func(*athena.Options)) (*athena.GetQueryExecutionOutput, error)
	GetQueryResults(ctx context.Context, in *athena.GetQueryResultsInput, opts ...func(*athena.Options)) (*athena.GetQueryResultsOutput, error)
	StopQueryExecution(ctx context.Context, in *athena.StopQueryExecutionInput, opts ...func(*athena.Options)) (*athena.StopQueryExecutionOutput, error)
	// GetWorkGroup is the health check's, never a query's.
	GetWorkGroup(ctx context.Context, in *athena.GetWorkGroupInput, opts ...func(*athena.Options)) (*athena.GetWorkGroupOutput, error)
}

var _ API = (*athena.Client)(nil)

// Options say where queries run and what one may take. Zero values select the defaults.
type Options struct {
	// Workgroup is the Athena workgroup (Athena's default: primary).
	Workgroup string
	// OutputLocation is the s3:// prefix for result files; empty leaves it to the workgroup.
	OutputLocation string
	// Catalog is the data catalog (default AwsDataCatalog); Database the Glue database of the
	// archive tables (required: presets name the tables unqualified).
	Catalog  string
	Database string
	// ResultReuseMaxAge lets Athena answer from the results of an identical query at most this
	// old (rounded up to whole minutes, at most 7 days); 0 turns reuse off.
	ResultReuseMaxAge time.Duration
	// Timeout is the time limit of one query, queueing included (default 5 minutes).
	Timeout time.Duration
	// MaxRows is the most rows a result keeps (default 100000); more marks it Truncated.
	MaxRows int
	// PollMin and PollMax bound the wait between two looks at a running query: it starts at
	// PollMin and doubles up to PollMax (defaults 100 ms and 2 s).
	PollMin, PollMax time.Duration
}

const (
	defaultCatalog = "AwsDataCatalog"
	defaultTimeout = 5 * time.Minute
	defaultMaxRows = 100_000
	defaultPollMin = 100 * time.Millisecond
	defaultPollMax = 2 * time.Second
	// maxReuseAge is the longest result reuse Athena accepts (10080 minutes).
	maxReuseAge = 7 * 24 * time.Hour
	// pageSize is the largest page GetQueryResults returns.
	pageSize = 1000
	// stopTimeout bounds the StopQueryExecution sent after the caller gave up.
	stopTimeout = 10 * time.Second
)

func (o Options) withDefaults() Options {
	if o.Catalog == "" {
		o.Catalog = defaultCatalog
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	if o.MaxRows <= 0 {
		o.MaxRows = defaultMaxRows
	}
	if o.PollMin <= 0 {
		o.PollMin = defaultPollMin
	}
	if o.PollMax <= 0 {
		o.PollMax = defaultPollMax
	}
	if o.PollMax < o.PollMin {
		o.PollMax = o.PollMin
	}
	return o
}

// Engine answers SQL over the archive tables of one Glue database on Athena. It is safe for
// concurrent use.
type Engine struct {
	api  API
	opts Options
}

// New returns an engine that runs queries through api.
func New(api API, opts Options) (*Engine, error) {
	if api == nil {
		return nil, errors.New("athena engine: no Athena client")
	}
	if opts.Database == "" {
		return nil, errors.New("athena engine: no database: name the Glue database of the archive tables")
	}
	if opts.ResultReuseMaxAge < 0 || opts.ResultReuseMaxAge > maxReuseAge {
		return nil, fmt.Errorf("athena engine: result reuse age %s is not between 0 and %s", opts.ResultReuseMaxAge, maxReuseAge)
	}
	return &Engine{api: api, opts: opts.withDefaults()}, nil
}

// QueryLimit runs one SELECT (or WITH … SELECT) on Athena under the engine's time limit and keeps
// at most maxRows rows; zero, negative or larger values keep the engine's limit. Errors match
// duckdb.ErrRefused, duckdb.ErrInvalid or duckdb.ErrTimeout when the query is at fault, as the
// embedded engine's do.
func (e *Engine) QueryLimit(ctx context.Context, sql string, maxRows int) (*duckdb.Result, error) {
	if maxRows <= 0 || maxRows > e.opts.MaxRows {
		maxRows = e.opts.MaxRows
	}
	text, err := checkStatement(sql)
	if err != nil {
		return nil, fmt.Errorf("athena query: %w", err)
	}
	qctx, cancel := context.WithTimeout(ctx, e.opts.Timeout)
	defer cancel()

	id, err := e.start(qctx, text)
	if err != nil {
		return nil, e.fail(ctx, qctx, "", err)
	}
	exec, err := e.wait(qctx, id)
	if err != nil {
		var qe *QueryError
		if !errors.As(err, &qe) {
			// The query may still be queued or running: Athena would go on scanning (and
			// billing) for a caller that has gone.
			e.stop(ctx, id)
		}
		return nil, e.fail(ctx, qctx, id, err)
	}
	res, err := e.read(qctx, exec, maxRows)
	if err != nil {
		return nil, e.fail(ctx, qctx, id, err)
	}
	res.SQL = text
	return res, nil
}

// fail sorts an error by what ended the query: the caller, the time limit, or Athena.
func (e *Engine) fail(ctx, qctx context.Context, id string, err error) error {
	prefix := "athena query"
	if id != "" {
		prefix += " " + id
	}
	if ctx.Err() == nil && errors.Is(qctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w (limit %s): %w", prefix, duckdb.ErrTimeout, e.opts.Timeout, qctx.Err())
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", prefix, ctx.Err())
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

func (e *Engine) start(ctx context.Context, text string) (string, error) {
	in := &athena.StartQueryExecutionInput{
		QueryString: aws.String(text),
		QueryExecutionContext: &types.QueryExecutionContext{
			Catalog:  aws.String(e.opts.Catalog),
			Database: aws.String(e.opts.Database),
		},
	}
	if e.opts.Workgroup != "" {
		in.WorkGroup = aws.String(e.opts.Workgroup)
	}
	if e.opts.OutputLocation != "" {
		in.ResultConfiguration = &types.ResultConfiguration{OutputLocation: aws.String(e.opts.OutputLocation)}
	}
	if age := e.opts.ResultReuseMaxAge; age > 0 {
		minutes := int32((age + time.Minute - 1) / time.Minute)
		in.ResultReuseConfiguration = &types.ResultReuseConfiguration{
			ResultReuseByAgeConfiguration: &types.ResultReuseByAgeConfiguration{Enabled: true, MaxAgeInMinutes: aws.Int32(minutes)},
		}
	}
	out, err := e.api.StartQueryExecution(ctx, in)
	if err != nil {
		return "", fmt.Errorf("start: %w", classifyAPIError(err, e.opts))
	}
	if out.QueryExecutionId == nil || *out.QueryExecutionId == "" {
		return "", errors.New("start: Athena returned no query execution id")
	}
	return *out.QueryExecutionId, nil
}

// wait polls the query until it ends, waiting PollMin at first and twice as long each time up
// to PollMax: short queries answer fast, long ones cost few calls. Only SUCCEEDED returns no
// error.
func (e *Engine) wait(ctx context.Context, id string) (*types.QueryExecution, error) {
	delay := e.opts.PollMin
	timer := time.NewTimer(delay)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timer.C:
		}
		out, err := e.api.GetQueryExecution(ctx, &athena.GetQueryExecutionInput{QueryExecutionId: aws.String(id)})
		if err != nil {
			return nil, fmt.Errorf("poll: %w", err)
		}
		exec := out.QueryExecution
		if exec == nil || exec.Status == nil {
			return nil, errors.New("poll: Athena returned no query status")
		}
		switch exec.Status.State {
		case types.QueryExecutionStateSucceeded:
			return exec, nil
		case types.QueryExecutionStateFailed, types.QueryExecutionStateCancelled:
			return nil, newQueryError(exec.Status)
		}
		delay = min(2*delay, e.opts.PollMax)
		timer.Reset(delay)
	}
}

// stop asks Athena to stop the query. The caller's context is done by now, so the request gets
// a fresh one of its own; a failure is not reported: the query's own error is the news.
func (e *Engine) stop(ctx context.Context, id string) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
	defer cancel()
	_, _ = e.api.StopQueryExecution(sctx, &athena.StopQueryExecutionInput{QueryExecutionId: aws.String(id)})
}

// read pages through the results of a finished query until it has maxRows rows and knows
// whether there are more.
func (e *Engine) read(ctx context.Context, exec *types.QueryExecution, maxRows int) (*duckdb.Result, error) {
	var (
		b     *builder
		token *string
		// A DML result's first row is its header: the column names, not data. Every query the
		// engine lets through is DML.
		skipHeader = exec.StatementType == types.StatementTypeDml
		first      = true
	)
	for {
		// Ask for no more rows than can still be used (header and the one that tells
		// truncation included): a small limit then costs a small page.
		want := maxRows + 1
		if b != nil {
			want -= b.rows
		}
		if first && skipHeader {
			want++
		}
		out, err := e.api.GetQueryResults(ctx, &athena.GetQueryResultsInput{
			QueryExecutionId: exec.QueryExecutionId,
			MaxResults:       aws.Int32(int32(min(want, pageSize))),
			NextToken:        token,
		})
		if err != nil {
			return nil, fmt.Errorf("read results: %w", err)
		}
		if out.ResultSet == nil {
			return nil, errors.New("read results: Athena returned no result set")
		}
		rows := out.ResultSet.Rows
		if first {
			if out.ResultSet.ResultSetMetadata == nil {
				return nil, errors.New("read results: Athena returned no column metadata")
			}
			b = newBuilder(out.ResultSet.ResultSetMetadata.ColumnInfo)
			if len(rows) > 0 && skipHeader {
				rows = rows[1:]
			}
			first = false
		}
		for _, row := range rows {
			if b.rows == maxRows {
				return b.result(maxRows, true)
			}
			if err := b.add(row); err != nil {
				return nil, fmt.Errorf("read results: %w", err)
			}
		}
		token = out.NextToken
		if token == nil || *token == "" {
			return b.result(maxRows, false)
		}
	}
}

// WorkGroupCheck is what the health check learned of the workgroup.
type WorkGroupCheck struct {
	Workgroup string `json:"workgroup"`
	// OutputLocation is where results go: the workgroup's when it enforces its settings or the
	// datasource sets none.
	OutputLocation string `json:"outputLocation"`
	EngineVersion  string `json:"engineVersion"`
}

// Check asks Athena once (GetWorkGroup) whether queries can run as configured: the workgroup
// exists and is enabled, results have a location, and result reuse has engine version 3. Each
// problem names the setting to change. Queries never call it: Athena throttles GetWorkGroup.
func (e *Engine) Check(ctx context.Context) (WorkGroupCheck, error) {
	wg := e.opts.Workgroup
	if wg == "" {
		wg = "primary"
	}
	c := WorkGroupCheck{Workgroup: wg}
	out, err := e.api.GetWorkGroup(ctx, &athena.GetWorkGroupInput{WorkGroup: aws.String(wg)})
	if err != nil {
		if cerr := classifyAPIError(err, e.opts); errors.Is(cerr, ErrConfiguration) {
			return c, fmt.Errorf("athena workgroup %s: %w", wg, cerr)
		}
		return c, fmt.Errorf("athena workgroup %s: athena:GetWorkGroup: %w", wg, err)
	}
	w := out.WorkGroup
	if w == nil {
		return c, fmt.Errorf("athena workgroup %s: GetWorkGroup returned no workgroup", wg)
	}
	if w.State == types.WorkGroupStateDisabled {
		return c, fmt.Errorf("athena workgroup %s (query.athena.workgroup) is disabled: enable it or name another", wg)
	}
	var wgOutput string
	enforce := false
	if conf := w.Configuration; conf != nil {
		if conf.ResultConfiguration != nil {
			wgOutput = aws.ToString(conf.ResultConfiguration.OutputLocation)
		}
		enforce = aws.ToBool(conf.EnforceWorkGroupConfiguration)
		if v := conf.EngineVersion; v != nil {
			c.EngineVersion = aws.ToString(v.EffectiveEngineVersion)
			if c.EngineVersion == "" {
				c.EngineVersion = aws.ToString(v.SelectedEngineVersion)
			}
		}
	}
	c.OutputLocation = e.opts.OutputLocation
	if enforce || c.OutputLocation == "" {
		c.OutputLocation = wgOutput
	}
	if c.OutputLocation == "" {
		return c, fmt.Errorf("athena workgroup %s has no query result location: set query.athena.outputLocation or the workgroup's result location", wg)
	}
	if e.opts.ResultReuseMaxAge > 0 && strings.Contains(c.EngineVersion, "version 2") {
		return c, fmt.Errorf("athena workgroup %s runs %s: query.athena.resultReuse needs Athena engine version 3: upgrade the workgroup or set resultReuse to 0", wg, c.EngineVersion)
	}
	return c, nil
}
