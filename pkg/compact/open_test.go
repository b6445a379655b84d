package compact_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/compact"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/storage"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// openGate closes the days before closed and finishes every window up to final.
type openGate struct {
	closed *time.Time
	final  *time.Time
}

func (g openGate) Closed(ctx context.Context, table, cluster string, day time.Time) (bool, error) {
	return day.Before(*g.closed), nil
}

func (g openGate) FinalThrough(ctx context.Context, table, cluster string) (time.Time, error) {
	return *g.final, nil
}

// twin writes the same windows into the archive under test and into one nothing compacts,
// whose answer is the truth.
type twin struct{ a, truth storage.Local }

func (w twin) windows(t *testing.T, from, n int, seed uint64) {
	t.Helper()
	writeWindowsFrom(t, w.a, "c1", day1, from, n, 20, seed)
	writeWindowsFrom(t, w.truth, "c1", day1, from, n, 20, seed)
}

func dayStatus(t *testing.T, c *compact.Compactor, day string) compact.DayStatus {
	t.Helper()
	st, err := c.Status(context.Background(), "stl_query", "c1")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range st.Days {
		if d.Day == day {
			return d
		}
	}
	t.Fatalf("no day %s in status %+v", day, st)
	return compact.DayStatus{}
}

func TestOpenDayIsCompactedInPartThenWholeAndReadersAnswerExactlyAtEveryStep(t *testing.T) {
	ctx := context.Background()
	w := twin{storage.Local{Root: t.TempDir()}, storage.Local{Root: t.TempDir()}}
	w.windows(t, 0, 30, 1) // 00:00–02:30
	e, truthEngine := openEngine(t, w.a.Root), openEngine(t, w.truth.Root)
	now := day1.Add(3 * time.Hour)
	closed, final := day1, day1.Add(100*time.Minute)
	steps := 0
	hook := func(step compact.Step, table, cluster, day string) {
		steps++
		if got, want := answer(t, e), answer(t, truthEngine); got != want {
			t.Errorf("at %s of %s: answer\n%s\nwant\n%s", step, day, got, want)
		}
	}
	c := compact.New(w.a, openGate{&closed, &final}, compact.Options{Grace: time.Minute, MaxBytes: 8 << 10, RowGroupRows: 64,
		Hook: hook, Now: func() time.Time { return now }})
	run := func() compact.TableResult {
		t.Helper()
		res := c.Cluster(ctx, "c1", []tables.Table{stlQuery(t)}, nil)
		if err := res.Failed(); err != nil {
			t.Fatal(err)
		}
		if got, want := answer(t, e), answer(t, truthEngine); got != want {
			t.Fatalf("after %s: answer\n%s\nwant\n%s", res, got, want)
		}
		return res.Tables[0]
	}

	// 20 windows end by the watermark: one partial entry through 01:40; the other 10 are read
	// as windows.
	r := run()
	if len(r.Compacted) != 1 || !r.Compacted[0].Through.Equal(final) || r.Compacted[0].Windows != 20 || r.Compacted[0].Generation != 1 {
		t.Fatalf("first run compacted %+v, want day %s through %s from 20 windows, generation 1", r.Compacted, day1, final)
	}
	if steps < 4 {
		t.Fatalf("the hook saw %d steps", steps)
	}
	d := dayStatus(t, c, "2026-03-01")
	if d.State != "partial" || d.Objects != r.Compacted[0].Parts+10 || d.Before != 20 || d.Unseen != 0 || !d.Through.Equal(final) {
		t.Fatalf("status %+v, want partial with %d parts + 10 windows", d, r.Compacted[0].Parts)
	}

	// New windows appear after Through: readers see them at once.
	w.windows(t, 30, 6, 2) // to 03:00
	if got, want := answer(t, e), answer(t, truthEngine); got != want {
		t.Fatalf("after new windows: answer\n%s\nwant\n%s", got, want)
	}

	// 11 windows more finished: fewer than the 12 the threshold asks for, nothing is written.
	final = day1.Add(155 * time.Minute)
	if r := run(); len(r.Compacted) != 0 {
		t.Fatalf("11 new windows compacted: %+v", r.Compacted)
	}
	// 12: a second partial entry moves Through; the first one's parts become garbage.
	final = day1.Add(160 * time.Minute)
	r = run()
	if len(r.Compacted) != 1 || !r.Compacted[0].Through.Equal(final) || r.Compacted[0].Windows != 32 || r.Compacted[0].Generation != 2 {
		t.Fatalf("second run compacted %+v, want through %s from 32 windows, generation 2", r.Compacted, final)
	}
	l, err := compact.ReadLayout(ctx, w.a, "stl_query", "c1")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range l.Garbage {
		if !strings.Contains(g.Key, "/compacted/day=2026-03-01/g1/") {
			t.Errorf("garbage %s: only the first partial generation's parts may be, never a window", g.Key)
		}
	}
	if len(l.Garbage) == 0 {
		t.Error("the first partial generation's parts are not garbage")
	}

	// The day closes: compacted whole from its windows; the partial parts and the windows go.
	closed = day1.AddDate(0, 0, 1)
	final = day1.AddDate(0, 0, 1)
	r = run()
	if len(r.Compacted) != 1 || !r.Compacted[0].Through.IsZero() || r.Compacted[0].Windows != 36 || r.Compacted[0].Generation != 3 {
		t.Fatalf("closing run compacted %+v, want the whole day from 36 windows, generation 3", r.Compacted)
	}
	if d := dayStatus(t, c, "2026-03-01"); d.State != "compacted" || d.Unseen != 0 {
		t.Fatalf("status %+v, want compacted", d)
	}
	now = now.Add(2 * time.Minute)
	run() // deletes the garbage
	left, err := w.a.List(ctx, "stl_query/cluster=c1/")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range left {
		if !strings.Contains(o.Key, "/g3/") && !strings.HasSuffix(o.Key, tables.LayoutName) {
			t.Errorf("%s left after the grace", o.Key)
		}
	}
}

func TestAWindowStraddlingThroughIsRefused(t *testing.T) {
	a := storage.Local{Root: t.TempDir()}
	writeWindowsFrom(t, a, "c1", day1, 0, 14, 10, 1) // 00:00–01:10
	// (01:00, 01:20] overlaps the windows of 01:00–01:10: Through 01:10 would cut it.
	writeWindow(t, a, "c1", day1.Add(time.Hour), day1.Add(80*time.Minute), 10, 99)
	closed, final := day1, day1.Add(75*time.Minute)
	c := compact.New(a, openGate{&closed, &final}, compact.Options{})
	_, err := c.CompactOpenDay(context.Background(), stlQuery(t), "c1", day1)
	if err == nil || !strings.Contains(err.Error(), "straddles") {
		t.Fatalf("error %v, want one naming the straddling window", err)
	}
	if l, err := compact.ReadLayout(context.Background(), a, "stl_query", "c1"); err != nil || len(l.Days) != 0 {
		t.Fatalf("record %+v, %v: want none", l, err)
	}
}

func TestAHealDropsThePartialEntryFirstAndReadersSeeTheHealedWindow(t *testing.T) {
	ctx := context.Background()
	w := twin{storage.Local{Root: t.TempDir()}, storage.Local{Root: t.TempDir()}}
	w.windows(t, 0, 24, 1)
	e, truthEngine := openEngine(t, w.a.Root), openEngine(t, w.truth.Root)
	closed, final := day1, day1.Add(100*time.Minute)
	c := compact.New(w.a, openGate{&closed, &final}, compact.Options{Grace: time.Minute})
	r, err := c.CompactOpenDay(ctx, stlQuery(t), "c1", day1)
	if err != nil || r.Generation != 1 {
		t.Fatalf("%+v, %v", r, err)
	}
	// A window from Through on is read as it is: a heal there drops nothing.
	if dropped, err := compact.DropPartial(ctx, w.a, "stl_query", "c1", "2026-03-01", final, time.Minute); err != nil || dropped {
		t.Fatalf("drop for a window after Through: %v, %v", dropped, err)
	}
	// A heal of window 3 (00:15–00:20): the entry goes first, then the window is rewritten.
	lo := day1.Add(15 * time.Minute)
	dropped, err := compact.DropPartial(ctx, w.a, "stl_query", "c1", "2026-03-01", lo, time.Minute)
	if err != nil || !dropped {
		t.Fatalf("drop: %v, %v", dropped, err)
	}
	if got, want := answer(t, e), answer(t, truthEngine); got != want {
		t.Fatalf("after the drop: answer\n%s\nwant\n%s", got, want)
	}
	writeWindow(t, w.a, "c1", lo, lo.Add(5*time.Minute), 33, 777)
	writeWindow(t, w.truth, "c1", lo, lo.Add(5*time.Minute), 33, 777)
	if got, want := answer(t, e), answer(t, truthEngine); got != want {
		t.Fatalf("after the heal: answer\n%s\nwant\n%s", got, want)
	}
	// The next partial compaction takes a new generation: the dropped one's parts are garbage
	// a query may still read.
	r, err = c.CompactOpenDay(ctx, stlQuery(t), "c1", day1)
	if err != nil || r.Generation != 2 {
		t.Fatalf("after the heal: %+v, %v; want generation 2", r, err)
	}
	if got, want := answer(t, e), answer(t, truthEngine); got != want {
		t.Fatalf("compacted again: answer\n%s\nwant\n%s", got, want)
	}
}
