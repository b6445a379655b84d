package export_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/state"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/storage"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/archivetest"
	"github.com/stlarchive/redshift-stl-archive/pkg/sim"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

func TestRepeatedCyclesArchiveEverySourceRowOnce(t *testing.T) {
	a := newSimCluster(t, "east", 2)
	b := newSimCluster(t, "west", 2)
	root := t.TempDir()
	cfg := testConfig(t, root, a.Cfg, b.Cfg)
	e := openExporter(t, cfg, export.Options{})

	start := time.Now()
	a.History(t, time.Hour)
	b.History(t, time.Hour)
	t.Logf("history written in %v", time.Since(start))
	stopA, stopB := a.Run(t), b.Run(t)
	for range 5 {
		start = time.Now()
		mustCycle(t, e)
		t.Logf("cycle in %v", time.Since(start))
		time.Sleep(500 * time.Millisecond)
	}
	stopA()
	stopB()
	waitPastLag(t, a, a.SourceNow(t))
	waitPastLag(t, b, b.SourceNow(t))
	mustCycle(t, e)
	for _, c := range []*simCluster{a, b} {
		assertArchiveEqualsSource(t, root, e.Store(), c)
	}
}

func TestOwnQueriesAreLeftOut(t *testing.T) {
	c := newSimCluster(t, "own", 3)
	root := t.TempDir()
	e := openExporter(t, testConfig(t, root, c.Cfg), export.Options{})
	last := c.History(t, time.Hour)
	waitPastLag(t, c, last)
	mustCycle(t, e)
	var own int
	if err := c.Conn.QueryRow(context.Background(), "SELECT count(*) FROM stl_query WHERE label = $1", queryGroup).Scan(&own); err != nil {
		t.Fatal(err)
	}
	if own == 0 {
		t.Fatal("the simulator wrote no queries labelled with the exporter's query group")
	}
	rows, err := archivetest.ReadArchive(root, "stl_query", "own", []string{"label"})
	if err != nil {
		t.Fatal(err)
	}
	if rows.Count == 0 {
		t.Fatal("nothing archived")
	}
	for label := range rows.Sample {
		if label == queryGroup {
			t.Fatalf("the archive holds the exporter's own queries (label %q)", label)
		}
	}
}

func TestEmptyWindowsAdvanceTheWatermark(t *testing.T) {
	c := newSimCluster(t, "quiet", 0)
	root := t.TempDir()
	e := openExporter(t, testConfig(t, root, c.Cfg), export.Options{})
	ctx := context.Background()
	mustCycle(t, e)
	first, err := e.Store().Get(ctx, "quiet", "stl_query")
	if err != nil {
		t.Fatal(err)
	}
	if first.Watermark.IsZero() {
		t.Fatal("an empty table left no watermark")
	}
	// The next window is not empty once the source's clock is past the first watermark + lag.
	waitPastLag(t, c, first.Watermark)
	mustCycle(t, e)
	for _, name := range tables.Names() {
		p, err := e.Store().Get(ctx, "quiet", name)
		if err != nil {
			t.Fatal(err)
		}
		if !p.Watermark.After(first.Watermark) {
			t.Errorf("%s: watermark %v did not advance past %v on an empty window", name, p.Watermark, first.Watermark)
		}
		if p.Objects != 0 {
			t.Errorf("%s: %d objects written for empty windows", name, p.Objects)
		}
	}
	if objs, _ := archivetest.Objects(root, "stl_query", "quiet"); len(objs) != 0 {
		t.Errorf("empty windows wrote objects: %v", objs)
	}
}

func TestLateRowInsideTheLagIsExported(t *testing.T) {
	c := newSimCluster(t, "late", 0)
	root := t.TempDir()
	e := openExporter(t, testConfig(t, root, c.Cfg), export.Options{})
	ctx := context.Background()
	mustCycle(t, e)
	p, _ := e.Store().Get(ctx, "late", "stl_query")
	// A query that ended just after the watermark but reaches STL only now, after the cycle:
	// its end time is already in the past, inside the lag.
	end := p.Watermark.Add(500 * time.Millisecond)
	if _, err := c.Conn.Exec(ctx, `INSERT INTO stl_query (userid, query, label, xid, pid, database, querytxt, starttime, endtime, aborted, insert_pristine, concurrency_scaling_status)
		VALUES (100, 4242, 'default', 1, 1, 'dev', 'select 1', $1, $2, 0, 0, 0)`, end.Add(-time.Second), end); err != nil {
		t.Fatal(err)
	}
	waitPastLag(t, c, end)
	mustCycle(t, e)
	rows, err := archivetest.ReadArchive(root, "stl_query", "late", []string{"query"})
	if err != nil {
		t.Fatal(err)
	}
	if rows.Count != 1 || rows.Sample["4242"] != 1 {
		t.Fatalf("late row: archive holds %v", rows.Sample)
	}
}

func TestBadClusterFailsAloneAndNamesItselfWithoutSecrets(t *testing.T) {
	good := newSimCluster(t, "good", 2)
	good.History(t, 30*time.Minute)
	badPort := good.Cfg
	badPort.Name, badPort.Port = "badport", 1
	badPassword := good.Cfg
	badPassword.Name, badPassword.Password = "badpassword", "hunter2-very-secret"
	root := t.TempDir()
	e := openExporter(t, testConfig(t, root, badPort, good.Cfg, badPassword), export.Options{})
	res := e.Cycle(context.Background())
	byName := map[string]export.Result{}
	for _, r := range res {
		byName[r.Cluster] = r
	}
	if err := byName["good"].Failed(); err != nil || byName["good"].Rows() == 0 {
		t.Fatalf("the good cluster did not export: err %v, rows %d", err, byName["good"].Rows())
	}
	for _, name := range []string{"badport", "badpassword"} {
		err := byName[name].Failed()
		if err == nil {
			t.Fatalf("%s did not fail", name)
		}
		if !strings.Contains(err.Error(), "cluster "+name) {
			t.Errorf("%s: error does not name the cluster: %v", name, err)
		}
		if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "postgres@") {
			t.Errorf("%s: error shows a secret: %v", name, err)
		}
	}
	st, err := export.Status(context.Background(), e.Store(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, s := range st {
		if s.Cluster != "good" && s.LastError != "" {
			seen[s.Cluster] = true
			if !strings.Contains(s.LastError, "cluster "+s.Cluster) || strings.Contains(s.LastError, "hunter2") {
				t.Errorf("status of %s/%s: %q", s.Cluster, s.Table, s.LastError)
			}
		}
		if s.Cluster == "good" && s.LastError != "" {
			t.Errorf("good/%s has an error: %s", s.Table, s.LastError)
		}
	}
	if !seen["badport"] || !seen["badpassword"] {
		t.Errorf("status does not show both failures: %v", seen)
	}
	h := e.CheckCluster(context.Background(), "badpassword")
	line, ok := h.Summary()
	if ok || !strings.Contains(line, "badpassword") || strings.Contains(line, "hunter2") {
		t.Errorf("health of badpassword: ok=%v %q", ok, line)
	}
}

func TestGapIsRecordedWithItsBounds(t *testing.T) {
	c := newSimCluster(t, "gappy", 2)
	root := t.TempDir()
	cfg := testConfig(t, root, c.Cfg)
	e := openExporter(t, cfg, export.Options{GapCheckAfter: 3 * time.Second})
	ctx := context.Background()
	last := c.History(t, 20*time.Minute)
	waitPastLag(t, c, last)
	mustCycle(t, e)
	before, _ := e.Store().Get(ctx, "gappy", "stl_query")

	// The exporter is down while the cluster keeps working and STL retention deletes
	// history the exporter never saw. Down long enough that the next cycle checks for a gap:
	// its target (the source's now − lag) is more than GapCheckAfter past the watermark.
	waitPastLag(t, c, before.Watermark.Add(3*time.Second))
	last = c.Step(t, last)
	cutoff := before.Watermark.Add(2 * time.Second)
	if _, err := sim.DeleteOlderThan(ctx, c.Conn, cutoff); err != nil {
		t.Fatal(err)
	}
	var oldest time.Time
	if err := c.Conn.QueryRow(ctx, "SELECT min(endtime) FROM stl_query").Scan(&oldest); err != nil {
		t.Fatalf("no rows left after retention: %v", err)
	}
	mustCycle(t, e)
	p, _ := e.Store().Get(ctx, "gappy", "stl_query")
	if len(p.Gaps) != 1 {
		t.Fatalf("gaps %v, want one", p.Gaps)
	}
	g := p.Gaps[0]
	if !g.From.Equal(before.Watermark) || !g.To.Equal(oldest.UTC()) {
		t.Errorf("gap (%v, %v), want (%v, %v)", g.From, g.To, before.Watermark, oldest)
	}
	st, _ := export.Status(ctx, e.Store(), time.Now())
	found := false
	for _, s := range st {
		if s.Table == "stl_query" && len(s.Gaps) == 1 {
			found = true
		}
	}
	if !found {
		t.Error("status does not report the gap")
	}
}

// countingArchive counts the objects committed per key.
type countingArchive struct {
	storage.Archive
	mu      sync.Mutex
	commits map[string]int
}

func (c *countingArchive) Create(ctx context.Context, key string) (storage.Object, error) {
	o, err := c.Archive.Create(ctx, key)
	if err != nil {
		return nil, err
	}
	return &countingObject{Object: o, key: key, a: c}, nil
}

type countingObject struct {
	storage.Object
	key string
	a   *countingArchive
}

func (o *countingObject) Commit() error {
	err := o.Object.Commit()
	if err == nil {
		o.a.mu.Lock()
		o.a.commits[o.key]++
		o.a.mu.Unlock()
	}
	return err
}

func TestTwoExportersOnOneStateNeverWriteTheSameWindow(t *testing.T) {
	a := newSimCluster(t, "shared-a", 2)
	b := newSimCluster(t, "shared-b", 2)
	root := t.TempDir()
	cfg := testConfig(t, root, a.Cfg, b.Cfg)
	arch := &countingArchive{Archive: storage.Local{Root: root}, commits: map[string]int{}}
	var exps []*export.Exporter
	for i := range 2 {
		store, err := state.OpenBolt(cfg.State.Path)
		if err != nil {
			t.Fatal(err)
		}
		e, err := export.New(cfg, store, arch, export.Options{Owner: []string{"one", "two"}[i]})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(e.Close)
		exps = append(exps, e)
	}
	a.History(t, time.Hour)
	b.History(t, time.Hour)
	stopA, stopB := a.Run(t), b.Run(t)
	var skipped atomic.Int64
	for range 5 {
		var wg sync.WaitGroup
		for _, e := range exps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, r := range e.Cycle(context.Background()) {
					if r.Skipped {
						skipped.Add(1)
					} else if err := r.Failed(); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		time.Sleep(300 * time.Millisecond)
	}
	stopA()
	stopB()
	waitPastLag(t, a, a.SourceNow(t))
	waitPastLag(t, b, b.SourceNow(t))
	mustCycle(t, exps[0])
	for key, n := range arch.commits {
		if n != 1 {
			t.Errorf("object %s written %d times", key, n)
		}
	}
	if len(arch.commits) == 0 {
		t.Fatal("nothing written")
	}
	t.Logf("%d objects, each written once; %d cluster cycles skipped for the other's lease", len(arch.commits), skipped.Load())
	for _, c := range []*simCluster{a, b} {
		assertArchiveEqualsSource(t, root, exps[0].Store(), c)
	}
}

func TestIdleCycleAsksOneQueryPerClusterAndTable(t *testing.T) {
	var clusters []config.Cluster
	var sims []*simCluster
	for i := range 20 {
		c := newSimCluster(t, "idle-"+string(rune('a'+i)), 0)
		clusters = append(clusters, c.Cfg)
		sims = append(sims, c)
	}
	root := t.TempDir()
	cfg := testConfig(t, root, clusters...)
	e := openExporter(t, cfg, export.Options{})
	mustCycle(t, e) // first run: connections, starting points
	// Every table's next window is not empty once the source's clock (one server for all the
	// clusters) is past the starting points + lag: each table then asks its one query.
	waitPastLag(t, sims[0], sims[0].SourceNow(t).Add(-cfg.Export.Lag))
	before := e.QueryCount()
	res := mustCycle(t, e)
	asked := e.QueryCount() - before
	if want := int64(len(clusters) * len(tables.Names())); asked != want {
		t.Errorf("an idle cycle asked %d queries, want one per (cluster, table) = %d", asked, want)
	}
	for _, r := range res {
		if r.Rows() != 0 {
			t.Errorf("%s: idle cycle archived %d rows", r.Cluster, r.Rows())
		}
	}
	_ = sims
}

func TestCrashLeftoversAreReplacedOnRedo(t *testing.T) {
	root := t.TempDir()
	arch := storage.Local{Root: root}
	ctx := context.Background()
	key := "stl_query/cluster=c/day=2026-01-01/x.parquet"
	o, err := arch.Create(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	o.Write([]byte("half"))
	// The process dies here: the object is not visible, a hidden left-over is.
	if _, err := os.Stat(filepath.Join(root, key)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a half-written object is visible: %v", err)
	}
	o2, err := arch.Create(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	o2.Write([]byte("whole"))
	if err := o2.Commit(); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Dir(filepath.Join(root, key)))
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("left-overs remain beside the object: %v", names)
	}
}
