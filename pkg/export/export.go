// Package export is the exporter: for each cluster and table it reads the rows new since the
// last export, writes them to the archive as Parquet and remembers where it stopped, exactly
// once (see ARCHITECTURE.md, "The export protocol"). It schedules clusters independently, so one
// failing cluster never holds up the others. It never imports the query side or the plugin.
package export

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/compact"
	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/state"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/storage"
	"github.com/stlarchive/redshift-stl-archive/pkg/redshift"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// Step names a point of the export protocol, for Options.Hook.
type Step string

// The protocol steps, in order, for a window that has rows.
const (
	// StepPending: the pending window is recorded; nothing is written yet.
	StepPending Step = "pending"
	// StepWriting: the object is being written; part of it may be on disk, none is visible.
	StepWriting Step = "writing"
	// StepWritten: the object is in the archive; the watermark has not moved.
	StepWritten Step = "written"
	// StepCommitted: the watermark has moved past the window.
	StepCommitted Step = "committed"
)

// Logger is what the exporter logs through; *slog.Logger and the plugin SDK's logger fit.
type Logger interface {
	Info(msg string, args ...any)
	Warn(msg string, args ...any)
	Error(msg string, args ...any)
}

// Options tune an Exporter beyond the configuration.
type Options struct {
	// Owner identifies this exporter in leases; default host name and process id.
	Owner string
	// Hook, when set, is called at each protocol step. The CLI uses it to let tests crash the
	// process at a chosen step.
	Hook func(step Step, cluster, table string)
	// Log receives progress and errors; default silent.
	Log Logger
	// Connect opens a connection; default redshift.Connect.
	Connect func(ctx context.Context, c config.Cluster, queryGroup string) (*redshift.Conn, error)
	// OnResult, when set, is called after each cluster cycle of Run.
	OnResult func(Result)
	// GapCheckAfter is how far behind a table's watermark must be before a cycle looks for
	// history lost to STL retention (one extra query per table). Default the larger of three
	// intervals and 10 minutes: retention is days, so a shorter outage cannot lose rows.
	GapCheckAfter time.Duration
	// MaxWindow, when positive, bounds a window's length, as the interval does in steady state:
	// a backfill then writes the objects a live exporter would have (the query benchmark's
	// steady-state layout). Default: a window runs to now − lag or the end of its day.
	MaxWindow time.Duration
	// MaintainEvery is how often a cluster's cycle also compacts its closed days and applies
	// retention, under the same lease (default DefaultMaintainEvery; negative: never).
	MaintainEvery time.Duration
	// DayGate decides which days are closed for compaction; default compact.GateOf: with
	// verification on, past the verify horizon with no heal pending and no window left
	// differing; else the watermark past the day's end plus the lag.
	DayGate compact.DayGate
	// Publisher registers Athena's partitions after each switch of compaction and retention
	// (config.RegisteredPartitions); without one such a configuration is not compacted, since
	// Athena could not follow.
	Publisher compact.Publisher
}

// DefaultMaintainEvery is how often the scheduler compacts and applies retention per cluster.
const DefaultMaintainEvery = time.Hour

// Exporter exports the tables of the configured clusters.
type Exporter struct {
	cfg     config.Export
	targets map[string][]tables.Table // cluster name → tables to export, parents first
	order   []config.Cluster
	store   state.Store
	archive storage.Archive
	opts    Options

	mu       sync.Mutex
	conns    map[string]*redshift.Conn
	verified map[string]*verifyMemo

	// compactor compacts closed days and applies retention after a cycle; nil when neither is
	// configured or the archive cannot list objects.
	compactor *compact.Compactor
	// compactGrace is how long the parts of a partial entry a heal drops stay for queries.
	compactGrace time.Duration
	retention    map[string]time.Duration
	maintainedAt map[string]time.Time
}

// New makes an exporter for a validated configuration.
func New(cfg config.Config, store state.Store, archive storage.Archive, opts Options) (*Exporter, error) {
	if opts.Owner == "" {
		opts.Owner = defaultOwner()
	}
	if opts.Log == nil {
		opts.Log = nopLogger{}
	}
	if opts.Connect == nil {
		opts.Connect = redshift.Connect
	}
	e := &Exporter{cfg: cfg.Export, order: cfg.Clusters, store: store, archive: archive, opts: opts,
		targets: map[string][]tables.Table{}, conns: map[string]*redshift.Conn{},
		compactGrace: cfg.Compaction.GraceOrDefault()}
	stl, err := cfg.Export.STLTables()
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	for _, c := range cfg.Clusters {
		e.targets[c.Name] = append([]tables.Table(nil), stl...)
	}
	for _, q := range cfg.CustomQueries {
		t := q.Table()
		names := q.Clusters
		if len(names) == 0 {
			for _, c := range cfg.Clusters {
				names = append(names, c.Name)
			}
		}
		for _, n := range names {
			e.targets[n] = append(e.targets[n], t)
		}
	}
	if opts.MaintainEvery >= 0 && (cfg.CompactionEnabled() || len(cfg.Retention) > 0) {
		c, err := compact.FromConfig(cfg, store, archive, opts.DayGate, compact.Options{Publisher: opts.Publisher})
		if err != nil {
			// An archive that cannot list or delete (a wrapper in a test) is exported as before.
			opts.Log.Warn("no compaction or retention", "error", err)
		} else {
			e.compactor, e.retention = c, cfg.Retention
			e.maintainedAt = map[string]time.Time{}
			switch {
			case !cfg.CompactionEnabled():
				c.DisableCompaction()
			case cfg.RegisteredPartitions() && opts.Publisher == nil:
				opts.Log.Warn("no compaction: query.engine is athena and no Glue client publishes the partitions of compacted days")
				c.DisableCompaction()
			}
		}
	}
	return e, nil
}

// Clusters returns the configured clusters' names.
func (e *Exporter) Clusters() []string {
	out := make([]string, len(e.order))
	for i, c := range e.order {
		out[i] = c.Name
	}
	return out
}

// Tables returns the names of the tables exported from cluster.
func (e *Exporter) Tables(cluster string) []string {
	var out []string
	for _, t := range e.targets[cluster] {
		out = append(out, t.Name)
	}
	return out
}

// Close closes the connections the exporter keeps between cycles.
func (e *Exporter) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for name, c := range e.conns {
		c.Close(context.Background())
		delete(e.conns, name)
	}
}

// Result is the outcome of one cycle on one cluster.
type Result struct {
	Cluster string
	// Err is set when the cluster could not be worked on at all (connection, lease).
	Err    error
	Tables []TableResult
	// Skipped is true when another exporter holds the cluster's lease.
	Skipped bool
	// Verify is the verification pass the cycle ran, when one was due.
	Verify *VerifyResult
	// Holder is that other exporter's lease when Skipped: its owner and when the lease expires.
	Holder state.Lease
	// Maintenance is the compaction and retention run after the cycle, if one was due. Its
	// failures are logged and leave the export alone.
	Maintenance *compact.Result
}

// TableResult is the outcome of one cycle on one table.
type TableResult struct {
	Table   string
	Windows int
	Rows    int64
	Err     error
}

// Failed reports whether the cluster or any of its tables failed.
func (r Result) Failed() error {
	if r.Err != nil {
		return r.Err
	}
	var errs []error
	for _, t := range r.Tables {
		if t.Err != nil {
			errs = append(errs, t.Err)
		}
	}
	return errors.Join(errs...)
}

// Rows is the number of rows the cycle archived.
func (r Result) Rows() int64 {
	var n int64
	for _, t := range r.Tables {
		n += t.Rows
	}
	return n
}

func (e *Exporter) cluster(name string) (config.Cluster, bool) {
	for _, c := range e.order {
		if c.Name == name {
			return c, true
		}
	}
	return config.Cluster{}, false
}

// conn returns the kept connection of a cluster, opening one when there is none.
func (e *Exporter) conn(ctx context.Context, c config.Cluster) (*redshift.Conn, error) {
	e.mu.Lock()
	conn := e.conns[c.Name]
	e.mu.Unlock()
	if conn != nil && !conn.IsClosed() {
		return conn, nil
	}
	conn, err := e.opts.Connect(ctx, c, e.cfg.QueryGroup)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.conns[c.Name] = conn
	e.mu.Unlock()
	return conn, nil
}

func (e *Exporter) dropConn(name string, conn *redshift.Conn) {
	e.mu.Lock()
	if e.conns[name] == conn {
		delete(e.conns, name)
	}
	e.mu.Unlock()
	conn.Close(context.Background())
}

// ExportCluster runs one cycle on one cluster: it takes the cluster's lease, then exports each
// table until it is caught up, and releases the lease. A table's failure does not stop the
// other tables.
func (e *Exporter) ExportCluster(ctx context.Context, name string) Result {
	res := Result{Cluster: name}
	c, ok := e.cluster(name)
	if !ok {
		res.Err = fmt.Errorf("export: no cluster named %s", name)
		return res
	}
	ctx, release, got, lease, err := e.holdLease(ctx, name)
	if err != nil {
		res.Err = err
		return res
	}
	if !got {
		res.Skipped, res.Holder = true, lease
		e.opts.Log.Info("cluster is exported by another exporter", "cluster", name, "owner", lease.Owner, "until", lease.Expires)
		return res
	}
	defer release()

	conn, err := e.conn(ctx, c)
	if err != nil {
		res.Err = err
		// Every table of the cluster shows the failure in status and health.
		for _, t := range e.targets[name] {
			e.recordError(ctx, name, t.Name, err)
		}
		return res
	}
	// One target for every table of the cycle: the tables of a cluster are archived up to the
	// same instant, and a table is caught up once it reaches it while the clock moves on.
	target := conn.Now().Add(-e.cfg.Lag)
	for _, t := range e.targets[name] {
		tr := e.exportTable(ctx, conn, t, target)
		if tr.Err != nil && conn.IsClosed() && ctx.Err() == nil {
			// The kept connection broke (an idle timeout, a server restart, a cancelled read):
			// a fresh one gets the table one more try, and serves the remaining tables.
			e.dropConn(name, conn)
			if conn, err = e.conn(ctx, c); err != nil {
				res.Tables = append(res.Tables, tr)
				res.Err = err
				return res
			}
			tr = e.exportTable(ctx, conn, t, target)
		}
		res.Tables = append(res.Tables, tr)
	}
	if ctx.Err() == nil {
		res.Verify = e.verifyDue(ctx, conn)
	}
	e.maintain(ctx, &res)
	return res
}

// maintain compacts the cluster's closed days and applies retention, at most every
// MaintainEvery, while the cycle still holds the cluster's lease.
func (e *Exporter) maintain(ctx context.Context, res *Result) {
	if e.compactor == nil || ctx.Err() != nil {
		return
	}
	every := e.opts.MaintainEvery
	if every == 0 {
		every = DefaultMaintainEvery
	}
	e.mu.Lock()
	last := e.maintainedAt[res.Cluster]
	due := time.Since(last) >= every
	if due {
		e.maintainedAt[res.Cluster] = time.Now()
	}
	e.mu.Unlock()
	if !due {
		return
	}
	m := e.compactor.Cluster(ctx, res.Cluster, e.targets[res.Cluster], e.retention)
	res.Maintenance = &m
	if err := m.Failed(); err != nil {
		e.opts.Log.Error("compaction failed", "cluster", res.Cluster, "error", err)
	} else {
		e.opts.Log.Info(m.String())
	}
}

// holdLease takes the lease of cluster name and keeps renewing it until release is called; the
// returned context is cancelled if the lease is lost. got is false, with the holder's lease, when
// another exporter holds it.
func (e *Exporter) holdLease(ctx context.Context, name string) (held context.Context, release func(), got bool, lease state.Lease, err error) {
	got, lease, err = e.store.Acquire(ctx, name, e.opts.Owner, e.leaseTTL())
	if err != nil {
		return ctx, nil, false, lease, fmt.Errorf("cluster %s: take lease: %w", name, err)
	}
	if !got {
		return ctx, nil, false, lease, nil
	}
	held, cancel := context.WithCancelCause(ctx)
	renewed := e.keepLease(held, cancel, name, lease.Expires)
	release = func() {
		cancel(nil)
		<-renewed
		if err := e.store.Release(context.WithoutCancel(held), name, e.opts.Owner); err != nil {
			e.opts.Log.Warn("release lease", "cluster", name, "error", err)
		}
	}
	return held, release, true, lease, nil
}

// keepLease renews the lease while the cycle runs and cancels the cycle if the lease is lost,
// so an exporter that stalls past its lease never writes a window another has taken over. A
// renewal that fails (a throttle, a 5xx, a timeout) does not lose a lease that is still valid:
// it is tried again sooner, and the cycle is cancelled only once the lease it holds could lapse
// before the next try. A lease another exporter has taken cancels at once.
func (e *Exporter) keepLease(ctx context.Context, cancel context.CancelCauseFunc, cluster string, expires time.Time) <-chan struct{} {
	done := make(chan struct{})
	ttl := e.leaseTTL()
	every, retry := ttl/3, ttl/12
	// The margin covers the skew between exporters' clocks and the renewal's own duration.
	margin := ttl / 6
	go func() {
		defer close(done)
		t := time.NewTimer(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			got, lease, err := e.store.Acquire(ctx, cluster, e.opts.Owner, ttl)
			if ctx.Err() != nil {
				return
			}
			switch {
			case err == nil && !got:
				cancel(fmt.Errorf("cluster %s: lost lease: lease taken by %s", cluster, lease.Owner))
				return
			case err == nil:
				expires = lease.Expires
				t.Reset(every)
			case time.Until(expires) > retry+margin:
				e.opts.Log.Warn("lease renewal failed; trying again while the lease holds", "cluster", cluster, "until", expires, "error", err)
				t.Reset(retry)
			default:
				cancel(fmt.Errorf("cluster %s: lost lease: renewal failed and the lease expires at %s: %w", cluster, expires.Format(time.RFC3339), err))
				return
			}
		}
	}()
	return done
}

type nopLogger struct{}

func (nopLogger) Info(string, ...any)  {}
func (nopLogger) Warn(string, ...any)  {}
func (nopLogger) Error(string, ...any) {}

func (e *Exporter) gapCheckAfter() time.Duration {
	if e.opts.GapCheckAfter > 0 {
		return e.opts.GapCheckAfter
	}
	return max(3*e.cfg.Interval, 10*time.Minute)
}

func (e *Exporter) leaseTTL() time.Duration {
	if e.cfg.Lease <= 0 {
		return config.DefaultLease
	}
	return e.cfg.Lease
}

// QueryCount is the number of statements the exporter has sent to its clusters' kept
// connections (their lifetime counts; a reconnect starts a new count).
func (e *Exporter) QueryCount() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	var n int64
	for _, c := range e.conns {
		n += c.Queries()
	}
	return n
}
