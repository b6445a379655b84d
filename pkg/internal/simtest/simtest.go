// Package simtest gives tests simulated clusters: a fresh PostgreSQL database each, with the
// simulator's STL tables and workload, and the check that an archive equals its source.
package simtest

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/state"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/archivetest"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/pgtest"
	"github.com/stlarchive/redshift-stl-archive/pkg/sim"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

const (
	// QueryGroup is the exporter's query group in tests.
	QueryGroup = "stlarchive"
	// Lag is the export lag tests use. It must exceed the time a row takes to reach the source
	// after its time: the simulator's lateness, its one-second clock and the delay of a step on
	// a busy machine.
	Lag = 8 * time.Second
	// Lateness is the simulator's MaxLateness in tests.
	Lateness = time.Second
)

// Cluster is one simulated cluster: a fresh database with STL tables.
type Cluster struct {
	Cfg  config.Cluster
	Conn *pgx.Conn
	Work *sim.Workload
}

func New(t testing.TB, name string, rate float64) *Cluster {
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
	opts.MaxLateness = Lateness
	opts.LateShare = 0.1
	opts.LongShare = 0.05
	opts.LongMax = 3 * time.Minute
	opts.OwnShare = 0.05
	opts.QueryGroup = QueryGroup
	opts.Seed = uint64(len(name)) + uint64(name[len(name)-1])
	w, err := sim.NewWorkload(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &Cluster{Cfg: c, Conn: conn, Work: w}
}

// SourceNow is the simulated cluster's clock.
func (c *Cluster) SourceNow(t testing.TB) time.Time {
	t.Helper()
	var now time.Time
	if err := c.Conn.QueryRow(context.Background(), "SELECT getdate()").Scan(&now); err != nil {
		t.Fatal(err)
	}
	return now.UTC()
}

// History writes d of activity up to the cluster's now. Writing history takes a while, so it
// catches up with the clock before returning: a row must never reach the source long after its
// time unless a test means it to.
func (c *Cluster) History(t testing.TB, d time.Duration) time.Time {
	t.Helper()
	now := c.SourceNow(t)
	if _, err := c.Work.Backfill(context.Background(), c.Conn, now.Add(-d), now); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		now = c.Step(t, now)
	}
	return now
}

// Ahead is how far ahead of the source's clock Run writes activity.
const Ahead = 3 * time.Second

func ignoreCancel(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// Run writes activity continuously, as a live cluster does, until the returned stop is called.
// It picks up where History or Step left off: call it after them.
func (c *Cluster) Run(t testing.TB) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	from := c.SourceNow(t)
	go func() {
		// Each step writes a little ahead of the clock: a row is then in place before its time,
		// however busy the machine, and an export lag bounds how late rows are seen. A step
		// under way finishes when stopped: pgx closes a connection whose query is cancelled,
		// and the test goes on using c.Conn.
		step := context.WithoutCancel(ctx)
		for ctx.Err() == nil {
			var now time.Time
			if err := c.Conn.QueryRow(step, "SELECT getdate()").Scan(&now); err != nil {
				done <- ignoreCancel(ctx, err)
				return
			}
			if to := now.UTC().Add(Ahead); to.After(from) {
				if _, err := c.Work.Step(step, c.Conn, from, to); err != nil {
					done <- ignoreCancel(ctx, err)
					return
				}
				from = to
			}
			select {
			case <-ctx.Done():
			case <-time.After(250 * time.Millisecond):
			}
		}
		done <- nil
	}()
	var once bool
	stop = func() {
		if once {
			return
		}
		once = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("simulator of %s: %v", c.Cfg.Name, err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// Step writes activity from the previous step up to the cluster's now.
func (c *Cluster) Step(t testing.TB, from time.Time) time.Time {
	t.Helper()
	now := c.SourceNow(t)
	if now.After(from) {
		if _, err := c.Work.Step(context.Background(), c.Conn, from, now); err != nil {
			t.Fatal(err)
		}
	}
	return now
}

// WaitPastLag waits until the source's now − lag is past t, so that an export then covers t.
func WaitPastLag(t testing.TB, c *Cluster, at time.Time) {
	t.Helper()
	for c.SourceNow(t).Add(-Lag).Before(at.Add(time.Second)) {
		time.Sleep(200 * time.Millisecond)
	}
}

// oddLabels describes how many rows up to watermark carry a NULL or blank label, for tables
// that have one: the rows a NULL-unsafe filter loses.
func oddLabels(t testing.TB, c *Cluster, tb tables.Table, watermark time.Time) string {
	if !slices.ContainsFunc(tb.Columns, func(col tables.Column) bool { return col.Name == "label" }) {
		return ""
	}
	var null, blank int64
	err := c.Conn.QueryRow(context.Background(), "SELECT count(*) FILTER (WHERE label IS NULL), count(*) FILTER (WHERE rtrim(label) = '') FROM "+
		tb.Name+" WHERE "+tb.TimeColumn+" <= $1", watermark).Scan(&null, &blank)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(" (source: %d NULL labels, %d blank)", null, blank)
}

// AssertArchiveEqualsSource compares, for every table, the archive with the source rows up to
// the table's watermark: same count, same checksum.
func AssertArchiveEqualsSource(t testing.TB, root string, store state.Store, c *Cluster) {
	t.Helper()
	ctx := context.Background()
	for _, tb := range tables.STL() {
		p, err := store.Get(ctx, c.Cfg.Name, tb.Name)
		if err != nil {
			t.Fatal(err)
		}
		if p.Watermark.IsZero() || p.Pending != nil {
			t.Fatalf("%s/%s: not committed (watermark %v, pending %v)", c.Cfg.Name, tb.Name, p.Watermark, p.Pending)
		}
		arch, err := archivetest.ReadArchive(root, tb.Name, c.Cfg.Name, archivetest.ColumnNames(tb))
		if err != nil {
			t.Fatal(err)
		}
		src, err := archivetest.ReadSource(ctx, c.Conn, tb, p.Watermark, QueryGroup)
		if err != nil {
			t.Fatal(err)
		}
		if src.Count == 0 {
			t.Fatalf("%s/%s: the source has no rows to compare", c.Cfg.Name, tb.Name)
		}
		if !arch.Equal(src) {
			t.Errorf("%s/%s: archive differs from source: %s", c.Cfg.Name, tb.Name, archivetest.Diff(arch, src))
		} else {
			t.Logf("%s/%s: %d rows, checksum %016x, equal%s", c.Cfg.Name, tb.Name, arch.Count, arch.Sum, oddLabels(t, c, tb, p.Watermark))
		}
	}
}
