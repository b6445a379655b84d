package compact

import (
	"context"
	"fmt"
	"path"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/export/storage"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// A day that is not closed (today, or a day still inside the export lag or the verify horizon)
// is read from its windows, hundreds of small objects per table and cluster that a dashboard of
// the last 24 hours reads at every refresh. Its windows up to the table's watermark are final
// (a heal excepted, which drops the entry first: DropPartial), so they are compacted into a
// partial entry of the record (tables.DayLayout.Through): readers take the entry's parts for
// the windows up to Through and the windows themselves from Through on.

// Watermarks gives the committed watermark of a table on a cluster: the exporter rewrites no
// window object that ends at or before it (a heal aside). WatermarkGate and VerifiedGate are
// Watermarks; with another DayGate open days are not compacted.
type Watermarks interface {
	FinalThrough(ctx context.Context, table, cluster string) (time.Time, error)
}

// FinalThrough implements Watermarks: the watermark, or the start of a pending window below it.
func (g WatermarkGate) FinalThrough(ctx context.Context, table, cluster string) (time.Time, error) {
	p, err := g.Store.Get(ctx, cluster, table)
	if err != nil {
		return time.Time{}, err
	}
	w := p.Watermark
	if p.Pending != nil && p.Pending.Lo.Before(w) {
		w = p.Pending.Lo
	}
	return w, nil
}

// FinalThrough implements Watermarks.
func (g VerifiedGate) FinalThrough(ctx context.Context, table, cluster string) (time.Time, error) {
	return g.Watermark.FinalThrough(ctx, table, cluster)
}

// CompactOpenDay compacts the finished windows of day of t on cluster, a day that is not
// closed, into a partial entry (docs/compaction.md): Through becomes the hi of the day's latest
// window that ends at or before the watermark, once at least OpenDayMinWindows windows lie
// between the entry's current Through (or the day's start) and it. The windows stay; the
// previous partial generation's parts become garbage. Athena is not published to: it reads a
// partial day from its window folder.
func (c *Compactor) CompactOpenDay(ctx context.Context, t tables.Table, cluster string, day time.Time) (DayResult, error) {
	dayName := day.UTC().Format(tables.DayFormat)
	res := DayResult{Table: t.Name, Cluster: cluster, Day: dayName}
	fail := func(err error) (DayResult, error) {
		return res, fmt.Errorf("compact open day %s of %s on %s: %w", dayName, t.Name, cluster, err)
	}
	wms, ok := c.gate.(Watermarks)
	if !ok {
		res.Skipped = "no watermark"
		return res, nil
	}
	closed, err := c.gate.Closed(ctx, t.Name, cluster, day)
	if err != nil {
		return fail(err)
	}
	if closed {
		res.Skipped = "closed"
		return res, nil
	}
	wm, err := wms.FinalThrough(ctx, t.Name, cluster)
	if err != nil {
		return fail(err)
	}
	layout, err := c.readLayout(ctx, t.Name, cluster)
	if err != nil {
		return fail(err)
	}
	cur := layout.Days[dayName]
	if cur.Retired || cur.Compacted() {
		res.Skipped = "compacted or retired"
		return res, nil
	}
	days, err := c.listPrefix(ctx, t.Name, cluster, "day="+dayName+"/")
	if err != nil {
		return fail(err)
	}
	objs := days[dayName]
	if objs == nil {
		res.Skipped = "no objects"
		return res, nil
	}
	// Through: the latest hi at or before the watermark; an object past it may still be
	// rewritten by the exporter.
	var through time.Time
	spans := make([][2]time.Time, len(objs.windows))
	for i, w := range objs.windows {
		lo, hi, ok := tables.WindowOf(path.Base(w.Key))
		if !ok {
			return fail(fmt.Errorf("%s: not a window object name", w.Key))
		}
		spans[i] = [2]time.Time{lo, hi}
		if !hi.After(wm) && hi.After(through) {
			through = hi
		}
	}
	if !through.After(cur.Through) {
		res.Skipped = "no new finished window"
		return res, nil
	}
	var covered []storage.Info
	fresh := 0
	for i, w := range objs.windows {
		lo, hi := spans[i][0], spans[i][1]
		switch {
		case !hi.After(through):
			covered = append(covered, w)
			if !lo.Before(cur.Through) {
				fresh++
			}
		case lo.Before(through):
			// Readers would read neither its rows before Through (not in the parts) nor after.
			return fail(fmt.Errorf("window %s straddles %s: the day's windows overlap", w.Key, through.Format(time.RFC3339Nano)))
		}
	}
	if fresh < c.opts.OpenDayMinWindows {
		res.Skipped = fmt.Sprintf("%d new finished window(s), fewer than %d", fresh, c.opts.OpenDayMinWindows)
		return res, nil
	}
	// The previous partial parts go; the windows never do while the day is open.
	if err := c.compactAndSwitch(ctx, t, cluster, layout, cur, covered, through, cur.Keys(t.Name, cluster, dayName), &res); err != nil {
		return fail(err)
	}
	return res, nil
}

// DropPartial takes the partial entry of day off the record of table on cluster, if it has one
// that covers a window starting before at: a heal is about to rewrite such a window, and readers
// must then read it, not the parts made from its old content. The entry's parts become garbage
// after grace. It writes the record before the heal writes the window, so a crash in between
// leaves readers on the windows, never on stale parts. The caller holds the cluster's lease.
// It reports whether the entry was dropped.
func DropPartial(ctx context.Context, archive Archive, table, cluster, day string, lo time.Time, grace time.Duration) (bool, error) {
	l, err := ReadLayout(ctx, archive, table, cluster)
	if err != nil {
		return false, err
	}
	d := l.Days[day]
	if !d.Partial() || !lo.Before(d.Through) {
		return false, nil
	}
	after := time.Now().UTC().Add(grace)
	known := garbageSet(l)
	for _, k := range d.Keys(table, cluster, day) {
		if !known[k] {
			l.Garbage = append(l.Garbage, tables.Garbage{Key: k, After: after})
		}
	}
	delete(l.Days, day)
	if err := writeLayout(ctx, archive, table, cluster, l); err != nil {
		return false, err
	}
	return true, nil
}
