package state

import "time"

// Unplaced is what the last count found on the source of one (cluster, table) that no export
// window can hold: rows whose time column is NULL, and child rows (stl_querytext, stl_explain)
// without a parent row that has a time. They are not archived; they are counted at every
// verification pass so that they are seen. A child row whose parent is merely not yet visible
// is placed, and leaves the count, once the parent arrives.
type Unplaced struct {
	// Rows is the count of the last pass; FirstSeen when the count last went from 0 to more.
	Rows      int64     `json:"rows"`
	FirstSeen time.Time `json:"firstSeen,omitzero"`
	// Counted is when the last pass counted them.
	Counted time.Time `json:"counted,omitzero"`
}

// Record keeps the count of a pass at now.
func (u *Unplaced) Record(rows int64, now time.Time) {
	switch {
	case rows <= 0:
		u.FirstSeen = time.Time{}
	case u.Rows <= 0 || u.FirstSeen.IsZero():
		u.FirstSeen = now
	}
	u.Rows, u.Counted = max(rows, 0), now
}
