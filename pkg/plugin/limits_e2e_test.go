package plugin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/stlarchive/redshift-stl-archive/pkg/internal/plugintest"
)

// The limits of the embedded engine, as Grafana meets them: through the compiled plugin binary
// launched with go-plugin. Every hostile statement is refused, or stopped within its time limit
// plus one second, or fails with a memory limit error; the workers' resident memory stays within
// the bound, the plugin process stays small, the archive's path appears in no answer, and the
// next query answers normally.
func TestHostileStatementsThroughThePluginBinaryHitLimitsThatHold(t *testing.T) {
	const (
		limit    = 2 * time.Second
		memoryMB = 512
		// A worker's RLIMIT_DATA is the query's memory + 256 MiB for the Go runtime and DuckDB's
		// own state + 8 MiB of stack per DuckDB thread, reserved rather than resident; its
		// resident set adds the binary's text and libraries.
		rssBound    = (memoryMB + 256 + 96) << 20
		pluginBound = 256 << 20
	)
	root := t.TempDir()
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		t.Fatal(err)
	}
	// A file DuckDB will complain about, by its path.
	bad := filepath.Join(real, "stl_ddltext", "cluster=c1", "day=2026-11-01", "0000-broken.parquet")
	if err := os.MkdirAll(filepath.Dir(bad), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("not parquet"), 0o644); err != nil {
		t.Fatal(err)
	}

	host := plugintest.Start(t, plugintest.Binary(t))
	raw, err := json.Marshal(map[string]any{
		"archive": map[string]any{"path": root},
		"export":  map[string]any{"enabled": false},
		"query":   map[string]any{"timeout": limit.String(), "memoryLimitMB": memoryMB, "workers": 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := plugintest.Settings{UID: "limits", JSONData: raw, Updated: time.Now().UnixMilli()}
	watch := watchRSS(t, host.PID())

	ctx := context.Background()
	run := func(sql string) (backend.DataResponse, time.Duration) {
		t.Helper()
		model, _ := json.Marshal(map[string]any{"refId": "A", "queryType": "sql", "rawSql": sql, "format": "table"})
		now := time.Now()
		began := time.Now()
		resp, err := host.QueryData(ctx, s, nil, backend.DataQuery{RefID: "A", QueryType: "sql", JSON: model,
			TimeRange: backend.TimeRange{From: now.Add(-time.Hour), To: now}})
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return resp.Responses["A"], time.Since(began)
	}
	answersNormally := func(after string) {
		t.Helper()
		r, _ := run("SELECT 42 AS answer, count(*) AS n FROM stl_query")
		if r.Error != nil || len(r.Frames) != 1 || r.Frames[0].Rows() != 1 {
			t.Fatalf("after %s the next query failed: %v", after, r.Error)
		}
		if v, _ := r.Frames[0].Fields[0].ConcreteAt(0); fmt.Sprint(v) != "42" {
			t.Fatalf("after %s the next query answered %v", after, v)
		}
	}
	answersNormally("start")

	type verdict int
	const (
		refused verdict = iota
		stopped
		outOfMemory
	)
	cases := []struct {
		class string
		sql   string
		want  verdict
	}{
		{"file reader", "SELECT * FROM read_csv('/etc/passwd')", refused},
		{"file reader", "SELECT * FROM read_text('" + real + "/../*')", refused},
		{"file reader", "SELECT * FROM glob('/*')", refused},
		{"file reader", "SELECT * FROM parquet_metadata('" + bad + "')", refused},
		{"file as table", "SELECT * FROM '/etc/passwd'", refused},
		{"file as table", "SELECT * FROM '" + bad + "'", refused},
		{"table function", "SELECT * FROM duckdb_settings()", refused},
		{"table function", "SELECT * FROM pragma_database_size()", refused},
		{"table function", "SELECT * FROM query('SELECT 1')", refused},
		{"table function", "SELECT * FROM query_table('stl_' || 'query')", refused},
		{"catalog view", "SELECT * FROM information_schema.tables", refused},
		{"catalog view", "SELECT * FROM duckdb_views", refused},
		{"catalog view", "SELECT * FROM sqlite_master", refused},
		{"catalog view", "SELECT * FROM pg_catalog.pg_class", refused},
		{"setting", "SELECT current_setting('allowed_directories')", refused},
		{"setting", "SET memory_limit = '100GB'", refused},
		{"setting", "RESET lock_configuration", refused},
		{"macro", "SELECT pg_get_viewdef(oid) FROM (SELECT 1 AS oid)", refused},
		{"macro", "SELECT format_type(1, 1)", refused},
		{"macro", "SELECT get_block_size('memory')", refused},
		{"macro", "SELECT pg_get_constraintdef(1)", refused},
		{"macro", "SELECT current_database(), current_schema()", refused},
		{"macro", "SELECT pg_sleep(60)", refused},
		{"statement", "COPY (SELECT 1) TO '/tmp/stlarchive-limits.csv'", refused},
		{"statement", "EXPORT DATABASE '/tmp/stlarchive-limits'", refused},
		{"statement", "ATTACH ':memory:' AS m", refused},
		{"statement", "INSTALL httpfs", refused},
		{"statement", "LOAD json", refused},
		{"statement", "CALL pragma_version()", refused},
		{"statement", "PRAGMA database_size", refused},
		{"statement", "SELECT 1; SELECT 2", refused},
		{"lambda", "SELECT list_transform([1], x -> current_setting('temp_directory'))", refused},
		{"lambda", "SELECT list_reduce([1, 2], (a, b) -> getvariable('x'))", refused},
		{"string-built", "SELECT json_serialize_plan('SELECT * FROM read_csv(''/etc/passwd'')')", refused},
		{"string-built", "SELECT getenv('HOME')", refused},
		{"qualified", "SELECT system.main.current_setting('threads')", refused},
		{"sequence", "SELECT nextval('s')", refused},
		// hash() keeps DuckDB from answering the count without reading the rows.
		{"time", "SELECT sum(hash(range)) FROM range(1000000000000)", stopped},
		{"time, one call", "SELECT levenshtein(repeat('a', 100000), repeat('b', 100000))", stopped},
		{"time, one call", "SELECT length(regexp_replace(repeat('ab', 50000000), 'a', 'cc', 'g'))", stopped},
		{"time, recursion", "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r", stopped},
		// A filter on both sides keeps the cross product from being counted by cardinality alone.
		{"time, join", "SELECT count(*) FROM range(1000000) a, range(1000000) b WHERE a.range + b.range < 0", stopped},
		{"time or memory, hash table", "SELECT max(i) FROM (SELECT i FROM range(300000000) t(i) GROUP BY i)", stopped},
		{"memory, one call", "SELECT len(range(200000000)) AS n", outOfMemory},
		{"memory, one call", "SELECT unnest(range(1000000000))", outOfMemory},
		{"memory, one call", "SELECT length(repeat(repeat('x', 1000000), 3000))", outOfMemory},
		{"memory, one call", "SELECT list_sum(range(3000000000))", outOfMemory},
		{"memory, growing", "SELECT list(repeat('x', 100) || i) FROM range(50000000) t(i)", outOfMemory},
		{"memory, growing", "SELECT string_agg(repeat('x', 1000), ',') FROM range(10000000)", outOfMemory},
	}
	for _, tc := range cases {
		r, took := run(tc.sql)
		msg := ""
		if r.Error != nil {
			msg = r.Error.Error()
		}
		ok := false
		switch tc.want {
		case refused:
			ok = strings.Contains(msg, "refused") || strings.Contains(msg, "not allowed")
		case stopped:
			// A query that runs out of memory before its time is also stopped by a limit.
			ok = (strings.Contains(msg, "time limit") && took <= limit+time.Second) || strings.Contains(msg, "memory limit")
		case outOfMemory:
			// A query can also reach its time limit first; either way a limit stopped it in time.
			ok = strings.Contains(msg, "memory limit") || strings.Contains(msg, "time limit") && took <= limit+time.Second
		}
		if !ok {
			t.Errorf("%s: %s: took %s, error %q", tc.class, tc.sql, took.Round(time.Millisecond), msg)
		}
		for _, p := range []string{root, real} {
			if strings.Contains(msg, p) {
				t.Errorf("%s: the error shows the archive path: %s", tc.sql, msg)
			}
		}
		if peak := watch.workerPeak(); peak > rssBound {
			t.Errorf("%s: a worker reached %d MiB, bound %d MiB", tc.sql, peak>>20, rssBound>>20)
		}
		answersNormally(tc.sql)
	}
	// A file DuckDB names in its error stays hidden; DuckDB's excerpt shows the user's SQL, not
	// the engine's row-limit wrapper.
	for _, sql := range []string{"SELECT count(*) FROM stl_ddltext", "SELECT 'x'::INTEGER AS n", "SELECT no_such_column FROM stl_query"} {
		r, _ := run(sql)
		if r.Error == nil {
			t.Errorf("%s: no error", sql)
			continue
		}
		msg := r.Error.Error()
		if strings.Contains(msg, real) || strings.Contains(msg, root) || strings.Contains(msg, "stl_archive_result") ||
			strings.Contains(msg, "SELECT * FROM (") || strings.Contains(msg, "query: query:") {
			t.Errorf("%s: %s", sql, msg)
		}
	}
	if peak := watch.pluginPeak(); peak > pluginBound {
		t.Errorf("the plugin process reached %d MiB", peak>>20)
	}
	t.Logf("peak RSS: workers %d MiB (bound %d MiB), plugin %d MiB", watch.workerPeak()>>20, rssBound>>20, watch.pluginPeak()>>20)
}

// rssWatch samples the peak resident set (VmHWM) of the plugin process and of its children.
type rssWatch struct {
	mu             sync.Mutex
	plugin, worker int64
}

func (w *rssWatch) workerPeak() int64 { w.mu.Lock(); defer w.mu.Unlock(); return w.worker }
func (w *rssWatch) pluginPeak() int64 { w.mu.Lock(); defer w.mu.Unlock(); return w.plugin }

func watchRSS(t *testing.T, pid int) *rssWatch {
	t.Helper()
	if pid == 0 {
		t.Fatal("no plugin pid")
	}
	w := &rssWatch{}
	done := make(chan struct{})
	stopped := make(chan struct{})
	t.Cleanup(func() { close(done); <-stopped })
	go func() {
		defer close(stopped)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			p := hwm(pid)
			var c int64
			for _, child := range children(pid) {
				c = max(c, hwm(child))
			}
			w.mu.Lock()
			w.plugin, w.worker = max(w.plugin, p), max(w.worker, c)
			w.mu.Unlock()
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

// children lists the child processes of pid from /proc/PID/task/*/children.
func children(pid int) []int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var out []int
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(s); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

func hwm(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
