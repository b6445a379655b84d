package compact

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// RetireResult is the outcome of retention on one table and cluster.
type RetireResult struct {
	Table, Cluster string
	// Days are the days retired by this run; Objects the objects they held, now garbage.
	Days    []string
	Objects int
}

// PastRetention reports whether every instant of day is older than now − keep: only such a day
// may be retired.
func PastRetention(day time.Time, keep time.Duration, now time.Time) bool {
	d := day.UTC()
	end := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
	return !end.After(now.Add(-keep))
}

// Retire retires every day of table on cluster that is past retention keep (zero or negative:
// keep forever): one switch of the layout record takes all of them from readers and lists their
// objects as garbage, deleted by a later Collect once the grace has passed.
func (c *Compactor) Retire(ctx context.Context, table, cluster string, keep time.Duration) (RetireResult, error) {
	res := RetireResult{Table: table, Cluster: cluster}
	if keep <= 0 {
		return res, nil
	}
	fail := func(err error) (RetireResult, error) {
		return res, fmt.Errorf("retain %s on %s: %w", table, cluster, err)
	}
	layout, err := c.readLayout(ctx, table, cluster)
	if err != nil {
		return fail(err)
	}
	days, err := c.listDays(ctx, table, cluster)
	if err != nil {
		return fail(err)
	}
	now := c.opts.Now().UTC()
	after := now.Add(c.opts.Grace)
	known := garbageSet(layout)
	for name, objs := range days {
		day, err := time.Parse(tables.DayFormat, name)
		if err != nil || !PastRetention(day, keep, now) {
			continue
		}
		d := layout.Days[name]
		if !d.Retired {
			res.Days = append(res.Days, name)
		}
		var keys []string
		for _, w := range objs.windows {
			keys = append(keys, w.Key)
		}
		for _, parts := range objs.parts {
			for _, p := range parts {
				keys = append(keys, p.Key)
			}
		}
		for _, k := range keys {
			if !known[k] {
				layout.Garbage = append(layout.Garbage, tables.Garbage{Key: k, After: after})
				known[k] = true
				res.Objects++
			}
		}
		if layout.Days == nil {
			layout.Days = map[string]tables.DayLayout{}
		}
		layout.Days[name] = tables.DayLayout{Retired: true, At: now}
	}
	if len(res.Days) == 0 && res.Objects == 0 {
		return res, nil
	}
	slices.Sort(res.Days)
	if err := c.writeLayout(ctx, table, cluster, layout); err != nil {
		return fail(err)
	}
	c.hook(StepRetired, table, cluster, "")
	if err := c.Publish(ctx, table, cluster); err != nil {
		return res, fmt.Errorf("retain %s on %s: retired, not yet published: %w", table, cluster, err)
	}
	return res, nil
}
