package export

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/export/parquetfile"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/source"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/state"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/storage"
	"github.com/stlarchive/redshift-stl-archive/pkg/redshift"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// exportTable exports windows of one table until its watermark reaches now − lag. Each window
// ends at midnight at the latest, so it is one object in one day partition.
func (e *Exporter) exportTable(ctx context.Context, conn *redshift.Conn, t tables.Table, target time.Time) TableResult {
	res := TableResult{Table: t.Name}
	stopping := ctx
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	var parent *tables.Table
	if t.Parent != "" {
		p, _ := tables.Lookup(t.Parent)
		parent = &p
	}
	cluster := conn.Cluster()
	for {
		p, err := e.store.Get(ctx, cluster, t.Name)
		if err != nil {
			res.Err = fmt.Errorf("export %s on %s: %w", t.Name, cluster, err)
			return res
		}
		w, redo, ok, err := e.nextWindow(ctx, conn, &p, t, parent, target)
		if err == nil && ok {
			var n int64
			n, err = e.exportWindow(ctx, conn, &p, t, parent, w, redo)
			res.Rows += n
			res.Windows++
		}
		if err != nil {
			if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) && !errors.Is(cause, context.DeadlineExceeded) {
				err = cause
			}
			res.Err = fmt.Errorf("export %s on %s: %w", t.Name, cluster, err)
			if errors.Is(context.Cause(stopping), context.Canceled) {
				// The exporter is stopping (Grafana disposed the instance, Ctrl-C): not a
				// failure of the table. A pending window stays and is redone next time.
				return res
			}
			e.recordError(ctx, cluster, t.Name, res.Err)
			return res
		}
		if !ok {
			return res
		}
	}
}

// nextWindow chooses the window to export: the pending one if a previous attempt did not
// finish (redo), else (watermark, min(target, end of the watermark's day)], where target is
// now − lag on the source. ok is false when the table is caught up.
func (e *Exporter) nextWindow(ctx context.Context, conn *redshift.Conn, p *state.Progress, t tables.Table, parent *tables.Table, target time.Time) (w state.Window, redo, ok bool, err error) {
	if p.Pending != nil {
		return *p.Pending, true, true, nil
	}
	lo := p.Watermark
	switch {
	case lo.IsZero():
		// First run: backfill everything the source still holds.
		oldest, err := e.oldest(ctx, conn, t, parent)
		if err != nil {
			return w, false, false, err
		}
		if oldest.IsZero() || !oldest.Before(target) {
			// Nothing old enough to export yet; start from here.
			return state.Window{Lo: target, Hi: target}, false, target.After(lo), nil
		}
		lo = oldest.Add(-time.Microsecond)
	case target.Sub(lo) > e.gapCheckAfter():
		// The exporter fell behind. If the source no longer holds rows as old as the
		// watermark, STL retention deleted history that was never exported.
		oldest, err := e.oldest(ctx, conn, t, parent)
		if err != nil {
			return w, false, false, err
		}
		if !oldest.IsZero() && oldest.After(lo.Add(time.Microsecond)) && !p.HasGapAt(lo) {
			p.Gaps = append(p.Gaps, state.Gap{From: lo, To: oldest, Detected: time.Now().UTC()})
			e.opts.Log.Warn("history lost before export: the source no longer holds it",
				"cluster", conn.Cluster(), "table", t.Name, "from", lo, "to", oldest)
		}
	}
	hi := tables.DayEnd(lo.Add(time.Microsecond))
	if target.Before(hi) {
		hi = target
	}
	if m := e.opts.MaxWindow; m > 0 && lo.Add(m).Before(hi) {
		// Windows end on multiples of m, as a live exporter's would roughly.
		hi = lo.Add(time.Microsecond).Truncate(m).Add(m)
	}
	if !hi.After(lo) {
		return w, false, false, nil
	}
	return state.Window{Lo: lo, Hi: hi}, false, true, nil
}

func (e *Exporter) oldest(ctx context.Context, conn *redshift.Conn, t tables.Table, parent *tables.Table) (time.Time, error) {
	sql, err := t.OldestSQL(parent)
	if err != nil {
		return time.Time{}, err
	}
	var oldest *time.Time
	conn.CountQuery()
	if err := conn.QueryRow(ctx, sql).Scan(&oldest); err != nil {
		return time.Time{}, conn.Wrap("read oldest "+t.Name, err)
	}
	if oldest == nil {
		return time.Time{}, nil
	}
	return oldest.UTC(), nil
}

// exportWindow reads one window and writes it, following the protocol: the pending window is
// recorded before the first byte is written, the object is written under a key derived from
// the window alone, and the watermark moves only after the object is in place.
func (e *Exporter) exportWindow(ctx context.Context, conn *redshift.Conn, p *state.Progress, t tables.Table, parent *tables.Table, w state.Window, redo bool) (int64, error) {
	cluster := conn.Cluster()
	if w.Lo.Equal(w.Hi) {
		// An empty first window: only the starting point is recorded.
		return 0, e.commit(ctx, p, t, w, 0, false)
	}
	sql, err := t.WindowSQL(parent)
	if err != nil {
		return 0, err
	}
	args := []any{w.Lo, w.Hi}
	if t.FiltersOwnQueries() {
		args = append(args, e.cfg.QueryGroup)
	}
	key := tables.ObjectKey(t.Name, cluster, w.Lo, w.Hi)
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
	opts := source.Options{KeepPadding: t.KeepsPadding}
	conn.CountQuery()
	n, err := source.Stream(ctx, conn.Conn, sql, args, opts,
		func(cols []source.Column) error { schema = cols; sum = newDigest(t, cols); return nil },
		func(b *source.Batch) error {
			sum.add(b)
			if obj == nil {
				if !redo {
					p.Pending = &w
					if err := e.store.Put(ctx, p); err != nil {
						return fmt.Errorf("record pending window: %w", err)
					}
					e.hook(StepPending, cluster, t.Name)
				}
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
				e.hook(StepWriting, cluster, t.Name)
				return nil
			}
			return writer.Write(b)
		})
	if err != nil {
		var pgErr interface{ SQLState() string }
		if errors.As(err, &pgErr) || conn.IsClosed() {
			return 0, conn.Wrap("read "+t.Name, err)
		}
		return 0, err
	}
	if obj != nil {
		if err := writer.Close(); err != nil {
			return 0, err
		}
		if err := obj.Commit(); err != nil {
			return 0, err
		}
		obj = nil
		e.hook(StepWritten, cluster, t.Name)
	}
	if err := e.addEntry(ctx, p, t, w, sum); err != nil {
		return 0, err
	}
	return n, e.commit(ctx, p, t, w, n, n > 0)
}

// commit moves the watermark to the window's end, conditionally on the version read: a window
// with no rows advances it too.
func (e *Exporter) commit(ctx context.Context, p *state.Progress, t tables.Table, w state.Window, rows int64, wrote bool) error {
	now := time.Now().UTC()
	p.Watermark = w.Hi
	p.Pending = nil
	p.Rows += rows
	p.LastRows = rows
	if wrote {
		p.Objects++
	}
	p.LastAttempt, p.LastSuccess, p.LastError = now, now, ""
	if err := e.store.Put(ctx, p); err != nil {
		return fmt.Errorf("commit watermark: %w", err)
	}
	e.hook(StepCommitted, p.Cluster, t.Name)
	return nil
}

// recordError keeps the last error in the table's state for status and health. The pending
// window, if any, stays: the next attempt redoes it.
func (e *Exporter) recordError(ctx context.Context, cluster, table string, err error) {
	ctx = context.WithoutCancel(ctx)
	for range 3 {
		p, gerr := e.store.Get(ctx, cluster, table)
		if gerr != nil {
			break
		}
		p.LastAttempt = time.Now().UTC()
		p.LastError = err.Error()
		if perr := e.store.Put(ctx, &p); !errors.Is(perr, state.ErrConflict) {
			break
		}
	}
	e.opts.Log.Error("export failed", "cluster", cluster, "table", table, "error", err)
}

func (e *Exporter) hook(s Step, cluster, table string) {
	if e.opts.Hook != nil {
		e.opts.Hook(s, cluster, table)
	}
}
