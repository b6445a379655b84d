package worker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/query/duckdb"
)

// The test binary is the worker: this package's init serves when the pool re-executes it.

func openPool(t *testing.T, root string, opts Options) *Pool {
	t.Helper()
	if opts.Engine.Timeout == 0 {
		opts.Engine.Timeout = 2 * time.Second
	}
	if opts.Engine.MemoryLimit == "" {
		opts.Engine.MemoryLimit = "256MiB"
	}
	if opts.Engine.Threads == 0 {
		opts.Engine.Threads = 2
	}
	p, err := Open(context.Background(), root, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestResultsCrossThePipeTypedWithTheirNulls(t *testing.T) {
	p := openPool(t, t.TempDir(), Options{})
	res, err := p.Query(context.Background(), `SELECT * FROM (VALUES
		(1::BIGINT, 'a', 1.5::DOUBLE, true, TIMESTAMP '2026-11-02 10:00:00'),
		(NULL, NULL, NULL, NULL, NULL),
		(3, 'c', NULL, false, TIMESTAMP '2026-11-03 00:00:00')) v(i, s, f, b, ts) ORDER BY i NULLS LAST`)
	if err != nil {
		t.Fatal(err)
	}
	if res.Len() != 3 || len(res.Fields()) != 5 {
		t.Fatalf("%d rows, %d fields", res.Len(), len(res.Fields()))
	}
	f := res.Fields()
	ints := f[0].Values.([]*int64)
	strs := f[1].Values.([]*string)
	floats := f[2].Values.([]*float64)
	bools := f[3].Values.([]*bool)
	times := f[4].Values.([]*time.Time)
	if *ints[0] != 1 || *ints[1] != 3 || ints[2] != nil || *strs[1] != "c" || strs[2] != nil || *floats[0] != 1.5 ||
		floats[1] != nil || *bools[1] != false || !times[1].Equal(time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)) || times[2] != nil {
		t.Errorf("values changed on the way: %v %v %v %v %v", ints, strs, floats, bools, times)
	}
	if f[4].Type != "TIMESTAMP" || f[0].Kind != duckdb.KindInt64 || !strings.Contains(res.SQL, "LIMIT") {
		t.Errorf("fields %+v, SQL %q", f, res.SQL)
	}
	if times[0].Location() != time.UTC {
		t.Errorf("time in %v, want UTC", times[0].Location())
	}
}

func TestErrorsKeepTheirClassAcrossThePipe(t *testing.T) {
	p := openPool(t, t.TempDir(), Options{})
	for q, want := range map[string]error{
		"SELECT * FROM read_csv('/etc/passwd')": duckdb.ErrRefused,
		"SELECT no_such_column":                 duckdb.ErrInvalid,
		"SELECT pg_get_viewdef(1)":              duckdb.ErrRefused,
	} {
		_, err := p.Query(context.Background(), q)
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", q, err, want)
		}
	}
	if st := p.Stats(); st.Killed != 0 || st.Started != 1 {
		t.Errorf("stats %+v: errors must not cost a worker", st)
	}
}

// Queries over the memory limit fail with ErrMemory — those DuckDB's memory_limit sees and the
// single huge allocations it does not, which the OS bound stops — and the worker stays within
// its bound; the pool replaces it (DuckDB keeps what it cached) and answers the next query.
func TestMemoryLimitHoldsForEveryAllocation(t *testing.T) {
	p := openPool(t, t.TempDir(), Options{Engine: duckdb.Options{Timeout: 5 * time.Second}})
	_, bound := p.Limits()
	for _, q := range []string{
		"SELECT len(range(200000000)) AS n",
		"SELECT length(repeat(repeat('x', 1000000), 3000))",
		"SELECT list_sum(range(3000000000))",
		"SELECT string_agg(repeat('x', 1000), ',') FROM range(10000000)",
		"SELECT list_sort(list_transform(range(40000000), x -> x % 7)) AS l",
		// Many small allocations: an aggregate state, and a result the worker itself collects.
		"SELECT list(repeat('x', 100) || i) FROM range(20000000) t(i)",
		"SELECT repeat('x', 100000) || i AS s FROM range(100000) t(i)",
		"SELECT repeat('x', 1500) || i AS s FROM range(100000) t(i)",
	} {
		killed := p.Stats().Killed
		_, err := p.Query(context.Background(), q)
		t.Logf("%s: %v (peak RSS %d MiB)", q, err, p.PeakRSS()>>20)
		if errors.Is(err, duckdb.ErrMemory) && p.Stats().Killed == killed {
			t.Errorf("%s: the worker that ran out of memory was kept for the next query", q)
		}
		if !errors.Is(err, duckdb.ErrMemory) && !errors.Is(err, duckdb.ErrTimeout) {
			t.Errorf("%s: %v, want a memory limit error", q, err)
		} else if errors.Is(err, duckdb.ErrMemory) && !strings.Contains(err.Error(), "memory limit") {
			t.Errorf("%s: %v does not say memory limit", q, err)
		}
		if rss := p.PeakRSS(); rss <= 0 || uint64(rss) > bound+rssText {
			t.Errorf("%s: worker peak RSS %d MiB, bound %d MiB + %d MiB", q, rss>>20, bound>>20, rssText>>20)
		}
		if _, err := p.Query(context.Background(), "SELECT 42"); err != nil {
			t.Fatalf("after %s: %v", q, err)
		}
	}
}

// rssText is what a worker's resident set may hold beside RLIMIT_DATA: the binary's text and
// read-only data, shared libraries and the main stack.
const rssText = 96 << 20

// A query that sits in one function call past its limit is killed: DuckDB's interrupt is only
// seen between vectors. The pool replaces the worker and the next query answers.
func TestTimeLimitStopsAQueryInsideOneFunctionCall(t *testing.T) {
	p := openPool(t, t.TempDir(), Options{Engine: duckdb.Options{Timeout: time.Second}})
	_, err := p.Query(context.Background(), "SELECT levenshtein(repeat('a', 100000), repeat('b', 100000))")
	if !errors.Is(err, duckdb.ErrTimeout) {
		t.Fatalf("%v, want a time limit error", err)
	}
	if st := p.Stats(); st.Killed != 1 {
		t.Errorf("stats %+v, want one worker killed", st)
	}
	if _, err := p.Query(context.Background(), "SELECT 1"); err != nil {
		t.Fatal(err)
	}
}

// A caller that gives up (Grafana cancelling a panel) gets its cancellation, not a time limit,
// and the worker busy with it is replaced.
func TestCancelledQueryFreesItsWorker(t *testing.T) {
	p := openPool(t, t.TempDir(), Options{Workers: 1, Engine: duckdb.Options{Timeout: time.Minute}})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := p.Query(ctx, "SELECT levenshtein(repeat('a', 100000), repeat('b', 100000))")
		errc <- err
	}()
	waitFor(t, func() bool { return busy(p) })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) || errors.Is(err, duckdb.ErrTimeout) {
		t.Fatalf("%v, want context.Canceled", err)
	}
	if _, err := p.Query(context.Background(), "SELECT 1"); err != nil {
		t.Fatal(err)
	}
}

// Dashboard panels run at once, each in its own worker: a small query answers while others
// are still running.
func TestQueriesRunInParallelWorkers(t *testing.T) {
	p := openPool(t, t.TempDir(), Options{Workers: 3, Engine: duckdb.Options{Timeout: 3 * time.Second, Threads: 1}})
	var wg sync.WaitGroup
	long := make(chan error, 2)
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := p.Query(context.Background(), "SELECT levenshtein(repeat('a', 100000), repeat('b', 100000))")
			long <- err
		}()
	}
	waitFor(t, func() bool { return len(p.PIDs()) >= 2 && len(p.idle) == 0 })
	if _, err := p.Query(context.Background(), "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-long:
		t.Fatalf("a long query ended before the small one answered: %v", err)
	default:
	}
	wg.Wait()
	close(long)
	for err := range long {
		if !errors.Is(err, duckdb.ErrTimeout) {
			t.Errorf("long query: %v", err)
		}
	}
}

// The archive's path never reaches an error, also when DuckDB's message is about one of its
// files; and the worker's engine is the locked-down one.
func TestErrorsDoNotShowTheArchivePath(t *testing.T) {
	root := t.TempDir()
	bad := filepath.Join(root, "stl_query", "cluster=c1", "day=2026-11-01", "0000.parquet")
	if err := os.MkdirAll(filepath.Dir(bad), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("not parquet"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := openPool(t, root, Options{})
	real, _ := filepath.EvalSymlinks(root)
	for _, q := range []string{"SELECT count(*) FROM stl_query", "SELECT * FROM '" + bad + "'",
		"SELECT current_setting('allowed_directories')", "SELECT pg_get_viewdef(oid) FROM stl_query"} {
		_, err := p.Query(context.Background(), q)
		if err == nil {
			t.Errorf("%s: no error", q)
			continue
		}
		if strings.Contains(err.Error(), root) || strings.Contains(err.Error(), real) {
			t.Errorf("%s: %v shows the archive path", q, err)
		}
	}
}

func TestParseBytesReadsDuckDBUnits(t *testing.T) {
	for s, want := range map[string]uint64{"1GB": 1e9, "512MiB": 512 << 20, "2 GiB": 2 << 30, "100kb": 1e5, "1024": 1024} {
		if got, err := ParseBytes(s); err != nil || got != want {
			t.Errorf("%s: %d %v, want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "GB", "-1GB", "1XB"} {
		if _, err := ParseBytes(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func busy(p *Pool) bool { return len(p.idle) == 0 && len(p.PIDs()) > 0 }

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A worker that died while idle (the kernel's OOM killer, say) is replaced, not handed a query.
func TestWorkerDeadWhileIdleIsReplaced(t *testing.T) {
	p := openPool(t, t.TempDir(), Options{Workers: 1})
	pids := p.PIDs()
	if len(pids) != 1 {
		t.Fatalf("pids %v", pids)
	}
	proc, err := os.FindProcess(pids[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := proc.Kill(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(p.PIDs()) == 0 })
	if _, err := p.Query(context.Background(), "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.Started != 2 {
		t.Errorf("stats %+v, want a second worker", st)
	}
}
