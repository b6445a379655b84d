package export

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/compact"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/parquetfile"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/source"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/state"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/storage"
	"github.com/stlarchive/redshift-stl-archive/pkg/redshift"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// The steps of a heal, for Options.Hook: the same protocol as an export, under the heal record
// instead of the pending window, and the watermark never moves.
const (
	// StepHealPending: the heal is recorded; nothing is written yet.
	StepHealPending Step = "heal-pending"
	// StepHealWriting: the new object is being written; the old one is still in place.
	StepHealWriting Step = "heal-writing"
	// StepHealWritten: the new object replaced the old; the manifest still has the old entry.
	StepHealWritten Step = "heal-written"
	// StepHealCommitted: the manifest has the new entry and the heal is recorded.
	StepHealCommitted Step = "heal-committed"
)

// VerifyOptions tune a verification pass.
type VerifyOptions struct {
	// Heal re-exports the windows whose source rows changed.
	Heal bool
	// Since limits the pass to the windows that end after it; zero: the configured horizon
	// back from now on the source.
	Since time.Time
	// Deep also reads again every window whose count and key sum match, and compares the
	// checksum of its rows with the manifest's: the proof row for row, at the cost of a full
	// read of the horizon.
	Deep bool
}

// Window verdicts.
const (
	VerdictEqual        = "equal"
	VerdictChanged      = "changed"      // the source holds more or other rows: late rows
	VerdictDiffers      = "differs"      // the source holds fewer rows than the archive, or a heal failed
	VerdictHealed       = "healed"       // changed, and re-exported in this pass
	VerdictUnverifiable = "unverifiable" // the source no longer holds all of the window
	// VerdictUnhealable: changed, in a day already compacted or retired. Readers of such a day
	// read its compacted parts only, so a heal under the window's own path would be lost; none
	// is written and the window counts among Differs.
	VerdictUnhealable = "unhealable"
)

// errDayCompacted is redoHeal's refusal to write into a compacted or retired day.
var errDayCompacted = errors.New("the window's day is compacted or retired: a heal would not be read")

// WindowCheck is what a pass found for one window that was not equal.
type WindowCheck struct {
	Window       state.Window `json:"window"`
	Verdict      string       `json:"verdict"`
	ArchivedRows int64        `json:"archivedRows"`
	SourceRows   int64        `json:"sourceRows"`
}

// TableVerify is the outcome of a pass on one table.
type TableVerify struct {
	Table string `json:"table"`
	// Unplaced is the rows on the source that no window can hold (see state.Unplaced).
	Unplaced int64 `json:"unplaced"`
	Windows  int   `json:"windows"`
	Equal    int   `json:"equal"`
	Healed   int   `json:"healed"`
	Differs  int   `json:"differs"`
	// Unhealable counts those of Differs that lie in a compacted or retired day (VerdictUnhealable).
	Unhealable   int           `json:"unhealable"`
	Unverifiable int           `json:"unverifiable"`
	LateRows     int64         `json:"lateRows"`
	RowsHealed   int64         `json:"rowsHealed"`
	Checks       []WindowCheck `json:"checks,omitempty"`
	// CountTook is the time of the table's one aggregate statement on the source.
	CountTook time.Duration `json:"countTook"`
	Err       error         `json:"-"`
	Error     string        `json:"error,omitempty"`
}

// VerifyResult is the outcome of a pass on one cluster.
type VerifyResult struct {
	Cluster string        `json:"cluster"`
	Skipped bool          `json:"skipped,omitempty"`
	Err     error         `json:"-"`
	Error   string        `json:"error,omitempty"`
	Tables  []TableVerify `json:"tables"`
	// Queries is the number of statements the pass sent; Duration its wall time.
	Queries  int64         `json:"queries"`
	Duration time.Duration `json:"duration"`
}

// Differs reports whether the archive was left different from the source, or the pass failed.
func (r VerifyResult) Differs() bool {
	if r.Err != nil {
		return true
	}
	for _, t := range r.Tables {
		if t.Err != nil || t.Differs > 0 {
			return true
		}
	}
	return false
}

// VerifyCluster runs a verification pass on one cluster under its lease, like an export cycle.
func (e *Exporter) VerifyCluster(ctx context.Context, name string, opts VerifyOptions) VerifyResult {
	res := VerifyResult{Cluster: name}
	c, ok := e.cluster(name)
	if !ok {
		res.Err = fmt.Errorf("verify: no cluster named %s", name)
		return res.done()
	}
	ctx, release, got, lease, err := e.holdLease(ctx, name)
	if err != nil {
		res.Err = err
		return res.done()
	}
	if !got {
		res.Skipped = true
		res.Err = fmt.Errorf("cluster %s: held by %s until %s", name, lease.Owner, lease.Expires.UTC().Format(time.RFC3339))
		return res.done()
	}
	defer release()
	conn, err := e.conn(ctx, c)
	if err != nil {
		res.Err = err
		return res.done()
	}
	return e.verify(ctx, conn, opts)
}

// Verify runs a pass on every cluster, Concurrency at a time, in configuration order.
func (e *Exporter) Verify(ctx context.Context, opts VerifyOptions) []VerifyResult {
	out := make([]VerifyResult, len(e.order))
	sem := make(chan struct{}, max(1, e.cfg.Concurrency))
	var wg sync.WaitGroup
	for i, c := range e.order {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				out[i] = VerifyResult{Cluster: c.Name, Err: ctx.Err()}
				return
			}
			defer func() { <-sem }()
			out[i] = e.VerifyCluster(ctx, c.Name, opts)
		})
	}
	wg.Wait()
	return out
}

func (r VerifyResult) done() VerifyResult {
	if r.Err != nil {
		r.Error = r.Err.Error()
	}
	for i := range r.Tables {
		if r.Tables[i].Err != nil {
			r.Tables[i].Error = r.Tables[i].Err.Error()
		}
	}
	return r
}

// verifyMemo is what the exporter remembers of a cluster's verification between cycles, so that
// an idle cycle costs no extra read of the state: the last pass, and whether the state must be
// read again for heals to finish (at the first cycle of the process, and after a failure).
type verifyMemo struct {
	checked  bool
	lastPass time.Time
}

// verifyDue is the scheduled part of a cycle, under its lease: it finishes an interrupted heal
// (a crash or kill during one), then runs a pass when the last one on the cluster is older than
// the verify interval.
func (e *Exporter) verifyDue(ctx context.Context, conn *redshift.Conn) *VerifyResult {
	cluster := conn.Cluster()
	e.mu.Lock()
	if e.verified == nil {
		e.verified = map[string]*verifyMemo{}
	}
	memo := e.verified[cluster]
	if memo == nil {
		memo = &verifyMemo{}
		e.verified[cluster] = memo
	}
	e.mu.Unlock()
	if !memo.checked {
		ok := true
		var oldest time.Time
		for i, t := range e.targets[cluster] {
			p, err := e.store.Get(ctx, cluster, t.Name)
			if err != nil {
				return nil
			}
			if p.Heal != nil {
				if _, err := e.redoHeal(ctx, conn, t, parentOf(t), &p); err != nil && !errors.Is(err, errDayCompacted) {
					ok = false
					e.opts.Log.Error("heal failed", "cluster", cluster, "table", t.Name, "error", err)
				}
			}
			if i == 0 || p.Verification.LastPass.Before(oldest) {
				oldest = p.Verification.LastPass
			}
		}
		memo.checked, memo.lastPass = ok, oldest
	}
	if !e.cfg.Verify.Enabled {
		e.countUnplacedDue(ctx, conn, memo)
		return nil
	}
	if time.Since(memo.lastPass) < e.cfg.Verify.Interval {
		return nil
	}
	res := e.verify(ctx, conn, VerifyOptions{Heal: e.cfg.Verify.Heal})
	memo.lastPass = time.Now()
	if res.Differs() {
		memo.checked = false // a failed heal is redone at the next cycle
	}
	return &res
}

func parentOf(t tables.Table) *tables.Table {
	if t.Parent == "" {
		return nil
	}
	p, _ := tables.Lookup(t.Parent)
	return &p
}

func (e *Exporter) verify(ctx context.Context, conn *redshift.Conn, opts VerifyOptions) VerifyResult {
	start, q0 := time.Now(), conn.Queries()
	res := VerifyResult{Cluster: conn.Cluster()}
	since := opts.Since
	if since.IsZero() {
		since = conn.Now().Add(-e.verifyHorizon())
	}
	for _, t := range e.targets[conn.Cluster()] {
		tctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
		tv := e.verifyTable(tctx, conn, t, since, opts)
		cancel()
		if tv.Err != nil {
			e.opts.Log.Error("verification failed", "cluster", conn.Cluster(), "table", t.Name, "error", tv.Err)
		}
		res.Tables = append(res.Tables, tv)
	}
	res.Queries, res.Duration = conn.Queries()-q0, time.Since(start)
	return res.done()
}

type sourceCount struct{ rows, keySum int64 }

func (e *Exporter) verifyTable(ctx context.Context, conn *redshift.Conn, t tables.Table, since time.Time, opts VerifyOptions) TableVerify {
	tv := TableVerify{Table: t.Name}
	cluster := conn.Cluster()
	parent := parentOf(t)
	fail := func(err error) TableVerify {
		tv.Err = fmt.Errorf("verify %s on %s: %w", t.Name, cluster, err)
		e.recordVerifyError(ctx, cluster, t.Name, tv.Err)
		return tv
	}
	p, err := e.store.Get(ctx, cluster, t.Name)
	if err != nil {
		return fail(err)
	}
	if p.Heal != nil {
		if _, err := e.redoHeal(ctx, conn, t, parent, &p); err != nil && !errors.Is(err, errDayCompacted) {
			return fail(err)
		}
	}
	var entries []state.Entry
	for _, en := range p.Manifest {
		if en.Hi.After(since) {
			entries = append(entries, en)
		}
	}
	now := time.Now().UTC()
	if len(entries) == 0 {
		if tv.Unplaced, err = e.countUnplaced(ctx, conn, t, parent); err != nil {
			return fail(err)
		}
		err := e.updateVerification(ctx, cluster, t.Name, func(p *state.Progress) {
			p.Unplaced.Record(tv.Unplaced, now)
			p.Verification.LastPass, p.Verification.LastError = now, ""
			p.Verification.LastPassLateRows, p.Verification.LastPassUnverifiable, p.Verification.Differs = 0, 0, 0
			p.Verification.Unhealable = 0
		})
		if err != nil {
			return fail(err)
		}
		return tv
	}
	windows := make([]state.Window, len(entries))
	for i, en := range entries {
		windows[i] = en.Window()
	}
	began := time.Now()
	counts, oldest, err := e.countWindows(ctx, conn, t, parent, windows)
	tv.CountTook = time.Since(began)
	if err != nil {
		return fail(err)
	}
	tv.Unplaced = counts[unplacedBucket].rows
	verdicts := make([]string, len(entries))
	late := make([]int64, len(entries))
	for i, en := range entries {
		src := counts[i]
		held := oldest.IsZero() || !oldest.After(en.Lo.Add(time.Microsecond))
		equal := src.rows == en.Rows && src.keySum == en.KeySum
		switch {
		case !held || (oldest.IsZero() && en.Rows > 0):
			verdicts[i] = VerdictUnverifiable
		case equal && opts.Deep:
			d, err := e.readDigest(ctx, conn, t, parent, en.Window())
			if err != nil {
				return fail(err)
			}
			verdicts[i] = VerdictEqual
			if d.rows != en.Rows || d.checksum != en.Checksum {
				verdicts[i] = VerdictChanged
			}
		case equal:
			verdicts[i] = VerdictEqual
		case src.rows >= en.Rows:
			verdicts[i] = VerdictChanged
			late[i] = src.rows - max(en.Rows, en.Seen)
		default:
			verdicts[i] = VerdictDiffers
		}
		tv.Windows++
	}
	// Heal in window order: a failed heal stops the table, and the next pass starts again.
	for i, en := range entries {
		if verdicts[i] != VerdictChanged || !opts.Heal {
			continue
		}
		after, err := e.heal(ctx, conn, t, parent, en)
		if errors.Is(err, errDayCompacted) {
			verdicts[i] = VerdictUnhealable
			e.opts.Log.Error("window differs in a compacted day and cannot be healed", "cluster", cluster, "table", t.Name,
				"lo", en.Lo, "hi", en.Hi, "archivedRows", en.Rows, "sourceRows", counts[i].rows)
			continue
		}
		if err != nil {
			tv.Err = fmt.Errorf("heal %s on %s: %w", t.Name, cluster, err)
			break
		}
		if after.Rows < en.Rows {
			// The source lost rows between the count and the read (retention).
			verdicts[i] = VerdictUnverifiable
			continue
		}
		verdicts[i] = VerdictHealed
		tv.RowsHealed += after.Rows - en.Rows
	}
	var upTo time.Time
	blocked := false
	for i, en := range entries {
		switch verdicts[i] {
		case VerdictEqual:
			tv.Equal++
		case VerdictHealed:
			tv.Healed++
		case VerdictUnverifiable:
			tv.Unverifiable++
		case VerdictUnhealable:
			tv.Unhealable++
			tv.Differs++
		default:
			tv.Differs++
		}
		if verdicts[i] == VerdictChanged || verdicts[i] == VerdictDiffers || verdicts[i] == VerdictUnhealable {
			blocked = true
		}
		if !blocked && (verdicts[i] == VerdictEqual || verdicts[i] == VerdictHealed) {
			upTo = en.Hi
		}
		tv.LateRows += max(late[i], 0)
		if verdicts[i] != VerdictEqual {
			tv.Checks = append(tv.Checks, WindowCheck{Window: en.Window(), Verdict: verdicts[i], ArchivedRows: en.Rows, SourceRows: counts[i].rows})
		}
	}
	err = e.updateVerification(ctx, cluster, t.Name, func(p *state.Progress) {
		v := &p.Verification
		p.Unplaced.Record(tv.Unplaced, now)
		newlyUnverifiable := 0
		for i, en := range entries {
			for j := range p.Manifest {
				m := &p.Manifest[j]
				if !m.Lo.Equal(en.Lo) || !m.Hi.Equal(en.Hi) {
					continue
				}
				switch verdicts[i] {
				case VerdictEqual:
					m.Verified, m.Seen, m.Differs = now, 0, false
				case VerdictUnverifiable:
					if !m.Unverifiable {
						newlyUnverifiable++
					}
					m.Unverifiable, m.Differs = true, false
				case VerdictChanged, VerdictDiffers, VerdictUnhealable:
					m.Seen, m.Differs = max(m.Seen, counts[i].rows), true
				}
			}
		}
		v.LastPass = now
		// A difference left behind moves "verified up to" back to before it.
		if upTo.After(v.VerifiedUpTo) || blocked {
			v.VerifiedUpTo = upTo
		}
		v.Differs = tv.Differs
		v.Unhealable = tv.Unhealable
		v.LateRows += tv.LateRows
		v.LastPassLateRows = tv.LateRows
		v.Unverifiable += int64(newlyUnverifiable)
		v.LastPassUnverifiable = tv.Unverifiable
		v.LastError = ""
		if tv.Err != nil {
			v.LastError = tv.Err.Error()
		}
	})
	if err != nil && tv.Err == nil {
		tv.Err = fmt.Errorf("verify %s on %s: %w", t.Name, cluster, err)
	}
	if tv.LateRows > 0 || tv.Unverifiable > 0 || tv.Differs > 0 {
		e.opts.Log.Warn("archive differs from the source", "cluster", cluster, "table", t.Name,
			"lateRows", tv.LateRows, "healedWindows", tv.Healed, "rowsHealed", tv.RowsHealed,
			"unverifiable", tv.Unverifiable, "differs", tv.Differs)
	}
	return tv
}

// countWindows sends the table's one aggregate statement of the pass.
func (e *Exporter) countWindows(ctx context.Context, conn *redshift.Conn, t tables.Table, parent *tables.Table, ws []state.Window) (map[int]sourceCount, time.Time, error) {
	sql, args, err := verifySQL(t, parent, ws)
	if err != nil {
		return nil, time.Time{}, err
	}
	if t.FiltersOwnQueries() {
		args[2] = e.cfg.QueryGroup
	}
	conn.CountQuery()
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		return nil, time.Time{}, conn.Wrap("count "+t.Name, err)
	}
	defer rows.Close()
	counts := map[int]sourceCount{}
	var oldest time.Time
	for rows.Next() {
		var (
			b    int
			n, k int64
			old  *time.Time
		)
		if err := rows.Scan(&b, &n, &k, &old); err != nil {
			return nil, time.Time{}, conn.Wrap("count "+t.Name, err)
		}
		if b == -1 {
			if old != nil {
				oldest = old.UTC()
			}
			continue
		}
		counts[b] = sourceCount{rows: n, keySum: k}
	}
	if err := rows.Err(); err != nil {
		return nil, time.Time{}, conn.Wrap("count "+t.Name, err)
	}
	return counts, oldest, nil
}

// readDigest reads a window again through the export's own statement and reader.
func (e *Exporter) readDigest(ctx context.Context, conn *redshift.Conn, t tables.Table, parent *tables.Table, w state.Window) (*digest, error) {
	sql, args, err := e.windowStatement(t, parent, w)
	if err != nil {
		return nil, err
	}
	var d *digest
	conn.CountQuery()
	_, err = source.Stream(ctx, conn.Conn, sql, args, source.Options{KeepPadding: t.KeepsPadding},
		func(cols []source.Column) error { d = newDigest(t, cols); return nil },
		func(b *source.Batch) error { d.add(b); return nil })
	if err != nil {
		return nil, conn.Wrap("read "+t.Name, err)
	}
	return d, nil
}

func (e *Exporter) windowStatement(t tables.Table, parent *tables.Table, w state.Window) (string, []any, error) {
	sql, err := t.WindowSQL(parent)
	if err != nil {
		return "", nil, err
	}
	args := []any{w.Lo, w.Hi}
	if t.FiltersOwnQueries() {
		args = append(args, e.cfg.QueryGroup)
	}
	return sql, args, nil
}

// heal records a heal of the window of en and carries it out.
func (e *Exporter) heal(ctx context.Context, conn *redshift.Conn, t tables.Table, parent *tables.Table, en state.Entry) (state.Entry, error) {
	p, err := e.store.Get(ctx, conn.Cluster(), t.Name)
	if err != nil {
		return state.Entry{}, err
	}
	p.Heal = &state.Heal{Window: en.Window(), RowsBefore: en.Rows, Started: time.Now().UTC()}
	if err := e.store.Put(ctx, &p); err != nil {
		return state.Entry{}, fmt.Errorf("record heal: %w", err)
	}
	e.hook(StepHealPending, conn.Cluster(), t.Name)
	return e.redoHeal(ctx, conn, t, parent, &p)
}

// redoHeal re-exports the window of p.Heal under the window's own key, replacing the object,
// then commits the new manifest entry conditionally. A restart calls it again for a heal that
// did not commit. When the source now holds fewer rows than the archive did, nothing replaces
// the archived object: the heal is dropped and the returned entry has the source's count.
func (e *Exporter) redoHeal(ctx context.Context, conn *redshift.Conn, t tables.Table, parent *tables.Table, p *state.Progress) (state.Entry, error) {
	cluster := conn.Cluster()
	h := *p.Heal
	if closed, err := e.dayCompacted(ctx, t.Name, cluster, h.Window); err != nil {
		return state.Entry{}, err
	} else if closed {
		p.Heal = nil
		if err := e.store.Put(ctx, p); err != nil {
			return state.Entry{}, fmt.Errorf("drop heal: %w", err)
		}
		return state.Entry{}, errDayCompacted
	}
	sql, args, err := e.windowStatement(t, parent, h.Window)
	if err != nil {
		return state.Entry{}, err
	}
	key := tables.ObjectKey(t.Name, cluster, h.Window.Lo, h.Window.Hi)
	var (
		obj    storage.Object
		writer *parquetfile.Writer
		schema []source.Column
		sum    *digest
	)
	defer func() {
		if obj != nil {
			obj.Abort()
		}
	}()
	conn.CountQuery()
	n, err := source.Stream(ctx, conn.Conn, sql, args, source.Options{KeepPadding: t.KeepsPadding},
		func(cols []source.Column) error { schema = cols; sum = newDigest(t, cols); return nil },
		func(b *source.Batch) error {
			sum.add(b)
			if obj == nil {
				var err error
				if obj, err = e.archive.Create(ctx, key); err != nil {
					return err
				}
				if writer, err = parquetfile.NewWriter(obj, schema); err != nil {
					return err
				}
				if err := writer.Write(b); err != nil {
					return err
				}
				e.hook(StepHealWriting, cluster, t.Name)
				return nil
			}
			return writer.Write(b)
		})
	if err != nil {
		var pgErr interface{ SQLState() string }
		if errors.As(err, &pgErr) || conn.IsClosed() {
			return state.Entry{}, conn.Wrap("read "+t.Name, err)
		}
		return state.Entry{}, err
	}
	now := time.Now().UTC()
	old := state.Entry{Lo: h.Window.Lo, Hi: h.Window.Hi, Rows: h.RowsBefore}
	for _, m := range p.Manifest {
		if m.Lo.Equal(h.Window.Lo) && m.Hi.Equal(h.Window.Hi) {
			old = m
		}
	}
	healed := old
	healed.Rows, healed.KeySum, healed.Checksum = n, sum.keySum, sum.checksum
	if n < h.RowsBefore {
		p.Heal = nil
		if err := e.store.Put(ctx, p); err != nil {
			return state.Entry{}, fmt.Errorf("drop heal: %w", err)
		}
		return healed, nil
	}
	if obj != nil {
		if err := writer.Close(); err != nil {
			return state.Entry{}, err
		}
		if err := obj.Commit(); err != nil {
			return state.Entry{}, err
		}
		obj = nil
		e.hook(StepHealWritten, cluster, t.Name)
	}
	if n > 0 {
		healed.Key = key
	}
	if old.Key == "" && healed.Key != "" {
		p.Objects++
	}
	healed.Healed++
	healed.Verified, healed.Seen, healed.Unverifiable, healed.Differs = now, 0, false, false
	p.AddEntry(healed)
	p.Rows += n - h.RowsBefore
	p.Heal = nil
	p.Verification.RecordHeal(state.HealRecord{At: now, Window: h.Window, RowsBefore: h.RowsBefore, RowsAfter: n})
	if err := e.store.Put(ctx, p); err != nil {
		return state.Entry{}, fmt.Errorf("commit heal: %w", err)
	}
	e.hook(StepHealCommitted, cluster, t.Name)
	e.opts.Log.Info("window healed", "cluster", cluster, "table", t.Name, "lo", h.Window.Lo, "hi", h.Window.Hi,
		"rowsBefore", h.RowsBefore, "rowsAfter", n)
	return healed, nil
}

// updateVerification applies fn to the freshest progress and writes it, again on a conflict.
func (e *Exporter) updateVerification(ctx context.Context, cluster, table string, fn func(*state.Progress)) error {
	var err error
	for range 5 {
		var p state.Progress
		if p, err = e.store.Get(ctx, cluster, table); err != nil {
			return err
		}
		fn(&p)
		if err = e.store.Put(ctx, &p); !errors.Is(err, state.ErrConflict) {
			return err
		}
	}
	return err
}

func (e *Exporter) recordVerifyError(ctx context.Context, cluster, table string, err error) {
	_ = e.updateVerification(context.WithoutCancel(ctx), cluster, table, func(p *state.Progress) {
		// The next try waits for the next interval, as a pass would.
		p.Verification.LastPass, p.Verification.LastError = time.Now().UTC(), err.Error()
	})
}

// dayCompacted reports whether the day of window w of table on cluster is compacted or retired
// in the table's layout record: readers of that day do not read the window's own object. A
// partial entry of an open day that covers the window is dropped from the record first
// (compact.DropPartial), so that readers read the healed window, not parts made from its old
// content; a crash between the drop and the heal leaves readers on the windows. The caller
// holds the cluster's lease, under which compaction runs too: one writer of the record.
func (e *Exporter) dayCompacted(ctx context.Context, table, cluster string, w state.Window) (bool, error) {
	objs, ok := e.archive.(storage.Objects)
	if !ok {
		// An archive that cannot be read cannot be compacted either (compact.FromConfig).
		return false, nil
	}
	l, err := compact.ReadLayout(ctx, objs, table, cluster)
	if err != nil {
		return false, fmt.Errorf("read layout before heal: %w", err)
	}
	day := state.DayOf(state.Entry{Lo: w.Lo})
	d := l.Days[day]
	if d.Partial() {
		a, ok := e.archive.(compact.Archive)
		if !ok {
			return false, fmt.Errorf("heal %s on %s: day %s is compacted in part and the archive cannot take it back", table, cluster, day)
		}
		dropped, err := compact.DropPartial(ctx, a, table, cluster, day, w.Lo, e.compactGrace)
		if err != nil {
			return false, fmt.Errorf("drop the partial compaction of day %s before heal: %w", day, err)
		}
		if dropped {
			e.opts.Log.Info("partial compaction dropped before a heal", "cluster", cluster, "table", table, "day", day)
		}
		return false, nil
	}
	return d.Compacted() || d.Retired, nil
}
