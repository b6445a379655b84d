package main

import (
	"fmt"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/state"
)

// unplacedNote is the status table's note on the rows the source holds and no window can.
func unplacedNote(u state.Unplaced) []string {
	if u.Rows <= 0 {
		return nil
	}
	return []string{fmt.Sprintf("%d row(s) not archived: NULL time or no parent row, first seen %s", u.Rows, u.FirstSeen.UTC().Format(time.DateTime))}
}

// printUnplaced names, under the verify table, each table whose source holds rows that no window
// can hold.
func printUnplaced(results []export.VerifyResult) {
	for _, r := range results {
		for _, t := range r.Tables {
			if t.Unplaced > 0 {
				fmt.Printf("%s %s: %d row(s) on the source not archived: their time is NULL, or they have no parent row with one\n",
					r.Cluster, t.Table, t.Unplaced)
			}
		}
	}
}
