package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/app"
	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/state"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/storage"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/pgtest"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/simtest"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/duckdb"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// answers asks the embedded engine, per table, for the row count and an order-independent
// checksum of every row: a row read twice or missed changes the answer.
func answers(ctx context.Context, e *duckdb.Engine) (map[string]string, error) {
	return answersWhere(ctx, e, "true")
}

// answersWhere is answers over the rows that meet a condition.
func answersWhere(ctx context.Context, e *duckdb.Engine, cond string) (map[string]string, error) {
	out := map[string]string{}
	for _, name := range tables.Names() {
		res, err := e.Query(ctx, fmt.Sprintf("SELECT count(*) AS n, CAST(sum(hash(t)) AS VARCHAR) AS h FROM %s t WHERE %s", name, cond))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		var b strings.Builder
		for _, f := range res.Fields() {
			switch v := f.Values.(type) {
			case []*int64:
				fmt.Fprintf(&b, "%d ", *v[0])
			case []*string:
				if v[0] != nil {
					b.WriteString(*v[0])
				}
			}
		}
		out[name] = b.String()
	}
	return out, nil
}

// TestReadersAnswerExactlyWhileCompactionIsKilledAtEveryStep exports two simulated clusters' last
// 30 hours in one-hour windows (so each closed day has many objects), then runs `stlarchive
// compact` killed with SIGKILL at each step of compaction, then to the end, while a reader loop
// asks the embedded engine for each table's count and checksum the whole time. No answer may
// differ from the one before compaction; afterwards every closed day is one object and the
// archive still equals the source. Today is compacted in part (its finished windows, with a
// threshold of one window), and killed at each step of that too.
func TestReadersAnswerExactlyWhileCompactionIsKilledAtEveryStep(t *testing.T) {
	a := simtest.New(t, "cmp-a", 0.02)
	b := simtest.New(t, "cmp-b", 0.02)
	dir := t.TempDir()
	a.History(t, 30*time.Hour)
	b.History(t, 30*time.Hour)
	simtest.WaitPastLag(t, a, a.SourceNow(t))
	simtest.WaitPastLag(t, b, b.SourceNow(t))

	cfgPath := writeConfig(t, dir, a, b)
	// Queries time out before the grace ends, so a query never reads an object that was deleted
	// under it: a failed query would show here as an error.
	raw, _ := os.ReadFile(cfgPath)
	raw = []byte(strings.Replace(string(raw), "      clusters:\n",
		"      query: {timeout: 3s}\n      compaction: {grace: 8s, openDayMinWindows: 1}\n      clusters:\n", 1))
	// A short verify horizon: with verification on, a day closes only once it is past the
	// horizon (compact.VerifiedGate), and yesterday must close today.
	raw = []byte(strings.Replace(string(raw), "lease: 1s}", "lease: 1s, verify: {horizon: 1m}}", 1))
	if err := os.WriteFile(cfgPath, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadProvisioning(cfgPath, "", func(k string) (string, bool) {
		if k == "STLARCHIVE_TEST_PASSWORD" {
			return pgtest.Password, true
		}
		return os.LookupEnv(k)
	})
	if err != nil {
		t.Fatal(err)
	}
	root := cfg.Archive.Path
	store, err := state.OpenBolt(cfg.State.Path)
	if err != nil {
		t.Fatal(err)
	}
	// One-hour windows: the layout a live exporter leaves, at a twelfth of its object count.
	exp, err := export.New(cfg, store, storage.Local{Root: root}, export.Options{MaxWindow: time.Hour, MaintainEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range exp.Cycle(context.Background()) {
		if err := r.Failed(); err != nil {
			t.Fatal(err)
		}
	}
	exp.Close()

	e, err := duckdb.Open(context.Background(), root, duckdb.Options{Timeout: 3 * time.Second, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	truth, err := answers(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	before, err := app.Layout(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	closedDays, windows, openDays := 0, 0, 0
	today := time.Now().UTC().Format(tables.DayFormat)
	for _, s := range before {
		for _, d := range s.Days {
			if d.Day < today && d.Objects > 1 {
				closedDays++
				windows += d.Objects
			}
			if d.Day == today && d.Objects > 1 {
				openDays++
			}
		}
	}
	if closedDays < 10 {
		t.Fatalf("only %d closed (table, cluster, day)s with several objects to compact", closedDays)
	}
	t.Logf("%d closed days hold %d window objects; truth %v", closedDays, windows, truth)

	// The reader loop.
	ctx, stopReading := context.WithCancel(context.Background())
	var reads, timeouts atomic.Int64
	var mu sync.Mutex
	var wrong []string
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			got, err := answers(ctx, e)
			if ctx.Err() != nil {
				return
			}
			if errors.Is(err, duckdb.ErrTimeout) {
				// A query past its time limit gives no answer, so no wrong one; on a busy
				// machine some do.
				timeouts.Add(1)
				continue
			}
			mu.Lock()
			if err != nil {
				wrong = append(wrong, "error: "+err.Error())
			} else {
				for name, want := range truth {
					if got[name] != want {
						wrong = append(wrong, fmt.Sprintf("%s: %s, want %s", name, got[name], want))
					}
				}
			}
			mu.Unlock()
			reads.Add(1)
		}
	})

	// compactUntil runs the CLI until it is not refused for a lease a killed run still holds.
	compactUntil := func(env []string) run {
		deadline := time.Now().Add(time.Minute)
		for {
			r := runCLI(t, env, "compact", "--config", cfgPath)
			if r.code == 1 && strings.Contains(r.stderr, "lease") && time.Now().Before(deadline) {
				time.Sleep(200 * time.Millisecond)
				continue
			}
			return r
		}
	}
	kills := []string{"listed", "writing:stl_scan", "written", "switched:stl_querytext", "writing", "switched", "deleted"}
	// Today's windows are compacted in part once it has two hourly windows (after about 02:00
	// UTC): then the steps of that compaction are killed too, on the day of the archive.
	// Early in the list: a run that goes to the end compacts every table's today.
	if openDays > 0 {
		for i, step := range []string{"listed", "writing", "written", "switched"} {
			kills = slices.Insert(kills, 1+i, step+"::"+today)
		}
	} else {
		t.Logf("today %s has no table with two windows yet: no partial compaction to kill", today)
	}
	for _, at := range kills {
		var r run
		deadline := time.Now().Add(time.Minute)
		for {
			r = compactUntil([]string{"STLARCHIVE_TEST_KILL_AT=" + at})
			// A step that comes only with garbage past its grace ("deleted") may need another run.
			if r.signal == syscall.SIGKILL || time.Now().After(deadline) {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		if r.signal != syscall.SIGKILL {
			t.Fatalf("kill at %s: compact was not killed (exit %d)\n%s", at, r.code, r.stderr)
		}
		t.Logf("killed at %s (%d reads so far)", at, reads.Load())
	}
	// To the end: every closed day compacted and its windows deleted after the grace.
	var after []app.ClusterMaintenance
	deadline := time.Now().Add(2 * time.Minute)
	for {
		r := compactUntil(nil)
		if r.code != 0 {
			t.Fatalf("compact: exit %d\n%s", r.code, r.stderr)
		}
		r = runCLI(t, nil, "compact", "--json", "--config", cfgPath)
		if r.code != 0 {
			t.Fatalf("compact --json: exit %d\n%s", r.code, r.stderr)
		}
		if err := json.Unmarshal([]byte(r.stdout), &after); err != nil {
			t.Fatalf("compact --json: %v\n%s", err, r.stdout)
		}
		garbage := 0
		for _, m := range after {
			for _, s := range m.After {
				garbage += s.Garbage
			}
		}
		if garbage == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	stopReading()
	wg.Wait()
	if reads.Load() < 10 {
		t.Errorf("only %d reads during compaction", reads.Load())
	}
	for i, w := range wrong {
		if i < 20 {
			t.Error(w)
		}
	}
	if len(wrong) > 0 {
		t.Fatalf("%d of %d reads differ from the truth", len(wrong), reads.Load())
	}
	t.Logf("%d reads, every one equal to the truth (%d more timed out)", reads.Load(), timeouts.Load())

	compacted, partial := 0, 0
	for _, m := range after {
		for _, s := range m.After {
			if s.Garbage != 0 || s.Unseen() != 0 {
				t.Errorf("%s/%s: %d garbage, %d unseen objects left", m.Cluster, s.Table, s.Garbage, s.Unseen())
			}
			for _, d := range s.Days {
				if d.Day >= today {
					if d.State == "partial" {
						partial++
					}
					continue
				}
				if d.Objects != 1 {
					t.Errorf("%s/%s day %s: %s in %d objects, want one", m.Cluster, s.Table, d.Day, d.State, d.Objects)
				}
				if d.State == "compacted" {
					compacted++
				}
			}
		}
	}
	if compacted != closedDays {
		t.Errorf("%d days compacted, want %d", compacted, closedDays)
	}
	if partial != openDays {
		t.Errorf("%d open days compacted in part, want %d", partial, openDays)
	}
	if got, err := answers(context.Background(), e); err != nil || fmt.Sprint(got) != fmt.Sprint(truth) {
		t.Errorf("after compaction: %v (%v), want %v", got, err, truth)
	}
	for _, c := range []*simtest.Cluster{a, b} {
		simtest.AssertArchiveEqualsSource(t, root, store, c)
	}

	// The scheduler: an export cycle with retention set retires, under each cluster's lease,
	// the oldest day; readers stop seeing it at the switch. The retention ends a minute after
	// the oldest day does, whatever the time of day: 30 hours of history reach back to the day
	// before yesterday only before 06:00 UTC, so a fixed retention of a day would retire
	// nothing later in the day.
	oldest := today
	for _, m := range after {
		for _, s := range m.After {
			for _, d := range s.Days {
				oldest = min(oldest, d.Day)
			}
		}
	}
	want, err := answersWhere(context.Background(), e, fmt.Sprintf("day > DATE '%s'", oldest))
	if err != nil {
		t.Fatal(err)
	}
	oldestDay, err := time.Parse(tables.DayFormat, oldest)
	if err != nil {
		t.Fatal(err)
	}
	keep := time.Since(oldestDay.Add(24*time.Hour)) - time.Minute
	if keep <= 0 {
		t.Fatalf("the oldest day %s has not ended a minute ago", oldest)
	}
	cfg.Retention = map[string]time.Duration{}
	for _, name := range tables.Names() {
		cfg.Retention[name] = keep
	}
	exp, err = export.New(cfg, store, storage.Local{Root: root}, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Close()
	for _, r := range exp.Cycle(context.Background()) {
		if err := r.Failed(); err != nil {
			t.Fatal(err)
		}
		if r.Maintenance == nil || r.Maintenance.Failed() != nil {
			t.Fatalf("%s: the cycle's maintenance: %+v", r.Cluster, r.Maintenance)
		}
		for _, tr := range r.Maintenance.Tables {
			for _, d := range tr.Retired.Days {
				if d != oldest {
					t.Errorf("%s/%s: retired %s; only %s is past a retention of %s", r.Cluster, tr.Table, d, oldest, keep)
				}
			}
		}
	}
	if got, err := answers(context.Background(), e); err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after retention: %v (%v), want the rows after %s: %v", got, err, oldest, want)
	}
}
