package export_test

import (
	"context"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/state"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/archivetest"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/pgtest"
	"github.com/stlarchive/redshift-stl-archive/pkg/sim"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	queryGroup = "stlarchive"
	// testLag must exceed the time a row takes to reach the source after its time: the
	// simulator's lateness, its one-second clock and the delay of a step on a busy machine.
	testLag      = 8 * time.Second
	testLateness = time.Second
)

// simCluster is one simulated cluster: a fresh database with STL tables.
type simCluster struct {
	cfg  config.Cluster
	conn *pgx.Conn
	work *sim.Workload
}

func newSimCluster(t *testing.T, name string, rate float64) *simCluster {
	t.Helper()
	ctx := context.Background()
	raw := pgtest.Database(t, strings.ReplaceAll(name, "-", "_"))
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(u.Port())
	pw, _ := u.User.Password()
	c := config.Cluster{Name: name, Host: u.Hostname(), Port: port, Database: strings.TrimPrefix(u.Path, "/"),
		User: u.User.Username(), Password: config.Secret(pw), SSLMode: "disable"}
	conn, err := pgx.Connect(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if err := sim.Create(ctx, conn); err != nil {
		t.Fatal(err)
	}
	opts := sim.DefaultOptions()
	opts.Rate = rate
	opts.MaxLateness = testLateness
	opts.LateShare = 0.1
	opts.LongShare = 0.05
	opts.LongMax = 3 * time.Minute
	opts.OwnShare = 0.05
	opts.QueryGroup = queryGroup
	opts.Seed = uint64(len(name)) + uint64(name[len(name)-1])
	w, err := sim.NewWorkload(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &simCluster{cfg: c, conn: conn, work: w}
}

// sourceNow is the simulated cluster's clock.
func (c *simCluster) sourceNow(t *testing.T) time.Time {
	t.Helper()
	var now time.Time
	if err := c.conn.QueryRow(context.Background(), "SELECT getdate()").Scan(&now); err != nil {
		t.Fatal(err)
	}
	return now.UTC()
}

// history writes d of activity up to the cluster's now. Writing history takes a while, so it
// catches up with the clock before returning: a row must never reach the source long after its
// time unless a test means it to.
func (c *simCluster) history(t *testing.T, d time.Duration) time.Time {
	t.Helper()
	now := c.sourceNow(t)
	if _, err := c.work.Backfill(context.Background(), c.conn, now.Add(-d), now); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		now = c.step(t, now)
	}
	return now
}

// run writes activity continuously, as a live cluster does, until the returned stop is called.
func (c *simCluster) run(t *testing.T) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx, c.conn, c.work, 250*time.Millisecond) }()
	var once bool
	stop = func() {
		if once {
			return
		}
		once = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("simulator of %s: %v", c.cfg.Name, err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// step writes activity from the previous step up to the cluster's now.
func (c *simCluster) step(t *testing.T, from time.Time) time.Time {
	t.Helper()
	now := c.sourceNow(t)
	if now.After(from) {
		if _, err := c.work.Step(context.Background(), c.conn, from, now); err != nil {
			t.Fatal(err)
		}
	}
	return now
}

func testConfig(t *testing.T, root string, clusters ...config.Cluster) config.Config {
	return config.Config{
		Archive: config.Archive{Path: root},
		State:   config.State{Path: filepath.Join(root, ".state", "export.db")},
		Export: config.Export{Enabled: true, Interval: time.Second, Lag: testLag, Concurrency: 4,
			Tables: tables.Names(), QueryGroup: queryGroup, Timeout: 2 * time.Minute},
		Clusters: clusters,
	}
}

func openExporter(t *testing.T, cfg config.Config, opts export.Options) *export.Exporter {
	t.Helper()
	e, err := export.Open(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func mustCycle(t *testing.T, e *export.Exporter) []export.Result {
	t.Helper()
	res := e.Cycle(context.Background())
	for _, r := range res {
		if err := r.Failed(); err != nil {
			t.Fatalf("cycle: %v", err)
		}
	}
	return res
}

// waitPastLag waits until the source's now − lag is past t, so that an export then covers t.
func waitPastLag(t *testing.T, c *simCluster, at time.Time) {
	t.Helper()
	for c.sourceNow(t).Add(-testLag).Before(at.Add(time.Second)) {
		time.Sleep(200 * time.Millisecond)
	}
}

// assertArchiveEqualsSource compares, for every table, the archive with the source rows up to
// the table's watermark: same count, same checksum.
func assertArchiveEqualsSource(t *testing.T, root string, store state.Store, c *simCluster) {
	t.Helper()
	ctx := context.Background()
	for _, tb := range tables.STL() {
		p, err := store.Get(ctx, c.cfg.Name, tb.Name)
		if err != nil {
			t.Fatal(err)
		}
		if p.Watermark.IsZero() || p.Pending != nil {
			t.Fatalf("%s/%s: not committed (watermark %v, pending %v)", c.cfg.Name, tb.Name, p.Watermark, p.Pending)
		}
		arch, err := archivetest.ReadArchive(root, tb.Name, c.cfg.Name, archivetest.ColumnNames(tb))
		if err != nil {
			t.Fatal(err)
		}
		src, err := archivetest.ReadSource(ctx, c.conn, tb, p.Watermark, queryGroup)
		if err != nil {
			t.Fatal(err)
		}
		if src.Count == 0 {
			t.Fatalf("%s/%s: the source has no rows to compare", c.cfg.Name, tb.Name)
		}
		if !arch.Equal(src) {
			t.Errorf("%s/%s: archive differs from source: %s", c.cfg.Name, tb.Name, archivetest.Diff(arch, src))
		} else {
			t.Logf("%s/%s: %d rows, checksum %016x, equal", c.cfg.Name, tb.Name, arch.Count, arch.Sum)
		}
	}
}
