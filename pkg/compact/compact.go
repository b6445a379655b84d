// Package compact rewrites the closed days of the archive and deletes the days past retention,
// without a reader ever seeing a row twice or missing one (docs/compaction.md). It owns the
// layout record of each table and cluster (tables.Layout): it writes a day's compacted parts
// under a new generation folder, switches the record to them in one atomic write, and deletes
// what the record no longer names after a grace period. It decides nothing about when a day is
// closed (DayGate) and holds no lease: callers run it under the cluster's export lease.
package compact

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/catalog"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/storage"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// Archive is what compaction needs of the archive: writing objects, and listing, reading and
// deleting them. storage.Local and *storage.S3 are both.
type Archive interface {
	storage.Archive
	storage.Objects
}

// DayGate tells whether a day of a table on a cluster is closed: every row of it is archived and
// no export will write into it again. Compaction touches closed days only.
type DayGate interface {
	Closed(ctx context.Context, table, cluster string, day time.Time) (bool, error)
}

// Step names a point of compaction, for Options.Hook.
type Step string

// The steps of compacting one day, in order (docs/compaction.md).
const (
	// StepListed: the day's windows are listed and counted; nothing is written.
	StepListed Step = "listed"
	// StepWriting: the first part is being written; readers still choose the windows.
	StepWriting Step = "writing"
	// StepWritten: every part is whole and counted; the record still names the windows.
	StepWritten Step = "written"
	// StepSwitched: the record names the parts; the windows are garbage.
	StepSwitched Step = "switched"
	// StepDeleted: garbage past its grace was deleted and dropped from the record.
	StepDeleted Step = "deleted"
	// StepRetired: a day past retention is retired in the record; its objects are garbage.
	StepRetired Step = "retired"
	// StepGlued: Glue's partitions of the table on the cluster follow the record; the record does
	// not mark its days published yet, so their garbage stays (only with a Publisher).
	StepGlued Step = "glued"
	// StepPublished: Glue's partitions of the table on the cluster follow the record, and the
	// record marks its days published (only with a Publisher).
	StepPublished Step = "published"
)

// Publisher keeps the partitions through which Athena reads a table on a cluster:
// catalog.Partitions. want maps each day readers should see to the folder that holds it,
// relative to the archive root.
type Publisher interface {
	Publish(ctx context.Context, table, cluster string, want map[string]string) (catalog.PublishReport, error)
}

// Defaults of Options.
const (
	DefaultMaxBytes    = 512 << 20
	DefaultMaxSortRows = 1_000_000
	DefaultGrace       = 10 * time.Minute
	// DefaultOpenDayMinWindows is config.DefaultOpenDayMinWindows.
	DefaultOpenDayMinWindows = 12
)

// Options tune a Compactor. Zero values select the defaults.
type Options struct {
	// MaxBytes bounds each compacted part; a day larger than that gets several parts.
	MaxBytes int64
	// MaxSortRows bounds the rows of one window object sorted in memory. A larger object is
	// refused with an error naming it, and its day stays as it is.
	MaxSortRows int
	// RowGroupRows is the rows per row group of the parts (default parquetfile's).
	RowGroupRows int
	// Grace is how long an object the record stopped naming stays for queries that chose it
	// before: longer than any query's time limit.
	Grace time.Duration
	// TempDir holds copies of remote objects while they are read (default os.TempDir()).
	TempDir string
	// OpenDayMinWindows is the fewest new finished windows of an open day compacted at once
	// into a partial entry (CompactOpenDay).
	OpenDayMinWindows int
	// Hook, when set, is called at each step (tests crash the process there).
	Hook func(step Step, table, cluster, day string)
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Publisher, when set, registers Athena's partitions after each switch of the record and at
	// the start of each run; a day's garbage is deleted only once the day is published. Nil for
	// the embedded engine, which follows the record itself: no Glue call at all.
	Publisher Publisher
}

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxSortRows <= 0 {
		o.MaxSortRows = DefaultMaxSortRows
	}
	if o.Grace < 0 {
		o.Grace = 0
	} else if o.Grace == 0 {
		o.Grace = DefaultGrace
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.OpenDayMinWindows <= 0 {
		o.OpenDayMinWindows = DefaultOpenDayMinWindows
	}
	return o
}

// Compactor compacts and retires the days of an archive.
type Compactor struct {
	archive   Archive
	gate      DayGate
	opts      Options
	noCompact bool
}

// DisableCompaction leaves closed days as they are: Cluster then only applies retention and
// deletes garbage.
func (c *Compactor) DisableCompaction() { c.noCompact = true }

// New makes a compactor over an archive; gate decides which days are closed.
func New(archive Archive, gate DayGate, opts Options) *Compactor {
	return &Compactor{archive: archive, gate: gate, opts: opts.withDefaults()}
}

// Grace is the compactor's grace period.
func (c *Compactor) Grace() time.Duration { return c.opts.Grace }

func (c *Compactor) hook(s Step, table, cluster, day string) {
	if c.opts.Hook != nil {
		c.opts.Hook(s, table, cluster, day)
	}
}

// readLayout reads the record of a table on a cluster; a missing record is an empty layout.
func (c *Compactor) readLayout(ctx context.Context, table, cluster string) (tables.Layout, error) {
	return ReadLayout(ctx, c.archive, table, cluster)
}

// ReadLayout reads the layout record of a table on a cluster from an archive; a missing record
// is an empty layout (every day held by its windows). The exporter reads it before a heal.
func ReadLayout(ctx context.Context, archive storage.Objects, table, cluster string) (tables.Layout, error) {
	r, err := archive.Open(ctx, tables.LayoutKey(table, cluster))
	if errors.Is(err, storage.ErrNotFound) {
		return tables.Layout{}, nil
	}
	if err != nil {
		return tables.Layout{}, err
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return tables.Layout{}, fmt.Errorf("read layout of %s on %s: %w", table, cluster, err)
	}
	l, err := tables.ParseLayout(b)
	if err != nil {
		return tables.Layout{}, fmt.Errorf("%s on %s: %w", table, cluster, err)
	}
	return l, nil
}

// writeLayout replaces the record in one atomic write: the switch every reader follows.
func (c *Compactor) writeLayout(ctx context.Context, table, cluster string, l tables.Layout) error {
	return writeLayout(ctx, c.archive, table, cluster, l)
}

func writeLayout(ctx context.Context, archive storage.Archive, table, cluster string, l tables.Layout) error {
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	obj, err := archive.Create(ctx, tables.LayoutKey(table, cluster))
	if err != nil {
		return err
	}
	if _, err := io.Copy(obj, bytes.NewReader(b)); err != nil {
		obj.Abort()
		return err
	}
	if err := obj.Commit(); err != nil {
		return fmt.Errorf("switch layout of %s on %s: %w", table, cluster, err)
	}
	return nil
}

// dayObjects are the objects of one day of a table on a cluster, as listed.
type dayObjects struct {
	windows []storage.Info
	// parts by generation
	parts map[int][]storage.Info
}

// listDays lists the objects of a table on a cluster by day.
func (c *Compactor) listDays(ctx context.Context, table, cluster string) (map[string]*dayObjects, error) {
	return listDays(ctx, c.archive, table, cluster, "")
}

// listPrefix lists, by day, the objects of a table on a cluster whose key continues the
// cluster's folder with prefix.
func (c *Compactor) listPrefix(ctx context.Context, table, cluster, prefix string) (map[string]*dayObjects, error) {
	return listDays(ctx, c.archive, table, cluster, prefix)
}

// listDays lists, by day, the objects of a table on a cluster whose key continues the
// cluster's folder with prefix ("" for all of them).
func listDays(ctx context.Context, archive storage.Objects, table, cluster, prefix string) (map[string]*dayObjects, error) {
	base := fmt.Sprintf("%s/cluster=%s/", table, cluster)
	list, err := archive.List(ctx, base+prefix)
	if err != nil {
		return nil, err
	}
	out := map[string]*dayObjects{}
	for _, o := range list {
		rel := strings.TrimPrefix(o.Key, base)
		day, gen, ok := tables.ObjectOf(rel)
		if !ok {
			continue
		}
		d := out[day]
		if d == nil {
			d = &dayObjects{parts: map[int][]storage.Info{}}
			out[day] = d
		}
		if gen == 0 {
			d.windows = append(d.windows, o)
		} else {
			d.parts[gen] = append(d.parts[gen], o)
		}
	}
	for _, d := range out {
		slices.SortFunc(d.windows, func(a, b storage.Info) int { return strings.Compare(a.Key, b.Key) })
	}
	return out, nil
}

// garbageSet is the keys a layout already lists as garbage.
func garbageSet(l tables.Layout) map[string]bool {
	s := make(map[string]bool, len(l.Garbage))
	for _, g := range l.Garbage {
		s[g.Key] = true
	}
	return s
}

// Collect deletes the garbage of a table on a cluster whose grace has passed, then drops it from
// the record. A crash in between leaves it listed, and the next Collect deletes it again
// (deleting a missing object is no error).
func (c *Compactor) Collect(ctx context.Context, table, cluster string) (int, error) {
	l, err := c.readLayout(ctx, table, cluster)
	if err != nil {
		return 0, err
	}
	now := c.opts.Now()
	var keep []tables.Garbage
	deleted := 0
	for _, g := range l.Garbage {
		if now.Before(g.After) || !c.publishedFor(l, table, cluster, g.Key) {
			keep = append(keep, g)
			continue
		}
		if err := c.archive.Delete(ctx, g.Key); err != nil {
			return deleted, err
		}
		deleted++
	}
	if deleted == 0 {
		return 0, nil
	}
	l.Garbage = keep
	// A retired day that no object holds any more needs no entry: its entry would only lengthen
	// every reader's view. One that still has objects (garbage not yet due) keeps it.
	left, err := c.listDays(ctx, table, cluster)
	if err != nil {
		return deleted, err
	}
	for day, d := range l.Days {
		if d.Retired && left[day] == nil {
			delete(l.Days, day)
		}
	}
	if err := c.writeLayout(ctx, table, cluster, l); err != nil {
		return deleted, err
	}
	c.hook(StepDeleted, table, cluster, "")
	return deleted, nil
}

// publishedFor reports whether garbage key may go as far as Athena is concerned: without a
// Publisher always; with one, once the day it belongs to is published, since until then an
// Athena query may still plan from the partition that names it.
func (c *Compactor) publishedFor(l tables.Layout, table, cluster, key string) bool {
	if c.opts.Publisher == nil {
		return true
	}
	day, _, ok := tables.ObjectOf(strings.TrimPrefix(key, fmt.Sprintf("%s/cluster=%s/", table, cluster)))
	if !ok {
		return true
	}
	d, named := l.Days[day]
	return !named || d.Published
}
