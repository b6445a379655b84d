package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// archive builds a small archive in a temporary directory with DuckDB itself, through its own
// connection that has none of the engine's restrictions.
type archive struct {
	t    testing.TB
	root string
	db   *sql.DB
}

func newArchive(t testing.TB) *archive {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &archive{t: t, root: filepath.Join(t.TempDir(), "archive"), db: db}
}

// write stores the rows of query as the object of window (lo, lo+1h] of table on cluster.
func (a *archive) write(table, cluster string, lo time.Time, query string) string {
	a.t.Helper()
	path := filepath.Join(a.root, filepath.FromSlash(tables.ObjectKey(table, cluster, lo, lo.Add(time.Hour))))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		a.t.Fatal(err)
	}
	// Like the exporter: write under a temporary name, then rename into place, so that a reader
	// never meets a half-written object.
	tmp := path + ".tmp"
	if _, err := a.db.Exec(fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet)", query, quoteString(tmp))); err != nil {
		a.t.Fatalf("write %s: %v", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		a.t.Fatal(err)
	}
	return path
}

// queryRows is a stl_query-shaped select of n rows ending at end, with query ids from first.
func queryRows(first, n int, end time.Time) string {
	return fmt.Sprintf(`SELECT 100::INTEGER AS userid, (%d + i)::INTEGER AS query, 'default' AS label,
		(1000 + i)::BIGINT AS xid, 7::INTEGER AS pid, 'dev' AS database, 'select ' || i AS querytxt,
		TIMESTAMP '%s' - INTERVAL 1 SECOND AS starttime, TIMESTAMP '%s' AS endtime,
		0::INTEGER AS aborted, 0::INTEGER AS insert_pristine, 0::INTEGER AS concurrency_scaling_status
		FROM range(%d) r(i)`, first, end.Format("2006-01-02 15:04:05"), end.Format("2006-01-02 15:04:05"), n)
}

func open(t *testing.T, root string, opts Options) *Engine {
	t.Helper()
	e, err := Open(context.Background(), root, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func mustQuery(t *testing.T, e *Engine, q string) *Result {
	t.Helper()
	res, err := e.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return res
}

// scalarInt is the only value of a one-row, one-column integer result.
func scalarInt(t *testing.T, e *Engine, q string) int64 {
	t.Helper()
	res := mustQuery(t, e, q)
	vals, ok := res.Fields()[0].Values.([]*int64)
	if !ok || len(vals) != 1 || vals[0] == nil {
		t.Fatalf("%s: want one integer, got %#v", q, res.Fields()[0].Values)
	}
	return *vals[0]
}

var (
	day1 = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	day2 = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	day3 = time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
)
