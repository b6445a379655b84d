package tables

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Compaction rewrites a closed day's window objects as one or a few sorted parts, and retention
// deletes whole days. Which objects hold a day is then decided by one record per table and
// cluster, replaced atomically (docs/compaction.md):
//
//	<root>/<table>/cluster=<cluster>/_layout.json
//	<root>/<table>/cluster=<cluster>/compacted/day=<YYYY-MM-DD>/g<generation>/part-<n>.parquet
//
// A day the record does not name is held by its window objects. A compacted day is held by the
// parts of its generation alone, a retired day by nothing. Readers follow the record; writers
// switch it only once the objects it names are whole, and delete what it no longer names only
// after a grace period for the queries that chose them before.

// LayoutName is the record's object name; the leading "_" keeps it out of every engine's data.
const LayoutName = "_layout.json"

// Layout says which objects hold the days of one table on one cluster.
type Layout struct {
	// Days maps a day (DayFormat) that is not held by its windows to what holds it.
	Days map[string]DayLayout `json:"days,omitempty"`
	// Garbage lists objects no reader chooses any more, to delete once their time has come.
	Garbage []Garbage `json:"garbage,omitempty"`
}

// DayLayout is what holds one day.
type DayLayout struct {
	// Generation and Parts name the compacted objects (PartKey 0…Parts-1); Rows is their total.
	Generation int   `json:"generation,omitempty"`
	Parts      int   `json:"parts,omitempty"`
	Rows       int64 `json:"rows,omitempty"`
	// Windows is the number of window objects the parts replaced.
	Windows int `json:"windows,omitempty"`
	// Schema identifies the parts' Parquet schema (parquetfile.SchemaID); empty in records
	// written before it was kept, whose readers then read it from the parts' footers.
	Schema string `json:"schema,omitempty"`
	// Retired marks a day past retention: no object holds it any more.
	Retired bool      `json:"retired,omitempty"`
	At      time.Time `json:"at"`
	// Published marks a day whose registered Glue partition follows this entry (points at the
	// generation, or is gone for a retired day). Only archives Athena reads through registered
	// partitions publish; until then the day's garbage stays (docs/compaction.md).
	Published bool `json:"published,omitempty"`
	// Through, when set, makes the entry partial: a day still open, whose parts hold exactly its
	// windows with hi <= Through, while its windows with lo >= Through still hold the rest.
	// Zero: the parts hold the whole closed day.
	Through time.Time `json:"through,omitzero"`
}

// Partial reports whether the entry covers only the windows of its day up to Through.
func (d DayLayout) Partial() bool { return !d.Through.IsZero() && !d.Retired }

// Compacted reports whether the parts of the entry hold its whole day.
func (d DayLayout) Compacted() bool { return d.Generation > 0 && !d.Retired && d.Through.IsZero() }

// ReadsWindow reports whether readers of a day with this entry read the window object named
// name (its base name): every window of a day without an entry, the windows from Through on of
// a partial day, none of a compacted or retired day.
func (d DayLayout) ReadsWindow(name string) bool {
	if d.Retired || d.Generation > 0 && d.Through.IsZero() {
		return false
	}
	if d.Through.IsZero() {
		return true
	}
	lo, _, ok := WindowOf(name)
	return ok && !lo.Before(d.Through)
}

// WindowOf reads the window (lo, hi] of a window object from its base name (ObjectKey).
func WindowOf(name string) (lo, hi time.Time, ok bool) {
	if !windowNameRe.MatchString(name) {
		return time.Time{}, time.Time{}, false
	}
	a, b, _ := strings.Cut(strings.TrimSuffix(name, ".parquet"), "_")
	lo, err1 := time.Parse(windowStamp, a)
	hi, err2 := time.Parse(windowStamp, b)
	if err1 != nil || err2 != nil {
		return time.Time{}, time.Time{}, false
	}
	return lo.UTC(), hi.UTC(), true
}

// Garbage is an object to delete once After has passed.
type Garbage struct {
	Key   string    `json:"key"`
	After time.Time `json:"after"`
}

// LayoutKey is the key of the layout record of a table on a cluster.
func LayoutKey(table, cluster string) string {
	return fmt.Sprintf("%s/cluster=%s/%s", table, cluster, LayoutName)
}

// GenerationDir is the folder of the compacted parts of one generation of a day.
func GenerationDir(table, cluster, day string, generation int) string {
	return fmt.Sprintf("%s/cluster=%s/compacted/day=%s/g%d", table, cluster, day, generation)
}

// PartKey is the key of part n of a day's generation.
func PartKey(table, cluster, day string, generation, n int) string {
	return fmt.Sprintf("%s/part-%05d.parquet", GenerationDir(table, cluster, day, generation), n)
}

// Keys lists the objects that hold a compacted day.
func (d DayLayout) Keys(table, cluster, day string) []string {
	if d.Retired {
		return nil
	}
	out := make([]string, d.Parts)
	for i := range out {
		out[i] = PartKey(table, cluster, day, d.Generation, i)
	}
	return out
}

// ParseLayout reads a record; an empty one is the layout of an archive nothing was compacted in.
func ParseLayout(b []byte) (Layout, error) {
	var l Layout
	if len(b) == 0 {
		return l, nil
	}
	if err := json.Unmarshal(b, &l); err != nil {
		return Layout{}, fmt.Errorf("layout record: %w", err)
	}
	for day, d := range l.Days {
		start, err := time.Parse(DayFormat, day)
		if err != nil {
			return Layout{}, fmt.Errorf("layout record: day %q: %w", day, err)
		}
		if !d.Retired && (d.Generation <= 0 || d.Parts <= 0) {
			return Layout{}, fmt.Errorf("layout record: day %s names no parts", day)
		}
		// A partial entry ends inside its day (a window's hi may be the next midnight).
		if d.Partial() && (!d.Through.After(start) || d.Through.After(start.AddDate(0, 0, 1))) {
			return Layout{}, fmt.Errorf("layout record: day %s: through %s is not in the day", day, d.Through.Format(time.RFC3339Nano))
		}
	}
	return l, nil
}

var (
	windowNameRe = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}\.[0-9]{6}_[0-9]{8}T[0-9]{6}\.[0-9]{6}\.parquet$`)
	partKeyRe    = regexp.MustCompile(`^compacted/day=([0-9]{4}-[0-9]{2}-[0-9]{2})/g([0-9]+)/part-[0-9]{5}\.parquet$`)
)

// ObjectOf classifies a key relative to its table and cluster folder ("day=…/<window>" or
// "compacted/day=…/g<n>/part-…"): its day, its generation (0 for a window object) and whether
// it is an archive object at all.
func ObjectOf(rel string) (day string, generation int, ok bool) {
	if m := partKeyRe.FindStringSubmatch(rel); m != nil {
		g, err := strconv.Atoi(m[2])
		return m[1], g, err == nil && g > 0
	}
	if len(rel) > len("day=2006-01-02/") && rel[:4] == "day=" && rel[14] == '/' && windowNameRe.MatchString(rel[15:]) {
		day := rel[4:14]
		if _, err := time.Parse(DayFormat, day); err == nil {
			return day, 0, true
		}
	}
	return "", 0, false
}
