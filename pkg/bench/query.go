package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/stlarchive/redshift-stl-archive/pkg/app"
	"github.com/stlarchive/redshift-stl-archive/pkg/compact"
	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/query"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/duckdb"
	"github.com/stlarchive/redshift-stl-archive/pkg/sim"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// overviewFallback are the overview panels when the dashboard file is not there.
var overviewFallback = []string{"query_volume", "query_duration", "alert_events", "wlm_queue_wait", "scan_volume", "top_queries"}

// QueryOptions are the flags of "stlarchive bench query".
type QueryOptions struct {
	Server    *url.URL // PostgreSQL server where the bench may create databases
	Dir       string   // folder of the archive and its state, reused between runs
	Clusters  int
	Days      int
	Rate      float64 // mean queries per second per cluster
	Runs      int
	Tables    string // comma-separated tables to export; empty is all
	Dashboard string // overview dashboard whose panels are timed
	Layout    string // "backfill" or "steady"
	// MemoryMB is the embedded engine's memory limit per worker (query.memoryLimitMB); 0 keeps
	// the default.
	MemoryMB int
}

// QueryVsSource measures the query side over a month of simulated history of many clusters:
//
//	stlarchive bench query --pg postgres://postgres:postgres@127.0.0.1:5432 [--dir DIR]
//	                       [--clusters 10] [--days 30] [--runs 5]
//
// It creates one database per cluster and history length on the server (stlbench_<days>d_<i>,
// reused when it already holds the history),
// backfills it with the simulator, exports it with the real exporter into DIR/archive, then times,
// interleaved, the query_volume preset on the embedded engine against the same aggregation on the
// source PostgreSQL (summed over the cluster databases), and every panel of the overview
// dashboard. It prints medians and their ratio.
func QueryVsSource(ctx context.Context, out io.Writer, opts QueryOptions) error {
	cfg := config.Defaults()
	archiveDir := "archive"
	expOpts := export.Options{MaintainEvery: -1}
	if opts.Layout == "steady" {
		// Exported by day, then split into the windows of the export interval (splitWindows).
		archiveDir = "archive-steady"
	}
	cfg.Archive.Path = filepath.Join(opts.Dir, archiveDir)
	cfg.State.Path = filepath.Join(opts.Dir, archiveDir, ".state", "export.db")
	cfg.Export.Concurrency = 2
	cfg.Export.Timeout = 4 * time.Hour
	cfg.Query.Timeout = 10 * time.Minute
	if opts.MemoryMB > 0 {
		cfg.Query.MemoryLimitMB = opts.MemoryMB
	}
	if opts.Tables != "" {
		cfg.Export.Tables = strings.Split(opts.Tables, ",")
	}
	for i := range opts.Clusters {
		cfg.Clusters = append(cfg.Clusters, benchCluster(opts.Server, i, opts.Days))
	}

	// 1. History on the source.
	start := time.Now()
	var total int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, opts.Clusters)
	sem := make(chan struct{}, 2) // two cores: one backfill per core keeps PostgreSQL busy
	for i, c := range cfg.Clusters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			rows, err := backfillCluster(ctx, c, i, opts.Rate, time.Duration(opts.Days)*24*time.Hour)
			errs[i] = err
			mu.Lock()
			total += rows
			mu.Unlock()
			if err == nil {
				fmt.Fprintf(os.Stderr, "bench query: %s has %d stl_query rows (%s)\n", c.Name, rows, time.Since(start).Round(time.Second))
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	fmt.Fprintf(out, "source: %d clusters × %d days, %d stl_query rows, ready in %s\n", opts.Clusters, opts.Days, total, time.Since(start).Round(time.Second))

	// 2. The archive, by the real exporter.
	start = time.Now()
	exp, err := export.Open(cfg, expOpts)
	if err != nil {
		return err
	}
	defer exp.Close()
	var exported int64
	for range 2 {
		for _, r := range exp.Cycle(ctx) {
			if err := r.Failed(); err != nil {
				return fmt.Errorf("bench query: export %s: %w", r.Cluster, err)
			}
			exported += r.Rows()
		}
	}
	fmt.Fprintf(out, "archive: %d rows exported in %s (all tables; 0 when reused)\n", exported, time.Since(start).Round(time.Second))
	if opts.Layout == "steady" {
		start = time.Now()
		ts, err := compact.TablesOf(cfg, cfg.Clusters[0].Name)
		if err != nil {
			return err
		}
		var names []string
		for _, c := range cfg.Clusters {
			names = append(names, c.Name)
		}
		r, err := splitWindows(ctx, cfg.Archive.Path, ts, names, cfg.Export.Interval)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "archive: %d objects split into %d windows of %s (%d rows, at most %d in one object) in %s\n",
			r.objects, r.windows, cfg.Export.Interval, r.rows, r.largest, time.Since(start).Round(time.Second))
	}

	// 3. Queries.
	queries, err := app.OpenQueries(ctx, cfg, app.StoreStatus(exp.Store()))
	if err != nil {
		return err
	}
	defer func() { queries.Close() }() // the one open at the end
	// Connections are opened before timing: the comparison is of the queries, not of log-ins.
	conns := make([]*pgx.Conn, len(cfg.Clusters))
	for i, c := range cfg.Clusters {
		if conns[i], err = connect(ctx, c, c.Database); err != nil {
			return err
		}
		defer conns[i].Close(context.WithoutCancel(ctx))
	}
	m := queryBench{svc: queries.Service, conns: conns, queryGroup: cfg.Export.QueryGroup, days: opts.Days, clusters: opts.Clusters, runs: opts.Runs, dashboard: opts.Dashboard}
	if opts.Layout == "backfill" {
		t, err := m.run(ctx, out)
		if err != nil {
			return err
		}
		return benchIsolation(ctx, out, cfg, queries.Service, t.panels, t.from, t.to, opts.Runs)
	}

	fmt.Fprintf(out, "\n— steady-state layout, before compaction: %s\n", objectsPerDay(ctx, cfg))
	fmt.Fprintf(out, "embedded engine: %d workers, memory limit %d MiB each\n", cfg.Query.Workers, cfg.Query.MemoryLimitMB)
	// Before compaction the engine may fail (a month of windows is hundreds of thousands of
	// objects): that is a result, and compaction is still measured.
	m.tolerate = true
	before, err := m.run(ctx, out)
	if err != nil {
		return err
	}
	m.tolerate = false
	start = time.Now()
	store := exp.Store()
	// The watermark gate: no pass heals during the bench, and yesterday compacted too is the
	// layout a live exporter has a horizon later (the default gate waits for it).
	c, err := compact.FromConfig(cfg, store, exp.Archive(), compact.WatermarkGate{Store: store, Lag: cfg.Export.Lag}, compact.Options{Grace: time.Nanosecond})
	if err != nil {
		return err
	}
	// Two clusters at a time, one per core: each table and cluster has its own layout record,
	// and a live exporter compacts each cluster under that cluster's own lease.
	var next atomic.Int64
	cerrs := make([]error, 2)
	var cwg sync.WaitGroup
	for w := range 2 {
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(cfg.Clusters) {
					return
				}
				cl := cfg.Clusters[i]
				ts, err := compact.TablesOf(cfg, cl.Name)
				if err != nil {
					cerrs[w] = err
					return
				}
				// Twice: the second run deletes the windows the first replaced (a grace of
				// 1 ns: no query runs meanwhile).
				for range 2 {
					if err := c.Cluster(ctx, cl.Name, ts, nil).Failed(); err != nil {
						cerrs[w] = fmt.Errorf("bench query: compact %s: %w", cl.Name, err)
						return
					}
				}
			}
		}()
	}
	cwg.Wait()
	if err := errors.Join(cerrs...); err != nil {
		return err
	}
	fmt.Fprintf(out, "\n— compacted in %s: %s\n", time.Since(start).Round(time.Second), objectsPerDay(ctx, cfg))
	if before.volumeErr != nil || before.overviewErr != nil {
		// A worker whose DuckDB ran out of memory keeps what it had cached (the footers it read)
		// and fails again; after compaction the engine starts with fresh workers, as one that
		// never held the uncompacted month would be.
		queries.Close()
		if queries, err = app.OpenQueries(ctx, cfg, app.StoreStatus(exp.Store())); err != nil {
			return err
		}
		m.svc = queries.Service
		fmt.Fprintf(out, "embedded engine restarted (fresh workers) after its failure before compaction\n")
	}
	after, err := m.run(ctx, out)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nsteady-state layout, %d days × %d clusters (medians)\n", opts.Days, opts.Clusters)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\tbefore compaction\tafter compaction\tsource PostgreSQL\t\n")
	failed := func(err error, d time.Duration) string {
		if err != nil {
			return "failed"
		}
		return d.Round(time.Millisecond).String()
	}
	ratio := func(err error, b benchTimes) string {
		if err != nil {
			return "—"
		}
		return fmt.Sprintf("%.1f×", float64(b.source)/float64(b.volume))
	}
	fmt.Fprintf(tw, "query_volume\t%s\t%s\t%s\t\n", failed(before.volumeErr, before.volume), after.volume.Round(time.Millisecond), after.source.Round(time.Millisecond))
	fmt.Fprintf(tw, "  × faster than the source\t%s\t%s\t1×\t\n", ratio(before.volumeErr, before), ratio(nil, after))
	fmt.Fprintf(tw, "overview dashboard, all panels at once (as Grafana)\t%s\t%s\t\t\n", failed(before.overviewErr, before.together), after.together.Round(time.Millisecond))
	fmt.Fprintf(tw, "overview dashboard, panels one after another\t%s\t%s\t\t\n", failed(before.overviewErr, before.overview), after.overview.Round(time.Millisecond))
	return tw.Flush()
}

// objectsPerDay describes the objects per closed (table, cluster, day) of the archive.
func objectsPerDay(ctx context.Context, cfg config.Config) string {
	st, err := app.Layout(ctx, cfg)
	if err != nil {
		return err.Error()
	}
	today := time.Now().UTC().Format("2006-01-02")
	days, objs, most := 0, 0, 0
	open, openObjs, partial := 0, 0, 0
	for _, s := range st {
		for _, d := range s.Days {
			switch {
			case d.Day >= today:
				open++
				openObjs += d.Objects
				if d.State == "partial" {
					partial++
				}
			case d.State != "retired":
				days++
				objs += d.Objects
				most = max(most, d.Objects)
			}
		}
	}
	todays := fmt.Sprintf("; today: %d objects in %d (table, cluster)s, %d compacted in part", openObjs, open, partial)
	if days == 0 {
		return "no closed day" + todays
	}
	return fmt.Sprintf("%d objects in %d closed (table, cluster, day)s: %.1f per day on average, %d at most", objs, days, float64(objs)/float64(days), most) + todays
}

// queryBench times query_volume on the engine and on the source, and the overview dashboard.
type queryBench struct {
	svc                  *query.Service
	conns                []*pgx.Conn
	queryGroup           string
	days, clusters, runs int
	dashboard            string
	// tolerate reports a failing engine query in the result instead of ending the bench.
	tolerate bool
}

// benchTimes are the medians of one measurement, and the overview panels and range it timed.
type benchTimes struct {
	volume, source, overview time.Duration
	together                 time.Duration // the overview's panels all at once
	// volumeErr and overviewErr are the engine's failures, when the run tolerates them.
	volumeErr, overviewErr error
	panels                 []panel
	from, to               time.Time
}

func (m queryBench) run(ctx context.Context, out io.Writer) (benchTimes, error) {
	var res benchTimes
	svc := m.svc
	to := time.Now().UTC().Truncate(time.Second)
	from := to.Add(-time.Duration(m.days) * 24 * time.Hour)
	interval := query.AutoInterval(from, to)

	volume := func() (int64, error) {
		ans, err := svc.Run(ctx, query.Request{Model: query.Model{QueryType: query.TypeDiagnostics, Preset: "query_volume"}, From: from, To: to, Interval: interval})
		if err != nil {
			return 0, err
		}
		return sumFrames(ans), nil
	}
	source := func() (int64, error) { return sourceVolume(ctx, m.conns, m.queryGroup, from, to, interval) }
	var engineTimes, sourceTimes []time.Duration
	var engineCount, sourceCount int64
	for range m.runs {
		if res.volumeErr == nil {
			d, c, err := timed(volume)
			if err != nil {
				err = fmt.Errorf("bench query: query_volume on the engine: %w", err)
				if !m.tolerate {
					return res, err
				}
				res.volumeErr = err
			} else {
				engineTimes, engineCount = append(engineTimes, d), c
			}
		}
		d, c, err := timed(source)
		if err != nil {
			return res, fmt.Errorf("bench query: query_volume on PostgreSQL: %w", err)
		}
		sourceTimes, sourceCount = append(sourceTimes, d), c
	}
	em, sm := medianOf(engineTimes), medianOf(sourceTimes)
	res.volume, res.source = em, sm
	fmt.Fprintf(out, "\nquery_volume over %d days × %d clusters (interval %s, %d runs each, interleaved)\n", m.days, m.clusters, interval, m.runs)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\tmedian\tqueries counted\t\n")
	fmt.Fprintf(tw, "embedded engine (DuckDB)\t%s\t%d\t\n", em.Round(time.Millisecond), engineCount)
	fmt.Fprintf(tw, "source PostgreSQL (sum of %d databases)\t%s\t%d\t\n", m.clusters, sm.Round(time.Millisecond), sourceCount)
	tw.Flush()
	if res.volumeErr != nil {
		fmt.Fprintf(out, "the embedded engine failed: %v\n", res.volumeErr)
	} else {
		fmt.Fprintf(out, "ratio: %.1f× faster (target ≥ 10×)\n", float64(sm)/float64(em))
	}
	if res.volumeErr == nil && engineCount != sourceCount {
		fmt.Fprintf(out, "note: counts differ by %d (rows inside the export lag are not archived yet)\n", sourceCount-engineCount)
	}

	// 4. The overview dashboard.
	panels, rangeDur, err := overviewPanels(m.dashboard)
	if err != nil {
		return res, err
	}
	pfrom := to.Add(-rangeDur)
	fmt.Fprintf(out, "\noverview dashboard: %d panels over the last %s (%d runs)\n", len(panels), rangeDur, m.runs)
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "panel\tp50\n")
	var whole, together []time.Duration
	perPanel := make([][]time.Duration, len(panels))
	for range m.runs {
		t0 := time.Now()
		for i, p := range panels {
			d, _, err := timed(func() (int64, error) {
				_, err := svc.Run(ctx, query.Request{Model: p.model, From: pfrom, To: to, Interval: query.AutoInterval(pfrom, to)})
				return 0, err
			})
			if err != nil {
				err = fmt.Errorf("bench query: panel %q: %w", p.title, err)
				if !m.tolerate {
					return res, err
				}
				res.overviewErr = err
				fmt.Fprintf(out, "the embedded engine failed: %v\n", err)
				return res, nil
			}
			perPanel[i] = append(perPanel[i], d)
		}
		whole = append(whole, time.Since(t0))
		// As Grafana runs a dashboard: every panel's query at once.
		t0 = time.Now()
		errs := make([]error, len(panels))
		var wg sync.WaitGroup
		for i, p := range panels {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := svc.Run(ctx, query.Request{Model: p.model, From: pfrom, To: to, Interval: query.AutoInterval(pfrom, to)}); err != nil {
					errs[i] = fmt.Errorf("bench query: panel %q: %w", p.title, err)
				}
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			if !m.tolerate {
				return res, err
			}
			res.overviewErr = err
			fmt.Fprintf(out, "the embedded engine failed: %v\n", err)
			return res, nil
		}
		together = append(together, time.Since(t0))
	}
	for i, p := range panels {
		fmt.Fprintf(tw, "%s\t%s\n", p.title, medianOf(perPanel[i]).Round(100*time.Microsecond))
	}
	res.overview, res.together = medianOf(whole), medianOf(together)
	fmt.Fprintf(tw, "every panel, one after another\t%s\n", res.overview.Round(100*time.Microsecond))
	fmt.Fprintf(tw, "every panel at once, as Grafana asks\t%s\n", res.together.Round(100*time.Microsecond))
	res.panels, res.from, res.to = panels, pfrom, to
	return res, tw.Flush()
}

// benchIsolation measures what running the embedded engine in worker processes costs, against
// the same engine in-process (the baseline, opened in the same run over the same archive): the
// p50 added to a small query, and the overview dashboard's total time, panel after panel and all
// panels at once as a browser asks for them.
func benchIsolation(ctx context.Context, out io.Writer, cfg config.Config, isolated *query.Service, panels []panel, from, to time.Time, runs int) error {
	engine, err := duckdb.Open(ctx, cfg.Archive.Path, duckdb.Options{Timeout: cfg.Query.Timeout, MaxRows: cfg.Query.MaxRows,
		MemoryLimit: fmt.Sprintf("%dMiB", cfg.Query.MemoryLimitMB)})
	if err != nil {
		return err
	}
	defer engine.Close()
	inproc := *isolated
	inproc.Engine = engine

	const small = "SELECT 42 AS answer"
	smallRuns := max(200, 40*runs)
	smallOn := func(svc *query.Service) func() error {
		return func() error {
			_, err := svc.Run(ctx, query.Request{Model: query.Model{QueryType: query.TypeSQL, RawSQL: small}, From: from, To: to})
			return err
		}
	}
	tIso, tIn, err := Paired(smallRuns, smallOn(isolated), smallOn(&inproc))
	if err != nil {
		return fmt.Errorf("bench query: small query: %w", err)
	}
	pIso, pIn := Percentile(tIso, 50), Percentile(tIn, 50)
	fmt.Fprintf(out, "\nquery isolation (%d worker processes, RLIMIT_DATA %d MiB + 256 MiB + 8 MiB per thread, SIGKILL at the time limit) against DuckDB in-process, same run\n",
		cfg.Query.Workers, cfg.Query.MemoryLimitMB)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\tin-process (baseline)\tworkers\tadded\t\n")
	fmt.Fprintf(tw, "%q p50 (%d runs)\t%s\t%s\t%s\t\n", small, smallRuns, pIn.Round(time.Microsecond), pIso.Round(time.Microsecond), (pIso - pIn).Round(time.Microsecond))
	fmt.Fprintf(tw, "%q p95\t%s\t%s\t%s\t\n", small, Percentile(tIn, 95).Round(time.Microsecond), Percentile(tIso, 95).Round(time.Microsecond),
		(Percentile(tIso, 95) - Percentile(tIn, 95)).Round(time.Microsecond))

	dashboard := func(svc *query.Service, parallel bool) func() error {
		return func() error {
			run := func(p panel) error {
				_, err := svc.Run(ctx, query.Request{Model: p.model, From: from, To: to, Interval: query.AutoInterval(from, to)})
				if err != nil {
					return fmt.Errorf("panel %q: %w", p.title, err)
				}
				return nil
			}
			if !parallel {
				for _, p := range panels {
					if err := run(p); err != nil {
						return err
					}
				}
				return nil
			}
			errs := make([]error, len(panels))
			var wg sync.WaitGroup
			for i, p := range panels {
				wg.Add(1)
				go func() { defer wg.Done(); errs[i] = run(p) }()
			}
			wg.Wait()
			return errors.Join(errs...)
		}
	}
	for _, parallel := range []bool{false, true} {
		dIso, dIn, err := Paired(runs, dashboard(isolated, parallel), dashboard(&inproc, parallel))
		if err != nil {
			return fmt.Errorf("bench query: overview: %w", err)
		}
		how := "panel after panel"
		if parallel {
			how = "all panels at once"
		}
		mIso, mIn := Percentile(dIso, 50), Percentile(dIn, 50)
		fmt.Fprintf(tw, "overview, %d panels, %s, p50 of %d\t%s\t%s\t%s (%.2f×)\t\n", len(panels), how, runs,
			mIn.Round(100*time.Microsecond), mIso.Round(100*time.Microsecond), (mIso - mIn).Round(100*time.Microsecond), float64(mIso)/float64(mIn))
	}
	return tw.Flush()
}

func benchCluster(server *url.URL, i, days int) config.Cluster {
	port, _ := strconv.Atoi(server.Port())
	if port == 0 {
		port = 5432
	}
	pw, _ := server.User.Password()
	c := config.DefaultCluster()
	c.Name = fmt.Sprintf("bench-%02d", i)
	c.Host, c.Port, c.User, c.Password, c.SSLMode = server.Hostname(), port, server.User.Username(), config.Secret(pw), "disable"
	c.Database = fmt.Sprintf("stlbench_%dd_%02d", days, i)
	return c
}

func connect(ctx context.Context, c config.Cluster, db string) (*pgx.Conn, error) {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(c.User, c.Password.Reveal()), Host: fmt.Sprintf("%s:%d", c.Host, c.Port), Path: "/" + db, RawQuery: "sslmode=disable"}
	return pgx.Connect(ctx, u.String())
}

// backfillCluster makes the cluster's database hold d of history, unless it already holds it.
func backfillCluster(ctx context.Context, c config.Cluster, i int, rate float64, d time.Duration) (int64, error) {
	admin, err := connect(ctx, c, "postgres")
	if err != nil {
		return 0, fmt.Errorf("bench query: %s: %w", c.Name, err)
	}
	_, err = admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{c.Database}.Sanitize())
	admin.Close(ctx)
	var pgErr *pgconn.PgError
	if err != nil && !(errors.As(err, &pgErr) && pgErr.Code == "42P04") {
		return 0, fmt.Errorf("bench query: %s: create database: %w", c.Name, err)
	}
	conn, err := connect(ctx, c, c.Database)
	if err != nil {
		return 0, fmt.Errorf("bench query: %s: %w", c.Name, err)
	}
	defer conn.Close(ctx)
	if err := sim.Create(ctx, conn); err != nil {
		return 0, fmt.Errorf("bench query: %s: %w", c.Name, err)
	}
	var rows int64
	var oldest *time.Time
	if err := conn.QueryRow(ctx, "SELECT count(*), min(endtime) FROM stl_query").Scan(&rows, &oldest); err != nil {
		return 0, fmt.Errorf("bench query: %s: %w", c.Name, err)
	}
	var now time.Time
	if err := conn.QueryRow(ctx, "SELECT getdate()").Scan(&now); err != nil {
		return 0, fmt.Errorf("bench query: %s: %w", c.Name, err)
	}
	if rows > 0 && oldest != nil && now.Sub(*oldest) >= d-24*time.Hour {
		return rows, nil // reused
	}
	if rows > 0 {
		return 0, fmt.Errorf("bench query: %s: database %s holds a partial history; drop it", c.Name, c.Database)
	}
	opts := sim.DefaultOptions()
	opts.Rate, opts.Seed = rate, uint64(i)+1
	w, err := sim.NewWorkload(opts)
	if err != nil {
		return 0, err
	}
	s, err := w.Backfill(ctx, conn, now.Add(-d), now)
	if err != nil {
		return 0, fmt.Errorf("bench query: %s: %w", c.Name, err)
	}
	return s.Rows["stl_query"], nil
}

// sourceVolume is query_volume computed on each cluster's PostgreSQL, one after another, as a
// cross-cluster question must be asked without an archive. Like the archive, it leaves out the
// exporter's own queries.
func sourceVolume(ctx context.Context, conns []*pgx.Conn, queryGroup string, from, to time.Time, interval time.Duration) (int64, error) {
	var total int64
	for _, conn := range conns {
		rows, err := conn.Query(ctx, `SELECT date_bin($3::interval, endtime, TIMESTAMP '2000-01-03') AS time, count(*) AS queries
			FROM stl_query WHERE endtime >= $1 AND endtime <= $2 AND `+tables.NotOwn("label", "$4")+` GROUP BY 1 ORDER BY 1`,
			from, to, interval, queryGroup)
		if err != nil {
			return 0, err
		}
		for rows.Next() {
			var t time.Time
			var n int64
			if err := rows.Scan(&t, &n); err != nil {
				rows.Close()
				return 0, err
			}
			total += n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, err
		}
	}
	return total, nil
}

// sumFrames adds up every int64 value of the answer: the queries counted.
func sumFrames(ans query.Answer) int64 {
	var n int64
	for _, f := range ans.Frames {
		for _, fld := range f.Fields {
			for i := range fld.Len() {
				switch v := fld.At(i).(type) {
				case int64:
					n += v
				case *int64:
					if v != nil {
						n += *v
					}
				}
			}
		}
	}
	return n
}

func timed(f func() (int64, error)) (time.Duration, int64, error) {
	t0 := time.Now()
	n, err := f()
	return time.Since(t0), n, err
}

func medianOf(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

type panel struct {
	title string
	model query.Model
}

// overviewPanels reads the panel queries of the overview dashboard and its default range, or
// the fallback list of presets over a day.
func overviewPanels(path string) ([]panel, time.Duration, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		var out []panel
		for _, id := range overviewFallback {
			out = append(out, panel{id, query.Model{QueryType: query.TypeDiagnostics, Preset: id}})
		}
		return out, 24 * time.Hour, nil
	}
	if err != nil {
		return nil, 0, err
	}
	var dash struct {
		Time   struct{ From string } `json:"time"`
		Panels []json.RawMessage     `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		return nil, 0, fmt.Errorf("bench query: %s: %w", path, err)
	}
	rng := 24 * time.Hour
	if d, err := time.ParseDuration(strings.TrimPrefix(strings.ReplaceAll(dash.Time.From, "d", "h"), "now-")); err == nil {
		if strings.HasSuffix(dash.Time.From, "d") {
			d *= 24
		}
		rng = d
	}
	var out []panel
	var walk func([]json.RawMessage) error
	walk = func(ps []json.RawMessage) error {
		for _, p := range ps {
			var pn struct {
				Title   string            `json:"title"`
				Panels  []json.RawMessage `json:"panels"`
				Targets []json.RawMessage `json:"targets"`
			}
			if err := json.Unmarshal(p, &pn); err != nil {
				return err
			}
			if err := walk(pn.Panels); err != nil {
				return err
			}
			for _, t := range pn.Targets {
				m, err := query.ParseModel(t, "")
				if err != nil {
					return err
				}
				out = append(out, panel{pn.Title, m})
			}
		}
		return nil
	}
	if err := walk(dash.Panels); err != nil {
		return nil, 0, fmt.Errorf("bench query: %s: %w", path, err)
	}
	return out, rng, nil
}
