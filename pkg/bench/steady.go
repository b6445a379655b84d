package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/stlarchive/redshift-stl-archive/pkg/export/parquetfile"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// windowStamp is how an object's key spells its window's ends (tables.ObjectKey).
const windowStamp = "20060102T150405.000000"

// splitResult counts what splitWindows did.
type splitResult struct {
	objects, windows, rows int64
	largest                int64 // rows of the largest object split
}

// splitWindows rewrites every object of a local archive whose window is longer than m as the
// objects an exporter run with export.Options.MaxWindow = m writes for the same rows: windows
// (lo, trunc(lo)+m], then (k·m, (k+1)·m], cut at midnight and at the object's own end, each
// under tables.ObjectKey, written by the Parquet writer compaction uses (the exporter's schema
// and settings), empty windows left out. A child table's rows go to the window of their parent's
// time, as its window SQL joins them, read from the parent's objects of the same day. Writes are
// not synced: the bench needs the layout, not its durability. Two workers run at once.
func splitWindows(ctx context.Context, root string, ts []tables.Table, clusters []string, m time.Duration) (splitResult, error) {
	type job struct {
		t       tables.Table
		cluster string
		dir     string
		names   []string
	}
	var children, others []job
	for _, t := range ts {
		for _, c := range clusters {
			base := filepath.Join(root, t.Name, "cluster="+c)
			days, err := filepath.Glob(filepath.Join(base, "day=*"))
			if err != nil {
				return splitResult{}, err
			}
			for _, d := range days {
				ents, err := os.ReadDir(d)
				if err != nil {
					return splitResult{}, err
				}
				j := job{t: t, cluster: c, dir: d}
				for _, e := range ents {
					if lo, hi, ok := windowOfName(e.Name()); ok && !isWindow(lo, hi, m) {
						j.names = append(j.names, e.Name())
					}
				}
				if len(j.names) == 0 {
					continue
				}
				if t.Parent != "" {
					children = append(children, j)
				} else {
					others = append(others, j)
				}
			}
		}
	}
	var res splitResult
	var mu sync.Mutex
	// Children first: they read their parents' objects of the day before those are split.
	for _, jobs := range [][]job{children, others} {
		var next atomic.Int64
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for w := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= len(jobs) || ctx.Err() != nil {
						errs[w] = ctx.Err()
						return
					}
					j := jobs[i]
					var parentTime map[int64]int64
					if j.t.Parent != "" {
						parentDir := filepath.Join(root, j.t.Parent, "cluster="+j.cluster, filepath.Base(j.dir))
						var err error
						if parentTime, err = readParentTimes(j.t.Parent, parentDir); err != nil {
							errs[w] = fmt.Errorf("bench query: split %s: %w", j.dir, err)
							return
						}
					}
					for _, name := range j.names {
						r, err := splitObject(j.t, j.cluster, root, filepath.Join(j.dir, name), m, parentTime)
						if err != nil {
							errs[w] = fmt.Errorf("bench query: split %s: %w", filepath.Join(j.dir, name), err)
							return
						}
						mu.Lock()
						res.objects++
						res.windows += r.windows
						res.rows += r.rows
						res.largest = max(res.largest, r.rows)
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return res, err
		}
	}
	return res, nil
}

// windowOfName parses "<lo>_<hi>.parquet".
func windowOfName(name string) (lo, hi time.Time, ok bool) {
	a, b, found := strings.Cut(strings.TrimSuffix(name, ".parquet"), "_")
	if !found || !strings.HasSuffix(name, ".parquet") {
		return lo, hi, false
	}
	lo, err1 := time.Parse(windowStamp, a)
	hi, err2 := time.Parse(windowStamp, b)
	return lo, hi, err1 == nil && err2 == nil
}

// steadyWindow is the window an exporter with MaxWindow m, starting at lo and caught up to hi,
// puts a row of time t (lo < t ≤ hi, lo and hi in one day) in: its end; the start is the end of
// the window before, or lo.
func steadyWindow(t, lo, hi time.Time, m time.Duration) time.Time {
	first := firstEnd(lo, m)
	end := tables.DayEnd(lo.Add(time.Microsecond))
	if hi.Before(end) {
		end = hi
	}
	w := first
	if t.After(first) {
		if w = t.Truncate(m); w.Before(t) {
			w = w.Add(m)
		}
	}
	if w.After(end) {
		return end
	}
	return w
}

// isWindow tells whether an exporter with MaxWindow m exports (lo, hi] as one window: when it is
// at most m long, or ends where the first window from lo ends, or before (a window that starts
// a day, (d − 1µs, d + m], is one microsecond longer than m).
func isWindow(lo, hi time.Time, m time.Duration) bool {
	return !lo.Add(m).Before(hi) || !hi.After(firstEnd(lo, m))
}

// firstEnd is where the first window from lo ends, before the cut at midnight or at the end.
func firstEnd(lo time.Time, m time.Duration) time.Time {
	return lo.Add(time.Microsecond).Truncate(m).Add(m)
}

// splitObject rewrites one object as its windows, then removes it.
func splitObject(t tables.Table, cluster, root, path string, m time.Duration, parentTime map[int64]int64) (splitResult, error) {
	var res splitResult
	lo, hi, _ := windowOfName(filepath.Base(path))
	f, err := os.Open(path)
	if err != nil {
		return res, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return res, err
	}
	pf, err := parquet.OpenFile(f, fi.Size(), parquet.SkipBloomFilters(true))
	if err != nil {
		return res, err
	}
	schema := pf.Schema()
	timeCol := t.TimeColumn
	if t.Parent != "" {
		timeCol = "query"
	}
	leaf, ok := schema.Lookup(timeCol)
	if !ok {
		return res, fmt.Errorf("no column %s", timeCol)
	}
	// The rows of one object, by the end of their window. An object is one day of one table on
	// one cluster at most (the bench's backfill): its rows are held, like one row group of the
	// exporter's writer is.
	byEnd := map[int64][]parquet.Row{}
	var n int64
	for _, rg := range pf.RowGroups() {
		err := parquetfile.ReadRows(rg, func(batch []parquet.Row) error {
			for _, r := range batch {
				v := r[leaf.ColumnIndex]
				if v.IsNull() {
					return fmt.Errorf("row %d has no %s", n, timeCol)
				}
				us := v.Int64()
				if t.Parent != "" {
					pt, ok := parentTime[us]
					if !ok {
						return fmt.Errorf("query %d is not in the parent's objects of the day", us)
					}
					us = pt
				}
				end := steadyWindow(time.UnixMicro(us).UTC(), lo, hi, m).UnixMicro()
				byEnd[end] = append(byEnd[end], r.Clone())
				n++
			}
			return nil
		})
		if err != nil {
			return res, err
		}
	}
	if n != pf.NumRows() {
		return res, fmt.Errorf("read %d rows, the footer says %d", n, pf.NumRows())
	}
	ends := slices.Sorted(func(yield func(int64) bool) {
		for e := range byEnd {
			if !yield(e) {
				return
			}
		}
	})
	var written int64
	self := tables.ObjectKey(t.Name, cluster, lo, hi)
	for _, e := range ends {
		end := time.UnixMicro(e).UTC()
		start := lo // the first window starts where the object does
		if end.After(firstEnd(lo, m)) {
			start = end.Add(-time.Microsecond).Truncate(m)
		}
		key := tables.ObjectKey(t.Name, cluster, start, end)
		if key == self {
			// The object is one window already; rewriting it and removing it would lose it.
			return res, fmt.Errorf("%s is one window of %s", key, m)
		}
		if err := writeWindow(filepath.Join(root, filepath.FromSlash(key)), schema, byEnd[e]); err != nil {
			return res, err
		}
		written += int64(len(byEnd[e]))
	}
	if written != n {
		return res, fmt.Errorf("wrote %d rows of %d", written, n)
	}
	f.Close()
	if err := os.Remove(path); err != nil {
		return res, err
	}
	return splitResult{objects: 1, windows: int64(len(ends)), rows: n}, nil
}

// writeWindow writes rows as one object, whole or not at all.
func writeWindow(path string, schema *parquet.Schema, rows []parquet.Row) error {
	tmp := path + ".split"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	w, err := parquetfile.NewRowWriter(bw, schema)
	if err == nil {
		err = w.WriteRows(rows)
	}
	if err == nil {
		err = w.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// readParentTimes maps each query of the parent table's objects in a day folder to its time.
func readParentTimes(parent, dir string) (map[int64]int64, error) {
	p, ok := tables.Lookup(parent)
	if !ok {
		return nil, fmt.Errorf("no table %s", parent)
	}
	names, err := filepath.Glob(filepath.Join(dir, "*.parquet"))
	if err != nil {
		return nil, err
	}
	out := map[int64]int64{}
	for _, name := range names {
		if err := readPairs(name, "query", p.TimeColumn, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readPairs adds the (key, value) column pairs of one object's rows to out.
func readPairs(path, key, value string, out map[int64]int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	pf, err := parquet.OpenFile(f, fi.Size(), parquet.SkipBloomFilters(true))
	if err != nil {
		return err
	}
	kl, ok1 := pf.Schema().Lookup(key)
	vl, ok2 := pf.Schema().Lookup(value)
	if !ok1 || !ok2 {
		return fmt.Errorf("%s lacks %s or %s", path, key, value)
	}
	for _, rg := range pf.RowGroups() {
		err := parquetfile.ReadRows(rg, func(batch []parquet.Row) error {
			for _, r := range batch {
				if kv, vv := r[kl.ColumnIndex], r[vl.ColumnIndex]; !kv.IsNull() && !vv.IsNull() {
					out[kv.Int64()] = vv.Int64()
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
