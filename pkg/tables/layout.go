package tables

import (
	"fmt"
	"time"
)

// The archive layout, shared by the exporter that writes it and the engines that read it:
//
//	<root>/<table>/cluster=<cluster>/day=<YYYY-MM-DD>/<lo>_<hi>.parquet
//
// Hive-style partitions with names that need no quoting. A window never crosses midnight (UTC,
// as all STL times are), so each window is one object in one day partition, and its key depends
// on the window alone: a redo of the same window overwrites the same object.

// DayFormat formats the day partition value.
const DayFormat = "2006-01-02"

const windowStamp = "20060102T150405.000000"

// PartitionDir is the folder of one table, cluster and day, relative to the archive root.
func PartitionDir(table, cluster string, day time.Time) string {
	return fmt.Sprintf("%s/cluster=%s/day=%s", table, cluster, day.UTC().Format(DayFormat))
}

// ObjectKey is the archive key of the Parquet object holding window (lo, hi] of a table on a
// cluster. The day is that of the window's first possible row.
func ObjectKey(table, cluster string, lo, hi time.Time) string {
	first := lo.Add(time.Microsecond)
	return fmt.Sprintf("%s/%s_%s.parquet", PartitionDir(table, cluster, first), lo.UTC().Format(windowStamp), hi.UTC().Format(windowStamp))
}

// DayEnd is the last microsecond of the day that holds t: the highest hi a window starting
// after t may have.
func DayEnd(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1).Add(-time.Microsecond)
}
