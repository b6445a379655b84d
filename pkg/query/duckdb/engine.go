// Package duckdb is the embedded query engine: DuckDB in-process over the local Parquet archive.
// It owns one view per archived table, the lockdown of the engine (it reads only the archive
// root, writes nothing, loads no extension, and its configuration cannot be changed by a query),
// the refusal of anything but a single SELECT over those views, and the time and row limits of
// every query. It does not expand macros or build Grafana frames; its results are typed columns
// ready to become them.
package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Options bound what one query may take. Zero values select the defaults.
type Options struct {
	// Timeout is the time limit of one query (default 30 s).
	Timeout time.Duration
	// MaxRows is the most rows a result keeps (default 100000); more marks it Truncated.
	MaxRows int
	// MemoryLimit is DuckDB's memory_limit, e.g. "1GB" (default). There is no spilling to disk:
	// a query that needs more fails.
	MemoryLimit string
	// Threads is DuckDB's worker threads (default: one per CPU).
	Threads int
}

const (
	defaultTimeout     = 30 * time.Second
	defaultMaxRows     = 100_000
	defaultMemoryLimit = "1GB"
	// maxConns bounds concurrent queries. Each DuckDB query is itself parallel across Threads,
	// so a few connections keep a dashboard's panels moving without oversubscribing the CPU.
	maxConns = 4
)

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	if o.MaxRows <= 0 {
		o.MaxRows = defaultMaxRows
	}
	if o.MemoryLimit == "" {
		o.MemoryLimit = defaultMemoryLimit
	}
	return o
}

// Engine answers SQL over the archive under one root. It is safe for concurrent use.
type Engine struct {
	opts  Options
	db    *sql.DB
	views *catalog
}

// TableInfo describes one view for editor completion.
type TableInfo struct {
	Name    string
	Columns []ColumnInfo
}

// ColumnInfo is one column of a view with its DuckDB type.
type ColumnInfo struct {
	Name string
	Type string
}

// Open starts an in-memory DuckDB, locks it down to read only under root, and creates the views.
// root need not exist yet: the catalog tables then have empty views.
func Open(ctx context.Context, root string, opts Options) (*Engine, error) {
	opts = opts.withDefaults()
	root, err := canonicalRoot(root)
	if err != nil {
		return nil, fmt.Errorf("open engine: %w", err)
	}
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, fmt.Errorf("open engine: %w", err)
	}
	db := sql.OpenDB(connector)
	// One more than the queries: the catalog keeps a connection for its DDL.
	db.SetMaxOpenConns(maxConns + 1)
	db.SetMaxIdleConns(maxConns + 1)
	e := &Engine{opts: opts, db: db, views: &catalog{root: root}}
	if err := e.lockDown(ctx, root); err != nil {
		db.Close()
		return nil, fmt.Errorf("open engine: %w", err)
	}
	if e.views.ddl, err = db.Conn(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open engine: %w", err)
	}
	if err := e.views.refresh(ctx, true); err != nil {
		e.Close()
		return nil, fmt.Errorf("open engine: %w", err)
	}
	return e, nil
}

// canonicalRoot makes root absolute and resolves links, so that the paths in the views and in
// allowed_directories are the ones DuckDB compares. Glob characters would turn the root into a
// pattern and are refused.
func canonicalRoot(root string) (string, error) {
	if root == "" {
		return "", errors.New("archive root is empty")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", fmt.Errorf("archive root: %w", err)
	}
	if resolved, err := filepath.EvalSymlinks(abs); err == nil {
		abs = resolved
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("archive root: %w", err)
	}
	if strings.ContainsAny(abs, `*?[]{}\`) {
		return "", fmt.Errorf("archive root %q: glob characters are not supported", abs)
	}
	return filepath.Clean(abs), nil
}

// Close releases the engine. Queries running on it fail.
func (e *Engine) Close() error {
	if e.views.ddl != nil {
		e.views.ddl.Close()
	}
	if err := e.db.Close(); err != nil {
		return fmt.Errorf("close engine: %w", err)
	}
	return nil
}

// Query runs one SELECT (or WITH … SELECT) over the views under the engine's time and row
// limits. Errors match ErrRefused, ErrInvalid or ErrTimeout when the query is at fault.
func (e *Engine) Query(ctx context.Context, text string) (*Result, error) {
	return e.QueryLimit(ctx, text, 0)
}

// QueryLimit is Query with a row limit of its own for this query (Grafana's SQL row limit of the
// request, say). It can only lower the engine's limit: zero, negative or larger values keep it.
func (e *Engine) QueryLimit(ctx context.Context, text string, maxRows int) (*Result, error) {
	if maxRows <= 0 || maxRows > e.opts.MaxRows {
		maxRows = e.opts.MaxRows
	}
	qctx, cancel := context.WithTimeout(ctx, e.opts.Timeout)
	defer cancel()
	res, err := e.query(qctx, text, maxRows)
	if err == nil {
		return res, nil
	}
	if ctx.Err() == nil && errors.Is(qctx.Err(), context.DeadlineExceeded) {
		return nil, timeoutError(e.opts.Timeout, qctx.Err())
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	// Messages name no operation: the caller's prefix says what failed. They never show the
	// archive's path or the row-limit wrapper.
	return nil, Scrub(classify(err, e.views.root, e.opts.MemoryLimit), e.views.root)
}

// Root is the archive root the engine reads, as DuckDB sees it (absolute, links resolved).
func (e *Engine) Root() string { return e.views.root }

func (e *Engine) query(ctx context.Context, text string, maxRows int) (*Result, error) {
	if err := e.views.refresh(ctx, false); err != nil {
		return nil, err
	}
	// Take the view set before the connection: a query never holds a connection while it waits
	// for the catalog.
	views := e.views.snapshot()
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connection: %w", err)
	}
	defer conn.Close()

	if err := check(ctx, conn, text, views); err != nil {
		return nil, err
	}
	wrapped, err := limited(text, maxRows)
	if err != nil {
		return nil, err
	}
	// The wrapper is what runs, so it passes the same guard.
	if err := check(ctx, conn, wrapped, views); err != nil {
		return nil, err
	}
	res, err := run(ctx, conn, wrapped, maxRows)
	if err != nil && isNoFiles(err) {
		// A table's files went away (retention, or a test tidying up): rebuild the views from
		// what is there now and try once more.
		if rerr := e.views.refresh(ctx, true); rerr != nil {
			return nil, errors.Join(err, rerr)
		}
		res, err = run(ctx, conn, wrapped, maxRows)
	}
	var pe *prepareError
	if errors.As(err, &pe) {
		// Say what is wrong in the user's own text: prepared alone, it fails the same way
		// without the wrapper in DuckDB's excerpt. Only errors pay for the second prepare.
		if uerr := prepareOnly(conn, text); uerr != nil {
			return nil, uerr
		}
		return nil, pe.err
	}
	return res, err
}

// prepareError is a failure to prepare the wrapped statement.
type prepareError struct{ err error }

func (e *prepareError) Error() string { return e.err.Error() }
func (e *prepareError) Unwrap() error { return e.err }

// prepareOnly prepares text and closes it, returning DuckDB's error if any.
func prepareOnly(conn *sql.Conn, text string) error {
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*duckdb.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		st, err := c.Prepare(text)
		if err != nil {
			return err
		}
		return st.Close()
	})
}

// The row-limit wrapper's fixed parts, which error messages must not show.
const (
	wrapperHead  = "SELECT * FROM ("
	wrapperAlias = "stl_archive_result"
)

// limited wraps the query so that DuckDB itself stops after MaxRows+1 rows: its results are
// materialised before the first row is read, so a limit applied while reading would come too
// late to bound memory.
func limited(text string, maxRows int) (string, error) {
	spans := splitStatements(text)
	if len(spans) != 1 {
		return "", refused("%s", describeStatements(spans))
	}
	// The query starts on the wrapper's first line so that DuckDB's "LINE n" in error messages
	// points at the user's line; the newline before ")" ends a trailing line comment.
	start := spans[0].start
	if !strings.Contains(text[:start], ";") {
		start = 0 // keep leading comments and blank lines: they count in line numbers
	}
	body := text[start:spans[0].end]
	return fmt.Sprintf("%s%s\n) AS %s LIMIT %d", wrapperHead, body, wrapperAlias, maxRows+1), nil
}

// run prepares and executes one statement on conn. Prepare refuses more than one statement and
// reports the statement's type as DuckDB classified it, which must be SELECT.
func run(ctx context.Context, conn *sql.Conn, statement string, maxRows int) (*Result, error) {
	var res *Result
	err := conn.Raw(func(dc any) error {
		c, ok := dc.(*duckdb.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		prepared, err := c.Prepare(statement)
		if err != nil {
			return &prepareError{err}
		}
		stmt, ok := prepared.(*duckdb.Stmt)
		if !ok {
			prepared.Close()
			return fmt.Errorf("unexpected driver statement %T", prepared)
		}
		defer stmt.Close()
		kind, err := stmt.StatementType()
		if err != nil {
			return err
		}
		if kind != duckdb.STATEMENT_TYPE_SELECT {
			return refused("statement type %d is not SELECT", kind)
		}
		if n := stmt.NumInput(); n > 0 {
			return fmt.Errorf("%w: the query has %d parameter placeholders ($1, ?); write values into it", ErrInvalid, n)
		}
		rows, err := stmt.QueryContext(ctx, nil)
		if err != nil {
			return err
		}
		defer rows.Close()
		res, err = collect(rows, maxRows)
		return err
	})
	if err != nil {
		return nil, err
	}
	res.SQL = statement
	return res, nil
}

// classify sorts DuckDB's errors by whose fault they are.
func classify(err error, root, memoryLimit string) error {
	if errors.Is(err, ErrRefused) || errors.Is(err, ErrInvalid) {
		return err
	}
	var de *duckdb.Error
	if !errors.As(err, &de) {
		return err
	}
	if de.Type == duckdb.ErrorTypeOutOfMemory {
		// DuckDB's advice that follows (raise memory_limit, set a temp directory) is not the
		// user's to take.
		msg, _, _ := strings.Cut(de.Msg, "\n")
		return memoryError(memoryLimit, msg)
	}
	if strings.Contains(de.Msg, root+string(filepath.Separator)) {
		// About an object of the archive (a corrupt file, say): the archive's fault, whatever
		// DuckDB's error type.
		return err
	}
	switch de.Type {
	case duckdb.ErrorTypePermission:
		// The engine's own lockdown stopped something the guard let through.
		return &RefusedError{Reason: de.Msg}
	case duckdb.ErrorTypeParser, duckdb.ErrorTypeSyntax, duckdb.ErrorTypeBinder, duckdb.ErrorTypeCatalog,
		duckdb.ErrorTypeConversion, duckdb.ErrorTypeOutOfRange, duckdb.ErrorTypeDivideByZero,
		duckdb.ErrorTypeMismatchType, duckdb.ErrorTypeInvalidType, duckdb.ErrorTypeInvalidInput,
		duckdb.ErrorTypeExpression, duckdb.ErrorTypeParameterNotResolved, duckdb.ErrorTypeParameterNotAllowed,
		duckdb.ErrorTypeNotImplemented, duckdb.ErrorTypeDecimal:
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return err
}

func isNoFiles(err error) bool {
	var de *duckdb.Error
	return errors.As(err, &de) && strings.Contains(de.Msg, "No files found that match the pattern")
}

// Tables lists the views and their columns, for editor completion.
func (e *Engine) Tables(ctx context.Context) ([]TableInfo, error) {
	if err := e.views.refresh(ctx, false); err != nil {
		return nil, fmt.Errorf("tables: %w", err)
	}
	rows, err := e.db.QueryContext(ctx, `SELECT table_name, column_name, data_type FROM duckdb_columns()
		WHERE database_name = 'memory' AND schema_name = 'main' ORDER BY table_name, column_index`)
	if err != nil {
		return nil, fmt.Errorf("tables: %w", err)
	}
	defer rows.Close()
	var out []TableInfo
	for rows.Next() {
		var table, column, typ string
		if err := rows.Scan(&table, &column, &typ); err != nil {
			return nil, fmt.Errorf("tables: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].Name != table {
			out = append(out, TableInfo{Name: table})
		}
		last := &out[len(out)-1]
		last.Columns = append(last.Columns, ColumnInfo{Name: column, Type: typ})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tables: %w", err)
	}
	return out, nil
}
