package compact

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/export/storage"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// Publish makes Athena's partitions of table on cluster follow the layout record, then marks the
// record's days published, counting the grace of their garbage from now: an Athena query plans
// from one read of the partitions, so one planned just before the publish may still read the
// objects the partition named until then. Without a Publisher it does nothing.
//
// The wanted partitions are every day whose window folder holds an object, plus today and
// tomorrow (UTC), created ahead so that a new day's first object is never outside every
// partition; a compacted day's partition names its generation folder, and a retired day has
// none. Publish is idempotent; it finishes one that a crash interrupted between the switch of
// the record and Glue, or between Glue and the mark.
func (c *Compactor) Publish(ctx context.Context, table, cluster string) error {
	if c.opts.Publisher == nil {
		return nil
	}
	fail := func(err error) error { return fmt.Errorf("publish %s on %s: %w", table, cluster, err) }
	layout, err := c.readLayout(ctx, table, cluster)
	if err != nil {
		return fail(err)
	}
	days, err := c.listDays(ctx, table, cluster)
	if err != nil {
		return fail(err)
	}
	now := c.opts.Now().UTC()
	if _, err := c.opts.Publisher.Publish(ctx, table, cluster, wantedPartitions(table, cluster, layout, days, now)); err != nil {
		return fail(err)
	}
	for _, d := range layout.Days {
		if !d.Published {
			c.hook(StepGlued, table, cluster, "")
			break
		}
	}

	// Mark what was published. The record is re-read: only this compactor writes it (under the
	// cluster's lease), but a day whose entry changed since the read above was not published as
	// it is now, and waits for the next Publish.
	cur, err := c.readLayout(ctx, table, cluster)
	if err != nil {
		return fail(err)
	}
	marked := map[string]bool{}
	for day, d := range cur.Days {
		was, ok := layout.Days[day]
		// A partial day is read from its window folder, which Glue names already; its
		// superseded parts wait for the day's publish once it is compacted whole.
		if d.Published || !ok || d.Partial() || was.Generation != d.Generation || was.Retired != d.Retired {
			continue
		}
		d.Published = true
		cur.Days[day] = d
		marked[day] = true
	}
	if len(marked) == 0 {
		return nil
	}
	after := c.opts.Now().UTC().Add(c.opts.Grace)
	prefix := fmt.Sprintf("%s/cluster=%s/", table, cluster)
	for i, g := range cur.Garbage {
		day, _, ok := tables.ObjectOf(strings.TrimPrefix(g.Key, prefix))
		if ok && marked[day] && g.After.Before(after) {
			cur.Garbage[i].After = after
		}
	}
	if err := c.writeLayout(ctx, table, cluster, cur); err != nil {
		return fail(err)
	}
	c.hook(StepPublished, table, cluster, "")
	return nil
}

// WantedPartitions reads the layout record and the day folders of table on cluster and returns
// the partitions Athena should see (as Publish computes them), for a caller that registers them
// without the cluster's lease (catalog.Partitions.Add, before projection is taken off a table).
func WantedPartitions(ctx context.Context, archive storage.Objects, table, cluster string, now time.Time) (map[string]string, error) {
	layout, err := ReadLayout(ctx, archive, table, cluster)
	if err != nil {
		return nil, err
	}
	days, err := listDays(ctx, archive, table, cluster, "")
	if err != nil {
		return nil, err
	}
	return wantedPartitions(table, cluster, layout, days, now.UTC()), nil
}

// wantedPartitions maps each day Athena should see of table on cluster to the folder that holds
// it, relative to the archive root.
func wantedPartitions(table, cluster string, l tables.Layout, days map[string]*dayObjects, now time.Time) map[string]string {
	windows := func(day string) string { return fmt.Sprintf("%s/cluster=%s/day=%s/", table, cluster, day) }
	want := map[string]string{}
	for day, d := range days {
		if len(d.windows) > 0 {
			want[day] = windows(day)
		}
	}
	for _, t := range []time.Time{now, now.AddDate(0, 0, 1)} {
		day := t.Format(tables.DayFormat)
		want[day] = windows(day)
	}
	for day, d := range l.Days {
		if d.Retired {
			delete(want, day)
		} else if d.Partial() {
			// Athena reads an open day from its windows, all of which stay.
			want[day] = windows(day)
		} else {
			want[day] = tables.GenerationDir(table, cluster, day, d.Generation) + "/"
		}
	}
	return want
}
