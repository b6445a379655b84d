package compact_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/stlarchive/redshift-stl-archive/pkg/compact"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/parquetfile"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/source"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/storage"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/duckdb"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

var day1 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// closedBefore closes every day before a given one.
type closedBefore time.Time

func (c closedBefore) Closed(ctx context.Context, table, cluster string, day time.Time) (bool, error) {
	return day.Before(time.Time(c)), nil
}

var queryCols = []source.Column{{Name: "userid", Kind: source.KindInt32}, {Name: "query", Kind: source.KindInt32},
	{Name: "label", Kind: source.KindText}, {Name: "querytxt", Kind: source.KindText},
	{Name: "starttime", Kind: source.KindTimestamp}, {Name: "endtime", Kind: source.KindTimestamp},
	{Name: "aborted", Kind: source.KindInt32}}

// writeWindows writes n windows of 5 minutes from the start of day into a local archive, each
// with its rows in a shuffled order (as the source returns them) and some NULLs.
func writeWindows(t *testing.T, a storage.Archive, cluster string, day time.Time, n, rowsPer int, seed uint64) {
	t.Helper()
	writeWindowsFrom(t, a, cluster, day, 0, n, rowsPer, seed)
}

// writeWindowsFrom writes the windows from, from+1, … from+n-1 of 5 minutes of day.
func writeWindowsFrom(t *testing.T, a storage.Archive, cluster string, day time.Time, from, n, rowsPer int, seed uint64) {
	t.Helper()
	for w := from; w < from+n; w++ {
		lo := day.Add(time.Duration(w) * 5 * time.Minute)
		hi := lo.Add(5 * time.Minute)
		if w == 0 {
			lo = lo.Add(-time.Microsecond)
		}
		writeWindow(t, a, cluster, lo, hi, rowsPer, seed*1000+uint64(w))
	}
}

// writeWindow writes the window (lo, hi] with rowsPer rows in a shuffled order.
func writeWindow(t *testing.T, a storage.Archive, cluster string, lo, hi time.Time, rowsPer int, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	q := int(seed) * 1_000
	{
		b := &source.Batch{Len: rowsPer, Cols: make([]source.Vector, len(queryCols))}
		for i := range rowsPer {
			end := lo.Add(time.Duration(1+r.IntN(int(hi.Sub(lo)/time.Microsecond)-1)) * time.Microsecond)
			for c := range queryCols {
				b.Cols[c].Null = append(b.Cols[c].Null, c == 6 && i%5 == 0)
			}
			q++
			b.Cols[0].Ints = append(b.Cols[0].Ints, int64(100+i%3))
			b.Cols[1].Ints = append(b.Cols[1].Ints, int64(q))
			appendText(&b.Cols[2], "default")
			appendText(&b.Cols[3], fmt.Sprintf("select %d from t%d", q, i%7))
			b.Cols[4].Ints = append(b.Cols[4].Ints, end.Add(-time.Second).UnixMicro())
			b.Cols[5].Ints = append(b.Cols[5].Ints, end.UnixMicro())
			b.Cols[6].Ints = append(b.Cols[6].Ints, int64(i%2))
		}
		obj, err := a.Create(context.Background(), tables.ObjectKey("stl_query", cluster, lo, hi))
		if err != nil {
			t.Fatal(err)
		}
		pw, err := parquetfile.NewWriter(obj, queryCols)
		if err != nil {
			t.Fatal(err)
		}
		if err := pw.Write(b); err != nil {
			t.Fatal(err)
		}
		if err := pw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := obj.Commit(); err != nil {
			t.Fatal(err)
		}
	}
}

func appendText(v *source.Vector, s string) {
	v.Bytes = append(v.Bytes, s...)
	v.Ends = append(v.Ends, len(v.Bytes))
}

func openEngine(t *testing.T, root string) *duckdb.Engine {
	t.Helper()
	e, err := duckdb.Open(context.Background(), root, duckdb.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// answerSQL counts and checksums every row per cluster and day: a row seen twice or missed
// changes it.
const answerSQL = `SELECT cluster, CAST(day AS VARCHAR) AS d, count(*) AS n, CAST(sum(hash(query, endtime, querytxt, aborted)) AS VARCHAR) AS h
	FROM stl_query GROUP BY ALL ORDER BY ALL`

func answer(t *testing.T, e *duckdb.Engine) string {
	t.Helper()
	res, err := e.Query(context.Background(), answerSQL)
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	return render(res)
}

func render(res *duckdb.Result) string {
	var b strings.Builder
	for i := range res.Len() {
		for _, f := range res.Fields() {
			switch v := f.Values.(type) {
			case []*string:
				fmt.Fprintf(&b, "%v|", deref(v[i]))
			case []*int64:
				fmt.Fprintf(&b, "%v|", deref(v[i]))
			case []*float64:
				fmt.Fprintf(&b, "%v|", deref(v[i]))
			default:
				fmt.Fprintf(&b, "%T|", v)
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func deref[T any](p *T) any {
	if p == nil {
		return "NULL"
	}
	return *p
}

func stlQuery(t *testing.T) tables.Table {
	tq, ok := tables.Lookup("stl_query")
	if !ok {
		t.Fatal("no stl_query")
	}
	return tq
}

func TestCompactedDayAnswersLikeItsWindowsAndIsSortedByTime(t *testing.T) {
	root := t.TempDir()
	a := storage.Local{Root: root}
	writeWindows(t, a, "c1", day1, 12, 50, 1)
	writeWindows(t, a, "c1", day1.AddDate(0, 0, 1), 12, 50, 2)
	writeWindows(t, a, "c2", day1, 6, 40, 3)
	e := openEngine(t, root)
	truth := answer(t, e)

	now := day1.AddDate(0, 0, 1)
	c := compact.New(a, closedBefore(day1.AddDate(0, 0, 1)), compact.Options{Grace: time.Minute, Now: func() time.Time { return now }})
	for _, cl := range []string{"c1", "c2"} {
		res := c.Cluster(context.Background(), cl, []tables.Table{stlQuery(t)}, nil)
		if err := res.Failed(); err != nil {
			t.Fatal(err)
		}
		if got := len(res.Tables[0].Compacted); got != 1 {
			t.Fatalf("%s: %d days compacted, want 1 (the second day is open): %s", cl, got, res)
		}
	}
	if got := answer(t, e); got != truth {
		t.Fatalf("after the switch:\n%s\nwant\n%s", got, truth)
	}
	// A view built after the switch does not even list the replaced windows: their deletion
	// (here, one of them, early) cannot fail a query that never chose them.
	gone, _ := filepath.Glob(filepath.Join(root, "stl_query", "cluster=c1", "day=2026-03-01", "*.parquet"))
	if len(gone) != 12 {
		t.Fatalf("%d windows after the switch, want the 12 replaced ones until the grace ends", len(gone))
	}
	if err := os.Remove(gone[3]); err != nil {
		t.Fatal(err)
	}
	if got := answer(t, e); got != truth {
		t.Fatalf("after a replaced window went:\n%s\nwant\n%s", got, truth)
	}
	// The windows are still there for the grace period, and readers do not read them.
	now = now.Add(2 * time.Minute)
	for _, cl := range []string{"c1", "c2"} {
		n, err := c.Collect(context.Background(), "stl_query", cl)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Errorf("%s: nothing deleted after the grace", cl)
		}
	}
	if got := answer(t, e); got != truth {
		t.Fatalf("after deletion:\n%s\nwant\n%s", got, truth)
	}
	st, err := c.Status(context.Background(), "stl_query", "c1")
	if err != nil {
		t.Fatal(err)
	}
	want := []compact.DayStatus{{Day: "2026-03-01", State: "compacted", Objects: 1, Before: 12, Rows: 600}, {Day: "2026-03-02", State: "windows", Objects: 12}}
	if fmt.Sprint(st.Days) != fmt.Sprint(want) || st.Garbage != 0 {
		t.Errorf("status %+v, want days %+v and no garbage", st, want)
	}
	left, _ := filepath.Glob(filepath.Join(root, "stl_query", "cluster=c1", "day=2026-03-01", "*"))
	if len(left) != 0 {
		t.Errorf("windows left after deletion: %v", left)
	}

	// The part has the windows' schema and its rows are in time order.
	part := filepath.Join(root, filepath.FromSlash(tables.PartKey("stl_query", "c1", "2026-03-01", 1, 0)))
	f, err := os.Open(part)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	pf, err := parquet.OpenFile(f, fi.Size())
	if err != nil {
		t.Fatal(err)
	}
	win, _ := filepath.Glob(filepath.Join(root, "stl_query", "cluster=c1", "day=2026-03-02", "*.parquet"))
	wf, _ := os.Open(win[0])
	defer wf.Close()
	wfi, _ := wf.Stat()
	wpf, err := parquet.OpenFile(wf, wfi.Size())
	if err != nil {
		t.Fatal(err)
	}
	if !parquet.EqualNodes(pf.Schema(), wpf.Schema()) {
		t.Errorf("part schema\n%s\nwindow schema\n%s", pf.Schema(), wpf.Schema())
	}
	endIdx := slices.IndexFunc(pf.Schema().Columns(), func(p []string) bool { return p[0] == "endtime" })
	var prev int64
	buf := make([]parquet.Row, 100)
	n := 0
	for _, rg := range pf.RowGroups() {
		rr := rg.Rows()
		for {
			k, err := rr.ReadRows(buf)
			for _, row := range buf[:k] {
				if v := row[endIdx].Int64(); v < prev {
					t.Fatalf("row %d of the part has endtime %d after %d", n, v, prev)
				} else {
					prev = v
				}
				n++
			}
			if err != nil {
				break
			}
		}
		rr.Close()
	}
	if n != 600 {
		t.Errorf("the part has %d rows, want 600", n)
	}
}

// crash is what the hook panics with to stand for a process dying at a step.
type crash compact.Step

// TestEveryStepAnswersExactlyAndACrashAtAnyStepIsFinishedByTheNextRun checks the answer at every
// step of compaction, deletion and retention, and crashes at each step once; the next run
// finishes the work and the answer never changes.
func TestEveryStepAnswersExactlyAndACrashAtAnyStepIsFinishedByTheNextRun(t *testing.T) {
	steps := []compact.Step{compact.StepListed, compact.StepWriting, compact.StepWritten, compact.StepSwitched, compact.StepDeleted}
	for _, at := range steps {
		t.Run(string(at), func(t *testing.T) {
			root := t.TempDir()
			a := storage.Local{Root: root}
			writeWindows(t, a, "c1", day1, 10, 30, 1)
			writeWindows(t, a, "c1", day1.AddDate(0, 0, 1), 10, 30, 2)
			e := openEngine(t, root)
			truth := answer(t, e)
			now := day1.AddDate(0, 0, 3)
			checked := 0
			hook := func(step compact.Step, table, cluster, day string) {
				if got := answer(t, e); got != truth {
					t.Errorf("at %s of %s: answer\n%s\nwant\n%s", step, day, got, truth)
				}
				checked++
				if step == at {
					panic(crash(step))
				}
			}
			opts := compact.Options{Grace: time.Nanosecond, MaxBytes: 8 << 10, RowGroupRows: 64, Hook: hook, Now: func() time.Time { return now }}
			run := func() (crashed bool) {
				defer func() {
					if r := recover(); r != nil {
						if _, ok := r.(crash); !ok {
							panic(r)
						}
						crashed = true
					}
				}()
				c := compact.New(a, closedBefore(day1.AddDate(0, 0, 3)), opts)
				res := c.Cluster(context.Background(), "c1", []tables.Table{stlQuery(t)}, nil)
				if err := res.Failed(); err != nil {
					t.Fatal(err)
				}
				return false
			}
			crashed := false
			for range 3 {
				if crashed = run(); crashed {
					break
				}
				now = now.Add(time.Second)
			}
			if !crashed {
				t.Fatalf("never reached step %s", at)
			}
			at = "none"
			for range 2 {
				now = now.Add(time.Second)
				run()
			}
			if got := answer(t, e); got != truth {
				t.Fatalf("after the runs:\n%s\nwant\n%s", got, truth)
			}
			c := compact.New(a, closedBefore(day1.AddDate(0, 0, 3)), opts)
			st, err := c.Status(context.Background(), "stl_query", "c1")
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range st.Days {
				if d.State != "compacted" || d.Before != 10 || d.Objects < 2 || d.Unseen != 0 {
					t.Errorf("day %+v: want compacted from 10 windows into several parts of at most 8 KiB", d)
				}
			}
			parts, _ := filepath.Glob(filepath.Join(root, "stl_query", "cluster=c1", "compacted", "day=*", "g*", "*"))
			for _, p := range parts {
				if fi, _ := os.Stat(p); fi.Size() > 8<<10 {
					t.Errorf("%s has %d bytes, more than the 8 KiB bound", p, fi.Size())
				}
			}
			if st.Garbage != 0 {
				t.Errorf("%d objects of garbage left", st.Garbage)
			}
			if checked < 4 {
				t.Errorf("only %d steps checked", checked)
			}
		})
	}
}

func TestRetentionRetiresOnlyDaysPastItAndReadersStopSeeingThemAtOnce(t *testing.T) {
	root := t.TempDir()
	a := storage.Local{Root: root}
	for i := range 4 {
		writeWindows(t, a, "c1", day1.AddDate(0, 0, i), 3, 10, uint64(i+1))
	}
	e := openEngine(t, root)
	// 2026-03-05 10:00 with 3 days kept: 03-01 ended at 03-02 00:00, 3 days 10 hours ago, and
	// goes; 03-02 ended at 03-03 00:00, 2 days 10 hours ago: inside retention.
	now := time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)
	c := compact.New(a, closedBefore(day1), compact.Options{Grace: time.Hour, Now: func() time.Time { return now }})
	res := c.Cluster(context.Background(), "c1", []tables.Table{stlQuery(t)}, map[string]time.Duration{"stl_query": 3 * 24 * time.Hour})
	if err := res.Failed(); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(res.Tables[0].Retired.Days); got != "[2026-03-01]" {
		t.Errorf("retired %s", got)
	}
	got := answer(t, e)
	if strings.Contains(got, "2026-03-01") || !strings.Contains(got, "2026-03-02") || !strings.Contains(got, "2026-03-03") || !strings.Contains(got, "2026-03-04") {
		t.Errorf("answer after retention:\n%s", got)
	}
	if !compact.PastRetention(day1, 3*24*time.Hour, now) || compact.PastRetention(day1.AddDate(0, 0, 1), 3*24*time.Hour, now) ||
		!compact.PastRetention(day1.AddDate(0, 0, 1), 58*time.Hour, now) || compact.PastRetention(day1.AddDate(0, 0, 1), 58*time.Hour+time.Nanosecond, now) {
		t.Error("PastRetention boundary")
	}
	// The objects stay for the grace period, then go.
	if files, _ := filepath.Glob(filepath.Join(root, "stl_query", "cluster=c1", "day=2026-03-01", "*")); len(files) != 3 {
		t.Errorf("%d objects of a retired day before its grace passed, want 3", len(files))
	}
	now = now.Add(time.Hour)
	if n, err := c.Collect(context.Background(), "stl_query", "c1"); err != nil || n != 3 {
		t.Errorf("deleted %d, %v; want 3", n, err)
	}
	st, _ := c.Status(context.Background(), "stl_query", "c1")
	if len(st.Days) != 3 {
		t.Errorf("status after deletion: %+v", st.Days)
	}
	if again := answer(t, e); again != got {
		t.Errorf("answer changed by deletion:\n%s\nwas\n%s", again, got)
	}
}

// The layout record names the schema of the parts it switches to, the very ID their footers
// give; the embedded engine takes it from the record and reads no footer to build a view. The
// proof is a part made unreadable before the engine opens: a query of another day does not
// fail on it (without the record's ID its footer would be read, fail, and the part be read
// with union_by_name, which opens every object when the view is bound).
func TestTheRecordNamesThePartsSchemaAndTheEngineTakesItFromThere(t *testing.T) {
	root := t.TempDir()
	a := storage.Local{Root: root}
	day2 := day1.AddDate(0, 0, 1)
	writeWindows(t, a, "c1", day1, 6, 20, 1)
	writeWindows(t, a, "c1", day2, 6, 20, 2)
	now := day1.AddDate(0, 0, 3)
	c := compact.New(a, closedBefore(now), compact.Options{Grace: time.Minute, Now: func() time.Time { return now }})
	if err := c.Cluster(context.Background(), "c1", []tables.Table{stlQuery(t)}, nil).Failed(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(tables.LayoutKey("stl_query", "c1"))))
	if err != nil {
		t.Fatal(err)
	}
	l, err := tables.ParseLayout(raw)
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, d := range []time.Time{day1, day2} {
		name := d.Format(tables.DayFormat)
		entry := l.Days[name]
		keys := entry.Keys("stl_query", "c1", name)
		if len(keys) != 1 || entry.Schema == "" {
			t.Fatalf("day %s: parts %v, schema %q", name, keys, entry.Schema)
		}
		path := filepath.Join(root, filepath.FromSlash(keys[0]))
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := f.Stat()
		pf, err := parquet.OpenFile(f, fi.Size())
		if err != nil {
			t.Fatal(err)
		}
		if got := parquetfile.SchemaID(pf.Schema()); got != entry.Schema {
			t.Errorf("day %s: the record says schema %s, the part's footer %s", name, entry.Schema, got)
		}
		f.Close()
		parts = append(parts, path)
	}
	// Day 2's part, not the first: DuckDB binds a group on its first part.
	if err := os.WriteFile(parts[1], []byte("not parquet"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := openEngine(t, root)
	res, err := e.Query(context.Background(), "SELECT count(*) FROM stl_query WHERE day = DATE '"+day1.Format(tables.DayFormat)+"'")
	if err != nil {
		t.Fatalf("a query of day 1 read day 2's part: %v", err)
	}
	if got := render(res); !strings.Contains(got, "120") {
		t.Errorf("day 1 counts %s, want 120", got)
	}
}
