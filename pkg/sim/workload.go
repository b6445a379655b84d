package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Options shape a Workload. Zero fields mean none: a zero Rate writes nothing, a zero LateShare
// writes no late rows. DefaultOptions gives a realistic mix.
type Options struct {
	// Rate is the mean number of stl_query rows per second. The rate follows a daily curve
	// (quiet nights, busy afternoons in UTC) around this mean.
	Rate float64
	// LongShare is the share of queries that run for minutes (up to LongMax) instead of
	// milliseconds to seconds.
	LongShare float64
	// LongMax bounds the duration of long queries; zero means 30 minutes.
	LongMax time.Duration
	// LateShare is the share of rows that arrive after their time, by up to MaxLateness.
	LateShare float64
	// MaxLateness bounds how long after its time a row arrives (see the package doc).
	MaxLateness time.Duration
	// DDLPerQuery and UtilityPerQuery are the numbers of stl_ddltext and stl_utilitytext
	// statements per query.
	DDLPerQuery     float64
	UtilityPerQuery float64
	// SpecialShare is the share of statements whose text is reshaped to hit a chunking edge
	// case (exact chunk lengths, blanks across chunk boundaries, trailing blanks); LongTextShare
	// the share longer than querytxt's 4000 characters.
	SpecialShare  float64
	LongTextShare float64
	// SystemShare is the share of queries Redshift runs itself (userid 1).
	SystemShare float64
	// QueryGroup is the exporter's query group; OwnShare of the queries (and some SET
	// statements) carry it as their label, imitating the exporter's own reads.
	QueryGroup string
	OwnShare   float64
	// OddLabelShare of the user queries and utility/DDL statements carry a label that a careless
	// filter mistakes for the exporter's or drops: NULL, blank, blank-padded, non-ASCII, or
	// QueryGroup with something before or after it. They are not the exporter's own rows.
	OddLabelShare float64
	// Slices is the number of slices that scan each table (stl_scan rows per table read);
	// zero means 4.
	Slices int
	// Seed makes the activity reproducible.
	Seed uint64
	// Retention, when positive, makes Run delete rows older than that, as STL does.
	Retention time.Duration
	// Progress, when set, is called after each committed step of Run and Backfill.
	Progress func(from, to time.Time, s Stats)
}

// DefaultOptions is a small, busy cluster: half a million queries a month.
func DefaultOptions() Options {
	return Options{
		Rate:            0.2,
		LongShare:       0.02,
		LongMax:         30 * time.Minute,
		LateShare:       0.05,
		MaxLateness:     2 * time.Minute,
		DDLPerQuery:     0.02,
		UtilityPerQuery: 0.08,
		SpecialShare:    0.08,
		LongTextShare:   0.03,
		SystemShare:     0.04,
		QueryGroup:      "stlarchive",
		OwnShare:        0.02,
		OddLabelShare:   0.05,
		Slices:          4,
		Seed:            1,
	}
}

func (o Options) validate() error {
	shares := []struct {
		name string
		v    float64
	}{
		{"LongShare", o.LongShare}, {"LateShare", o.LateShare}, {"SpecialShare", o.SpecialShare},
		{"LongTextShare", o.LongTextShare}, {"SystemShare", o.SystemShare}, {"OwnShare", o.OwnShare},
		{"OddLabelShare", o.OddLabelShare},
	}
	for _, s := range shares {
		if !(s.v >= 0 && s.v <= 1) {
			return fmt.Errorf("%s %v is not between 0 and 1", s.name, s.v)
		}
	}
	for _, r := range []struct {
		name string
		v    float64
	}{{"Rate", o.Rate}, {"DDLPerQuery", o.DDLPerQuery}, {"UtilityPerQuery", o.UtilityPerQuery}} {
		if !(r.v >= 0) || math.IsInf(r.v, 0) {
			return fmt.Errorf("%s %v is not a rate", r.name, r.v)
		}
	}
	if o.MaxLateness < 0 || o.LongMax < 0 || o.Retention < 0 {
		return errors.New("durations must not be negative")
	}
	if o.Slices < 0 || o.Slices > 1024 {
		return fmt.Errorf("slices %d out of range", o.Slices)
	}
	if o.OwnShare > 0 && o.QueryGroup == "" {
		return errors.New("OwnShare needs a QueryGroup")
	}
	return nil
}

// Stats counts what a step wrote.
type Stats struct {
	// Rows per STL table name.
	Rows map[string]int64
	// Late counts the rows that arrived after their own time.
	Late int64
}

// Add adds o's counts to s.
func (s *Stats) Add(o Stats) {
	if s.Rows == nil {
		s.Rows = map[string]int64{}
	}
	for k, v := range o.Rows {
		s.Rows[k] += v
	}
	s.Late += o.Late
}

// Total is the number of STL rows.
func (s Stats) Total() int64 {
	var n int64
	for _, v := range s.Rows {
		n += v
	}
	return n
}

// Workload writes simulated STL activity. It remembers where the last step ended and the rows
// that have not arrived yet, so use one Workload per database, on one connection at a time.
type Workload struct {
	opt Options

	started   bool
	clock     int64 // µs since the Unix epoch: activity up to here is generated
	nextQuery int64
	nextXid   int64
	pending   []pendingRow

	windowSQL  []string // the exporter's reads, imitated by own queries
	windowName []string
}

// NewWorkload checks the options and returns a Workload that starts with its first step.
func NewWorkload(o Options) (*Workload, error) {
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("simulator options: %w", err)
	}
	if o.LongMax == 0 {
		o.LongMax = 30 * time.Minute
	}
	if o.Slices == 0 {
		o.Slices = 4
	}
	w := &Workload{opt: o}
	w.windowSQL, w.windowName = exporterReads()
	return w, nil
}

// Step writes, in one transaction, every row whose arrival falls in (from, to]: activity that
// ended in the interval, and late rows of earlier activity. A step that does not start where
// the previous one ended restarts the timeline at from. On error nothing is written and the
// Workload is as before.
func (w *Workload) Step(ctx context.Context, conn *pgx.Conn, from, to time.Time) (Stats, error) {
	f, t := micros(from), micros(to)
	if !w.started || f != w.clock {
		if err := w.begin(ctx, conn, f); err != nil {
			return Stats{}, err
		}
	}
	if t <= f {
		return Stats{}, nil
	}
	saved := *w
	b, err := w.prepare(t)
	if err == nil {
		err = b.write(ctx, conn)
	}
	if err != nil {
		*w = saved
		return Stats{}, fmt.Errorf("simulate step: %w", err)
	}
	return b.stats, nil
}

// prepare moves the timeline from w.clock to t and returns the rows that arrive in between.
// The rows that arrive later stay pending.
func (w *Workload) prepare(t int64) (*batch, error) {
	b := newBatch()
	var keep []pendingRow // a new slice: a failed step restores the old one untouched
	sink := func(p pendingRow) {
		if p.arrival <= t {
			b.add(p)
		} else {
			keep = append(keep, p)
		}
	}
	for _, p := range w.pending {
		sink(p)
	}
	if err := w.generate(w.clock, t, sink); err != nil {
		return nil, err
	}
	w.pending = keep
	w.clock = t
	return b, nil
}

// begin starts the timeline at f. The first time it continues the query ids and xids found in
// the tables, so that ids stay unique per cluster across runs.
func (w *Workload) begin(ctx context.Context, conn *pgx.Conn, f int64) error {
	if !w.started {
		var q, x int64
		err := conn.QueryRow(ctx, `SELECT
			greatest((SELECT max(query) FROM stl_query), (SELECT max(query) FROM stl_wlm_query),
			         (SELECT max(query) FROM stl_scan), (SELECT max(query) FROM stl_alert_event_log), 0),
			greatest((SELECT max(xid) FROM stl_query), (SELECT max(xid) FROM stl_ddltext),
			         (SELECT max(xid) FROM stl_utilitytext), (SELECT max(xid) FROM stl_wlm_query), 0)`).Scan(&q, &x)
		if err != nil {
			return fmt.Errorf("simulate: read last query id: %w", err)
		}
		// A real cluster's counters are far from zero.
		w.nextQuery = max(q+1, 1_000_000)
		w.nextXid = max(x+1, 40_000_000)
		w.started = true
	}
	w.clock = f
	w.pending = nil
	return nil
}

// backfillStep keeps a backfill step near 5000 queries: big enough that a round trip per table
// does not matter, small enough to hold in memory.
func (w *Workload) backfillStep() time.Duration {
	if w.opt.Rate <= 0 {
		return 6 * time.Hour
	}
	d := time.Duration(5000 / w.opt.Rate * float64(time.Second))
	return min(max(d, time.Minute), 6*time.Hour)
}

// Backfill writes the history of (from, to] in steps, each in its own transaction, then
// ANALYZEs the tables. It makes the rows of the next step while the database takes the current
// one. After an error the Workload restarts its timeline on the next step, from what the tables
// hold. Rows that arrive after to stay pending for the next Step or Run.
func (w *Workload) Backfill(ctx context.Context, conn *pgx.Conn, from, to time.Time) (Stats, error) {
	var total Stats
	f := micros(from)
	if !w.started || f != w.clock {
		if err := w.begin(ctx, conn, f); err != nil {
			return total, fmt.Errorf("backfill: %w", err)
		}
	}
	type step struct {
		lo, hi time.Time
		b      *batch
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	steps := make(chan step, 1)
	genErr := make(chan error, 1)
	size := w.backfillStep()
	go func() {
		defer close(steps)
		for lo := from; lo.Before(to); {
			hi := to
			if lo.Add(size).Before(to) {
				hi = lo.Add(size)
			}
			b, err := w.prepare(micros(hi))
			if err != nil {
				genErr <- err
				return
			}
			select {
			case steps <- step{lo, hi, b}:
			case <-ctx.Done():
				return
			}
			lo = hi
		}
	}()
	var err error
	for s := range steps {
		if err = s.b.write(ctx, conn); err != nil {
			cancel()
			for range steps { // wait for the generator to stop touching w
			}
			break
		}
		total.Add(s.b.stats)
		if w.opt.Progress != nil {
			w.opt.Progress(s.lo, s.hi, s.b.stats)
		}
	}
	if err == nil {
		select {
		case err = <-genErr:
		default:
		}
	}
	if err != nil {
		// The generator ran ahead of what was written: start over from the tables.
		w.started = false
		return total, fmt.Errorf("backfill: %w", err)
	}
	// Readers come right after a backfill; without statistics PostgreSQL plans their joins of
	// children to parents as nested loops over millions of rows.
	if _, err := conn.Exec(ctx, "ANALYZE "+strings.Join(tableNames[:], ", ")); err != nil {
		return total, fmt.Errorf("backfill: analyze: %w", err)
	}
	return total, nil
}

// Run writes activity continuously until ctx is done, stepping up to the database's getdate()
// every tick (one second when tick is zero). After a pause longer than a backfill step it
// catches up in backfill steps. With Options.Retention it deletes old rows about once a minute.
// It returns nil when ctx ends. A step under way finishes first, because pgx closes a
// connection whose query is cancelled and the caller may still read through conn; only a
// catch-up backfill is interrupted.
func Run(ctx context.Context, conn *pgx.Conn, w *Workload, tick time.Duration) error {
	if tick <= 0 {
		tick = time.Second
	}
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	var lastRetention time.Time
	for {
		if err := w.runOnce(ctx, conn, &lastRetention); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

func (w *Workload) runOnce(ctx context.Context, conn *pgx.Conn, lastRetention *time.Time) error {
	backfillCtx := ctx
	ctx = context.WithoutCancel(ctx)
	var now time.Time
	if err := conn.QueryRow(ctx, "SELECT getdate()").Scan(&now); err != nil {
		return fmt.Errorf("simulate: read clock: %w", err)
	}
	now = now.UTC()
	if !w.started {
		// The simulated cluster starts now: nothing has happened yet.
		return w.begin(ctx, conn, micros(now))
	}
	from := time.UnixMicro(w.clock).UTC()
	switch {
	case !now.After(from):
	case now.Sub(from) > w.backfillStep():
		if _, err := w.Backfill(backfillCtx, conn, from, now); err != nil {
			return err
		}
	default:
		s, err := w.Step(ctx, conn, from, now)
		if err != nil {
			return err
		}
		if w.opt.Progress != nil {
			w.opt.Progress(from, now, s)
		}
	}
	if w.opt.Retention > 0 && now.Sub(*lastRetention) >= time.Minute {
		if _, err := DeleteOlderThan(ctx, conn, now.Add(-w.opt.Retention)); err != nil {
			return err
		}
		*lastRetention = now
	}
	return nil
}

func micros(t time.Time) int64 { return t.UnixMicro() }
