package compact

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/stlarchive/redshift-stl-archive/pkg/export/parquetfile"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/storage"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// DayResult is the outcome of compacting one day of a table on a cluster.
type DayResult struct {
	Table, Cluster, Day string
	// Windows is the number of window objects replaced, Parts the number written.
	Windows, Parts int
	Rows           int64
	Bytes          int64
	Generation     int
	// Through is set for a partial entry of an open day (CompactOpenDay).
	Through time.Time
	// Skipped says why nothing was done (already compacted, one object, not closed).
	Skipped string
}

// footerMargin is what a part's footer may add after its last row group.
const footerMargin = 64 << 10

// CompactDay merges the window objects of one closed day of t on cluster into one part, or a few
// of at most MaxBytes, sorted by t's time column (or, for a table without one, its key), switches
// the layout record to them and publishes the table's partitions (with a Publisher). The windows
// are deleted by a later Collect, once the grace has passed.
func (c *Compactor) CompactDay(ctx context.Context, t tables.Table, cluster string, day time.Time) (DayResult, error) {
	res, err := c.compactDay(ctx, t, cluster, day)
	if err != nil || res.Skipped != "" {
		return res, err
	}
	// Athena follows the switch once Glue does; a crash before is finished by the next run,
	// and until then the windows stay (Collect).
	if err := c.Publish(ctx, t.Name, cluster); err != nil {
		return res, fmt.Errorf("compact %s on %s, day %s: switched, not yet published: %w", t.Name, cluster, res.Day, err)
	}
	return res, nil
}

// compactDay is CompactDay without the publish: a run over many days publishes once per table,
// since a publish lists the table's objects on the cluster and reads all its partitions.
func (c *Compactor) compactDay(ctx context.Context, t tables.Table, cluster string, day time.Time) (DayResult, error) {
	dayName := day.UTC().Format(tables.DayFormat)
	res := DayResult{Table: t.Name, Cluster: cluster, Day: dayName}
	fail := func(err error) (DayResult, error) {
		return res, fmt.Errorf("compact %s on %s, day %s: %w", t.Name, cluster, dayName, err)
	}
	closed, err := c.gate.Closed(ctx, t.Name, cluster, day)
	if err != nil {
		return fail(err)
	}
	if !closed {
		res.Skipped = "not closed"
		return res, nil
	}
	layout, err := c.readLayout(ctx, t.Name, cluster)
	if err != nil {
		return fail(err)
	}
	cur := layout.Days[dayName]
	if cur.Retired {
		res.Skipped = "retired"
		return res, nil
	}
	// The day's folder alone: listing the whole table for each day made compacting a month
	// quadratic in its objects.
	days, err := c.listPrefix(ctx, t.Name, cluster, "day="+dayName+"/")
	if err != nil {
		return fail(err)
	}
	objs := days[dayName]
	if objs == nil {
		res.Skipped = "no objects"
		return res, nil
	}
	if cur.Compacted() {
		// The windows of a compacted day are garbage until collected; any other is one an
		// exporter wrote after the switch, which readers do not see. Status counts them.
		res.Skipped = "already compacted"
		return res, nil
	}
	// A partial entry's parts are not read: the closed day is compacted from all its windows,
	// and the partial parts become garbage with them.
	windows := objs.windows
	if len(windows) < 2 {
		res.Skipped = "one object or none"
		return res, nil
	}
	replaced := cur.Keys(t.Name, cluster, dayName)
	for _, w := range windows {
		replaced = append(replaced, w.Key)
	}
	if err := c.compactAndSwitch(ctx, t, cluster, layout, cur, windows, time.Time{}, replaced, &res); err != nil {
		return fail(err)
	}
	return res, nil
}

// compactAndSwitch writes windows of day res.Day as a new generation, then switches the layout
// record from cur (read as layout) to it, with through for a partial entry, and lists replaced as
// garbage after the grace. The record is re-read for the switch: only this compactor writes it
// (under the cluster's lease, as do heals and retention), but a change in between must not be
// undone. It fills res with what was written.
func (c *Compactor) compactAndSwitch(ctx context.Context, t tables.Table, cluster string, layout tables.Layout, cur tables.DayLayout,
	windows []storage.Info, through time.Time, replaced []string, res *DayResult) error {
	dayName := res.Day
	c.hook(StepListed, t.Name, cluster, dayName)
	gen := nextGeneration(layout, t.Name, cluster, dayName)
	out, err := c.writeGeneration(ctx, t, cluster, dayName, gen, windows)
	if err != nil {
		return err
	}
	layout, err = c.readLayout(ctx, t.Name, cluster)
	if err != nil {
		return err
	}
	if d := layout.Days[dayName]; d.Generation != cur.Generation || d.Retired || !d.Through.Equal(cur.Through) {
		return errors.New("the layout record changed while the day was compacted")
	}
	if layout.Days == nil {
		layout.Days = map[string]tables.DayLayout{}
	}
	now := c.opts.Now().UTC()
	layout.Days[dayName] = tables.DayLayout{Generation: gen, Parts: len(out.sizes), Rows: out.rows, Windows: len(windows),
		Schema: out.schema, At: now, Through: through}
	known := garbageSet(layout)
	for _, k := range replaced {
		if !known[k] {
			layout.Garbage = append(layout.Garbage, tables.Garbage{Key: k, After: now.Add(c.opts.Grace)})
			known[k] = true
		}
	}
	if err := c.writeLayout(ctx, t.Name, cluster, layout); err != nil {
		return err
	}
	c.hook(StepSwitched, t.Name, cluster, dayName)
	res.Windows, res.Parts, res.Rows, res.Generation, res.Through = len(windows), len(out.sizes), out.rows, gen, through
	for _, s := range out.sizes {
		res.Bytes += s
	}
	return nil
}

// nextGeneration is the generation a new compaction of day writes: above the record's entry and
// above every generation of the day still listed as garbage, whose parts a query may be reading
// (a partial entry dropped before a heal leaves its generation there, and no entry).
func nextGeneration(l tables.Layout, table, cluster, day string) int {
	gen := l.Days[day].Generation
	prefix := fmt.Sprintf("%s/cluster=%s/", table, cluster)
	for _, g := range l.Garbage {
		if d, n, ok := tables.ObjectOf(strings.TrimPrefix(g.Key, prefix)); ok && d == day && n > gen {
			gen = n
		}
	}
	return gen + 1
}

// writeGeneration writes the windows, in order, as the parts of generation gen of day, and
// checks that the parts are whole in the archive and hold every row of the windows before
// anything points at them. Parts of an attempt that crashed before its switch are deleted
// first: no reader chooses them; they are replaced, not mixed in.
func (c *Compactor) writeGeneration(ctx context.Context, t tables.Table, cluster, dayName string, gen int, windows []storage.Info) (*partSet, error) {
	genDir := tables.GenerationDir(t.Name, cluster, dayName, gen) + "/"
	stale, err := c.archive.List(ctx, genDir)
	if err != nil {
		return nil, err
	}
	for _, o := range stale {
		if err := c.archive.Delete(ctx, o.Key); err != nil {
			return nil, err
		}
	}
	out := &partSet{c: c, table: t.Name, cluster: cluster, day: dayName, gen: gen}
	defer out.abort()
	var schema *parquet.Schema
	var order []sortColumn
	var inputRows int64
	for _, w := range windows {
		n, err := c.mergeWindow(ctx, w, out, &schema, &order, t)
		if err != nil {
			return nil, err
		}
		inputRows += n
	}
	if err := out.close(); err != nil {
		return nil, err
	}
	if schema != nil {
		out.schema = parquetfile.SchemaID(schema)
	}
	c.hook(StepWritten, t.Name, cluster, dayName)
	if out.rows != inputRows {
		return nil, fmt.Errorf("parts hold %d rows, the windows %d", out.rows, inputRows)
	}
	listed, err := c.archive.List(ctx, genDir)
	if err != nil {
		return nil, err
	}
	if len(listed) != len(out.sizes) {
		return nil, fmt.Errorf("%d parts listed, %d written", len(listed), len(out.sizes))
	}
	for i, o := range listed {
		if o.Key != tables.PartKey(t.Name, cluster, dayName, gen, i) || o.Size != out.sizes[i] {
			return nil, fmt.Errorf("part %s has %d bytes, %d were written", o.Key, o.Size, out.sizes[i])
		}
	}
	return out, nil
}

// sortColumn is one column of the sort key: its index in a row and how its values compare.
type sortColumn struct {
	index int
	typ   parquet.Type
}

// sortKey is the columns a day is sorted by: the time column, then the key; a table without a
// time column of its own (stl_querytext, stl_explain) by its key.
func sortKey(t tables.Table, schema *parquet.Schema) ([]sortColumn, error) {
	names := []string{}
	if t.TimeColumn != "" {
		names = append(names, t.TimeColumn)
	}
	names = append(names, t.Key...)
	cols := schema.Columns()
	var out []sortColumn
	for _, n := range names {
		i := slices.IndexFunc(cols, func(p []string) bool { return len(p) == 1 && p[0] == n })
		if i < 0 {
			if n == t.TimeColumn {
				return nil, fmt.Errorf("time column %s is not in the objects", n)
			}
			continue
		}
		leaf, _ := schema.Lookup(n)
		out = append(out, sortColumn{index: i, typ: leaf.Node.Type()})
	}
	return out, nil
}

func compareRows(order []sortColumn) func(a, b parquet.Row) int {
	return func(a, b parquet.Row) int {
		for _, k := range order {
			x, y := a[k.index], b[k.index]
			switch xn, yn := x.IsNull(), y.IsNull(); {
			case xn && yn:
				continue
			case xn:
				return -1
			case yn:
				return 1
			}
			if r := k.typ.Compare(x, y); r != 0 {
				return r
			}
		}
		return 0
	}
}

// mergeWindow reads one window object, sorts its rows and appends them to the parts. A window
// covers one export interval, so its rows are few; MaxSortRows bounds them all the same.
func (c *Compactor) mergeWindow(ctx context.Context, w storage.Info, out *partSet, schema **parquet.Schema, order *[]sortColumn, t tables.Table) (int64, error) {
	ra, size, done, err := c.fetch(ctx, w.Key)
	if err != nil {
		return 0, err
	}
	defer done()
	// Rows are read in order, never looked up: the page index and bloom filters are not read.
	f, err := parquet.OpenFile(ra, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", w.Key, err)
	}
	if *schema == nil {
		*schema = f.Schema()
		if *order, err = sortKey(t, *schema); err != nil {
			return 0, err
		}
	} else if !parquet.EqualNodes(*schema, f.Schema()) {
		return 0, fmt.Errorf("%s has other columns than the day's first object; the day stays as it is", w.Key)
	}
	if f.NumRows() > int64(c.opts.MaxSortRows) {
		return 0, fmt.Errorf("%s has %d rows, more than the %d one object may have to be sorted in memory", w.Key, f.NumRows(), c.opts.MaxSortRows)
	}
	// One slab holds the values of every row: a flat archive row has one value per column.
	rows := make([]parquet.Row, 0, f.NumRows())
	slab := make([]parquet.Value, 0, f.NumRows()*int64(len((*schema).Columns())))
	for _, rg := range f.RowGroups() {
		err := parquetfile.ReadRows(rg, func(batch []parquet.Row) error {
			for _, r := range batch {
				start := len(slab)
				for _, v := range r {
					slab = append(slab, v.Clone())
				}
				rows = append(rows, slab[start:len(slab):len(slab)])
			}
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("read %s: %w", w.Key, err)
		}
	}
	if int64(len(rows)) != f.NumRows() {
		return 0, fmt.Errorf("read %s: %d rows, its footer says %d", w.Key, len(rows), f.NumRows())
	}
	slices.SortStableFunc(rows, compareRows(*order))
	if err := out.write(ctx, *schema, rows); err != nil {
		return 0, err
	}
	return int64(len(rows)), nil
}

// fetch gives random access to an object: the file itself in a local archive, a temporary copy
// of a remote one.
func (c *Compactor) fetch(ctx context.Context, key string) (io.ReaderAt, int64, func(), error) {
	r, err := c.archive.Open(ctx, key)
	if err != nil {
		return nil, 0, nil, err
	}
	if f, ok := r.(*os.File); ok {
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, 0, nil, err
		}
		return f, fi.Size(), func() { f.Close() }, nil
	}
	defer r.Close()
	tmp, err := os.CreateTemp(c.opts.TempDir, "stlarchive-compact-*.parquet")
	if err != nil {
		return nil, 0, nil, err
	}
	cleanup := func() { tmp.Close(); os.Remove(tmp.Name()) }
	n, err := io.Copy(tmp, r)
	if err != nil {
		cleanup()
		return nil, 0, nil, fmt.Errorf("read %s: %w", key, err)
	}
	return tmp, n, cleanup, nil
}

// partSet writes the parts of one generation, starting a new part when the next row group
// could take the current one past MaxBytes.
type partSet struct {
	c                      *Compactor
	table, cluster, day    string
	gen                    int
	obj                    storage.Object
	cw                     *countingWriter
	rw                     *parquetfile.RowWriter
	lastFlush, largestFlux int64
	sizes                  []int64
	rows                   int64
	// schema is the parts' schema ID (parquetfile.SchemaID), for the layout record.
	schema string
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (p *partSet) write(ctx context.Context, schema *parquet.Schema, rows []parquet.Row) error {
	groupRows := p.c.opts.RowGroupRows
	if groupRows <= 0 {
		groupRows = parquetfile.DefaultRowGroupRows
	}
	for len(rows) > 0 {
		if p.rw == nil {
			key := tables.PartKey(p.table, p.cluster, p.day, p.gen, len(p.sizes))
			obj, err := p.c.archive.Create(ctx, key)
			if err != nil {
				return err
			}
			p.obj, p.cw = obj, &countingWriter{w: obj}
			if p.rw, err = parquetfile.NewRowWriter(p.cw, schema, parquetfile.WithRowGroupRows(groupRows)); err != nil {
				return err
			}
			p.lastFlush = 0
			if len(p.sizes) == 0 {
				p.c.hook(StepWriting, p.table, p.cluster, p.day)
			}
		}
		k := min(len(rows), groupRows-p.rw.GroupRows())
		if err := p.rw.WriteRows(rows[:k]); err != nil {
			return err
		}
		rows = rows[k:]
		p.rows += int64(k)
		if p.rw.GroupRows() == 0 {
			// A row group was flushed: start a new part if one more like the largest so far
			// would not fit.
			p.largestFlux = max(p.largestFlux, p.cw.n-p.lastFlush)
			p.lastFlush = p.cw.n
			if p.cw.n+p.largestFlux+footerMargin > p.c.opts.MaxBytes {
				if err := p.finish(); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// finish closes the current part and makes it visible under its key (no reader chooses it
// before the switch).
func (p *partSet) finish() error {
	if p.rw == nil {
		return nil
	}
	if err := p.rw.Close(); err != nil {
		return err
	}
	if err := p.obj.Commit(); err != nil {
		return err
	}
	p.sizes = append(p.sizes, p.cw.n)
	p.rw, p.obj, p.cw = nil, nil, nil
	return nil
}

func (p *partSet) close() error { return p.finish() }

func (p *partSet) abort() {
	if p.obj != nil {
		p.obj.Abort()
	}
}
