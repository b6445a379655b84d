package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Compaction tunes how closed days are compacted (docs/compaction.md). The zero value is the
// default: compaction on, parts of at most DefaultMaxObjectMB, DefaultCompactionGrace.
type Compaction struct {
	// Disabled turns compaction off (jsonData.compaction.enabled: false). Retention still runs.
	Disabled bool
	// MaxObjectMB bounds each compacted object; 0 is DefaultMaxObjectMB.
	MaxObjectMB int
	// Grace is how long replaced objects stay for queries that chose them before; 0 is
	// DefaultCompactionGrace. It must be longer than query.timeout.
	Grace time.Duration
	// OpenDayMinWindows is the fewest finished windows of a day still open (today, or a day
	// inside the export lag or verify horizon) that are compacted at once into a partial entry;
	// 0 is DefaultOpenDayMinWindows (docs/compaction.md).
	OpenDayMinWindows int
}

// Defaults of Compaction.
const (
	DefaultMaxObjectMB       = 512
	DefaultOpenDayMinWindows = 12
	DefaultCompactionGrace   = 10 * time.Minute
	maxObjectMB              = 5 << 20 // S3's largest object, 5 TiB
	// maxOpenDayMinWindows is a day of one-minute windows: a larger threshold is never met.
	maxOpenDayMinWindows = 1440
)

// CompactionEnabled reports whether closed days are compacted. Retention works with every
// engine and setting.
func (c Config) CompactionEnabled() bool {
	return !c.Compaction.Disabled
}

// RegisteredPartitions reports whether Athena reads the archive through registered Glue
// partitions rather than projection: with query.engine athena and compaction on, since a
// compacted day lives in a generation folder that projection's location template cannot name
// (docs/compaction.md).
func (c Config) RegisteredPartitions() bool {
	return c.Query.Engine == "athena" && c.CompactionEnabled()
}

// MaxObjectBytes is the bound of one compacted object.
func (c Compaction) MaxObjectBytes() int64 {
	if c.MaxObjectMB <= 0 {
		return DefaultMaxObjectMB << 20
	}
	return int64(c.MaxObjectMB) << 20
}

// GraceOrDefault is the grace period that applies.
func (c Compaction) GraceOrDefault() time.Duration {
	if c.Grace <= 0 {
		return DefaultCompactionGrace
	}
	return c.Grace
}

// OpenDayMinWindowsOrDefault is the threshold of partial compaction that applies.
func (c Compaction) OpenDayMinWindowsOrDefault() int {
	if c.OpenDayMinWindows <= 0 {
		return DefaultOpenDayMinWindows
	}
	return c.OpenDayMinWindows
}

// minRetention is the shortest retention: a day is the unit retention deletes.
const minRetention = 24 * time.Hour

// decodeCompaction reads jsonData.compaction and jsonData.retention.
func decodeCompaction(root *object, cfg *Config) {
	if c, ok := root.optionalObject("compaction"); ok {
		enabled := true
		c.boolean("enabled", &enabled)
		cfg.Compaction.Disabled = !enabled
		c.integer("maxObjectMB", &cfg.Compaction.MaxObjectMB)
		c.duration("grace", &cfg.Compaction.Grace)
		c.integer("openDayMinWindows", &cfg.Compaction.OpenDayMinWindows)
		c.done()
	}
	r, ok := root.optionalObject("retention")
	if !ok {
		return
	}
	for _, table := range slices.Sorted(func(yield func(string) bool) {
		for k := range r.m {
			if !yield(k) {
				return
			}
		}
	}) {
		v, _ := r.get(table)
		s, isStr := v.(string)
		if !isStr {
			r.probs.add(r.field(table), `must be a duration such as "90d" or "forever", got %s`, describe(v))
			continue
		}
		d, err := parseRetention(s)
		if err != nil {
			r.probs.add(r.field(table), "%v", err)
			continue
		}
		if d == 0 {
			continue
		}
		if cfg.Retention == nil {
			cfg.Retention = map[string]time.Duration{}
		}
		cfg.Retention[table] = d
	}
	r.done()
}

// parseRetention reads "90d", "2160h" or "forever" (0).
func parseRetention(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "forever" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, fmt.Errorf(`%q is not a number of days (e.g. "90d")`, s)
		}
		if n > 100*365 {
			return 0, fmt.Errorf("%q is more than 100 years: leave the table out to keep it forever", s)
		}
		d := time.Duration(n) * 24 * time.Hour
		if d < minRetention {
			return 0, fmt.Errorf("must be at least 1d (whole days are deleted), got %q", s)
		}
		return d, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf(`%q is not a duration (e.g. "90d", or "forever")`, s)
	}
	if d < minRetention {
		return 0, fmt.Errorf("must be at least 1d (whole days are deleted), got %q", s)
	}
	return d, nil
}

// validateCompaction checks the compaction settings and that retention names exported tables.
func validateCompaction(probs *problems, cfg *Config) {
	c := cfg.Compaction
	if c.MaxObjectMB < 0 || c.MaxObjectMB > maxObjectMB {
		probs.add("jsonData.compaction.maxObjectMB", "must be between 1 and %d, got %d", maxObjectMB, c.MaxObjectMB)
	}
	if c.OpenDayMinWindows < 0 || c.OpenDayMinWindows > maxOpenDayMinWindows {
		probs.add("jsonData.compaction.openDayMinWindows", "must be between 1 and %d windows (0: %d), got %d", maxOpenDayMinWindows, DefaultOpenDayMinWindows, c.OpenDayMinWindows)
	}
	if c.Grace < 0 {
		probs.add("jsonData.compaction.grace", "must not be negative, got %s", c.Grace)
	} else if g := c.GraceOrDefault(); g <= cfg.Query.Timeout {
		probs.add("jsonData.compaction.grace", "must be longer than query.timeout (%s): a query may still read what compaction replaced, got %s", cfg.Query.Timeout, g)
	} else if a := cfg.Query.Athena; cfg.RegisteredPartitions() && a != nil && g <= a.Timeout {
		probs.add("jsonData.compaction.grace", "must be longer than query.athena.timeout (%s): an Athena query planned before a day's partition moved may still read what compaction replaced, got %s", a.Timeout, g)
	}
	known := map[string]bool{}
	for _, t := range cfg.Export.Tables {
		known[t] = true
	}
	for _, q := range cfg.CustomQueries {
		known[q.Name] = true
	}
	for table := range cfg.Retention {
		if !known[table] {
			names := slices.Sorted(func(yield func(string) bool) {
				for k := range known {
					if !yield(k) {
						return
					}
				}
			})
			probs.add("jsonData.retention."+table, "not an exported table (exported: %s)", strings.Join(names, ", "))
		}
	}
}
