package compact

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/export/state"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// WatermarkGate is the first DayGate: a day is closed once the table's watermark on the cluster
// has passed the day's end by the export lag, with no window of the day pending. When
// verification runs, VerifiedGate takes its place (GateOf).
type WatermarkGate struct {
	Store state.Store
	Lag   time.Duration
}

// Closed implements DayGate.
func (g WatermarkGate) Closed(ctx context.Context, table, cluster string, day time.Time) (bool, error) {
	p, err := g.Store.Get(ctx, cluster, table)
	if err != nil {
		return false, err
	}
	end := tables.DayEnd(day)
	if p.Pending != nil && !p.Pending.Lo.After(end) {
		return false, nil
	}
	return !p.Watermark.IsZero() && !p.Watermark.Before(end.Add(g.Lag)), nil
}

// TableResult is one run of compaction and retention on a table of a cluster.
type TableResult struct {
	Table     string
	Compacted []DayResult
	Retired   RetireResult
	Deleted   int
	Err       error
}

// Result is one run on a cluster.
type Result struct {
	Cluster string
	Tables  []TableResult
}

// Failed joins the errors of the run's tables.
func (r Result) Failed() error {
	var errs []error
	for _, t := range r.Tables {
		if t.Err != nil {
			errs = append(errs, t.Err)
		}
	}
	return errors.Join(errs...)
}

// Cluster runs, on each table of a cluster, the publishing of Athena's partitions (with a
// Publisher), retention, compaction of every closed day, then of the finished windows of the
// open days (CompactOpenDay), then the deletion of garbage past its grace. retention maps a table to how long its days are kept
// (missing: forever). A table's failure does not stop the others. The caller holds the cluster's
// lease.
func (c *Compactor) Cluster(ctx context.Context, cluster string, ts []tables.Table, retention map[string]time.Duration) Result {
	res := Result{Cluster: cluster}
	for _, t := range ts {
		tr := TableResult{Table: t.Name}
		// First finish a publish a crash left undone and create the coming days' partitions;
		// a table Athena cannot follow gets no new switch.
		err := c.Publish(ctx, t.Name, cluster)
		if err != nil {
			tr.Err = err
		} else if tr.Retired, err = c.Retire(ctx, t.Name, cluster, retention[t.Name]); err != nil {
			tr.Err = err
		}
		if err == nil && !c.noCompact {
			tr.Compacted, err = c.compactClosed(ctx, t, cluster)
			tr.Err = err
		}
		if err == nil {
			tr.Deleted, err = c.Collect(ctx, t.Name, cluster)
			if err != nil {
				tr.Err = fmt.Errorf("delete garbage of %s on %s: %w", t.Name, cluster, err)
			}
		}
		res.Tables = append(res.Tables, tr)
		if ctx.Err() != nil {
			break
		}
	}
	return res
}

// compactClosed compacts every day of t on cluster that has several window objects and is closed,
// oldest first.
func (c *Compactor) compactClosed(ctx context.Context, t tables.Table, cluster string) ([]DayResult, error) {
	layout, err := c.readLayout(ctx, t.Name, cluster)
	if err != nil {
		return nil, err
	}
	days, err := c.listDays(ctx, t.Name, cluster)
	if err != nil {
		return nil, err
	}
	var names []string
	for name, d := range days {
		if e, named := layout.Days[name]; (!named || e.Partial()) && len(d.windows) > 1 {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var out []DayResult
	var open []time.Time
	for _, name := range names {
		day, _ := time.Parse(tables.DayFormat, name)
		r, err := c.compactDay(ctx, t, cluster, day)
		if err != nil {
			return out, errors.Join(err, c.publishSwitched(ctx, t.Name, cluster, out))
		}
		if r.Skipped == "not closed" {
			// A later day may be: a day the verified gate keeps open for a difference left in
			// it holds back no other.
			open = append(open, day)
			continue
		}
		if r.Skipped == "" {
			out = append(out, r)
		}
	}
	if err := c.publishSwitched(ctx, t.Name, cluster, out); err != nil {
		return out, err
	}
	// Then the finished windows of the open days, for the embedded engine; Athena reads those
	// days from their window folders, so nothing is published.
	for _, day := range open {
		r, err := c.CompactOpenDay(ctx, t, cluster, day)
		if err != nil {
			return out, err
		}
		if r.Skipped == "" {
			out = append(out, r)
		}
	}
	return out, nil
}

// publishSwitched publishes table on cluster once after the days of a run were switched. Until
// then Athena reads those days' windows, which stay until the publish (Collect); a crash before it
// is finished by the next run's first Publish.
func (c *Compactor) publishSwitched(ctx context.Context, table, cluster string, switched []DayResult) error {
	if len(switched) == 0 {
		return nil
	}
	if err := c.Publish(ctx, table, cluster); err != nil {
		return fmt.Errorf("compact %s on %s: %d day(s) switched, not yet published: %w", table, cluster, len(switched), err)
	}
	return nil
}

// DayStatus is what holds one day of a table on a cluster.
type DayStatus struct {
	Day string `json:"day"`
	// State is "windows" (the exporter's objects), "partial" (an open day whose finished
	// windows are compacted up to Through), "compacted" or "retired".
	State string `json:"state"`
	// Through is the end of the windows a partial day's parts hold.
	Through time.Time `json:"through,omitzero"`
	// Objects is the number of objects readers read for the day (for a partial day its parts
	// and its windows from Through on); Before, for a compacted or partial day, the number of
	// window objects the parts replace.
	Objects int   `json:"objects"`
	Before  int   `json:"before,omitempty"`
	Rows    int64 `json:"rows,omitempty"`
	// Unseen counts window objects found in a compacted or retired day that the record did not
	// replace: an exporter wrote into a closed day. Readers do not see them; an operator must.
	Unseen int `json:"unseen,omitempty"`
}

// TableStatus is the layout of one table on one cluster.
type TableStatus struct {
	Cluster string      `json:"cluster"`
	Table   string      `json:"table"`
	Days    []DayStatus `json:"days"`
	// Garbage is the number of objects waiting for their grace to pass before deletion.
	Garbage int `json:"garbage"`
}

// Unseen is the number of window objects readers do not see.
func (s TableStatus) Unseen() int {
	n := 0
	for _, d := range s.Days {
		n += d.Unseen
	}
	return n
}

// Status describes the days of a table on a cluster: which objects hold each, and how many.
func (c *Compactor) Status(ctx context.Context, table, cluster string) (TableStatus, error) {
	st := TableStatus{Cluster: cluster, Table: table, Days: []DayStatus{}}
	layout, err := c.readLayout(ctx, table, cluster)
	if err != nil {
		return st, err
	}
	days, err := c.listDays(ctx, table, cluster)
	if err != nil {
		return st, err
	}
	garbage := garbageSet(layout)
	st.Garbage = len(layout.Garbage)
	names := map[string]bool{}
	for n := range days {
		names[n] = true
	}
	for n := range layout.Days {
		names[n] = true
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range names {
			if !yield(n) {
				return
			}
		}
	}) {
		d, objs := layout.Days[name], days[name]
		ds := DayStatus{Day: name, State: "windows"}
		unseen := 0
		if objs != nil {
			for _, w := range objs.windows {
				if !garbage[w.Key] {
					unseen++
				}
			}
		}
		switch {
		case d.Retired:
			ds.State, ds.Unseen = "retired", unseen
		case d.Partial():
			// Windows up to Through are held by the parts, from Through on read; one that
			// straddles Through would be neither.
			read, lost := 0, 0
			if objs != nil {
				for _, w := range objs.windows {
					_, hi, _ := tables.WindowOf(path.Base(w.Key))
					switch {
					case garbage[w.Key]:
					case d.ReadsWindow(path.Base(w.Key)):
						read++
					case hi.After(d.Through):
						lost++
					}
				}
			}
			ds.State, ds.Through, ds.Objects, ds.Before, ds.Rows, ds.Unseen = "partial", d.Through, d.Parts+read, d.Windows, d.Rows, lost
		case d.Generation > 0:
			ds.State, ds.Objects, ds.Before, ds.Rows, ds.Unseen = "compacted", d.Parts, d.Windows, d.Rows, unseen
		default:
			ds.Objects = unseen
		}
		st.Days = append(st.Days, ds)
	}
	return st, nil
}

// String is a one-line account of a run, for logs and the CLI.
func (r Result) String() string {
	var parts []string
	for _, t := range r.Tables {
		s := t.Table + ":"
		closed, partial, objs := 0, 0, 0
		for _, d := range t.Compacted {
			objs += d.Windows
			if d.Through.IsZero() {
				closed++
			} else {
				partial++
			}
		}
		if closed > 0 {
			s += fmt.Sprintf(" compacted %d day(s)", closed)
		}
		if partial > 0 {
			s += fmt.Sprintf(" compacted %d open day(s) in part", partial)
		}
		if len(t.Compacted) > 0 {
			s += fmt.Sprintf(" of %d objects", objs)
		}
		if len(t.Retired.Days) > 0 {
			s += fmt.Sprintf(" retired %d day(s)", len(t.Retired.Days))
		}
		if t.Deleted > 0 {
			s += fmt.Sprintf(" deleted %d object(s)", t.Deleted)
		}
		if t.Err != nil {
			s += " failed: " + t.Err.Error()
		}
		if s != t.Table+":" {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return "cluster " + r.Cluster + ": nothing to do"
	}
	return "cluster " + r.Cluster + ": " + strings.Join(parts, "; ")
}
