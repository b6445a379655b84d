package tables

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
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
	// Retired marks a day past retention: no object holds it any more.
	Retired bool      `json:"retired,omitempty"`
	At      time.Time `json:"at"`
	// Published marks a day whose registered Glue partition follows this entry (points at the
	// generation, or is gone for a retired day). Only archives Athena reads through registered
	// partitions publish; until then the day's garbage stays (docs/compaction.md).
	Published bool `json:"published,omitempty"`
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
		if _, err := time.Parse(DayFormat, day); err != nil {
			return Layout{}, fmt.Errorf("layout record: day %q: %w", day, err)
		}
		if !d.Retired && (d.Generation <= 0 || d.Parts <= 0) {
			return Layout{}, fmt.Errorf("layout record: day %s names no parts", day)
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
