package state

import (
	"sort"
	"time"
)

// Entry is the manifest of one committed window: where its rows are and what they were. Rows and
// KeySum are what a verification pass recomputes on the source with one aggregate; Checksum is
// the order-independent checksum of the rows as written (see export.RowChecksum), which a deep
// verification recomputes by reading the window again.
type Entry struct {
	Lo time.Time `json:"lo"`
	Hi time.Time `json:"hi"`
	// Key is the archive object of the window; empty when the window had no rows.
	Key  string `json:"key,omitempty"`
	Rows int64  `json:"rows"`
	// KeySum is the sum of the table's key column (query) over the rows; 0 for tables without one.
	KeySum   int64  `json:"keySum"`
	Checksum uint64 `json:"checksum"`
	// Verified is when a pass last found the source equal to this entry.
	Verified time.Time `json:"verified,omitzero"`
	// Unverifiable is set once a pass found the source no longer holds all of the window.
	Unverifiable bool `json:"unverifiable,omitempty"`
	// Healed counts the re-exports of the window.
	Healed int `json:"healed,omitempty"`
	// Seen is the source's row count when a pass last found it different and did not heal it,
	// so that the same late rows are counted once.
	Seen int64 `json:"seen,omitempty"`
	// Differs is set while the last pass that saw the window found it different from the source
	// and did not heal it. Compaction does not close its day (compact.VerifiedGate).
	Differs bool `json:"differs,omitempty"`
}

// Window returns the entry's window.
func (e Entry) Window() Window { return Window{Lo: e.Lo, Hi: e.Hi} }

// Heal is a window being re-exported: the new manifest entry replaces the old one when the heal
// commits.
type Heal struct {
	Window     Window    `json:"window"`
	RowsBefore int64     `json:"rowsBefore"`
	Started    time.Time `json:"started"`
}

// HealRecord is one committed heal, as status shows it.
type HealRecord struct {
	At         time.Time `json:"at"`
	Window     Window    `json:"window"`
	RowsBefore int64     `json:"rowsBefore"`
	RowsAfter  int64     `json:"rowsAfter"`
}

// MaxHealRecords bounds the heals a Progress keeps; the totals count all of them.
const MaxHealRecords = 20

// Verification sums up the verification passes of one (cluster, table).
type Verification struct {
	// LastPass is when the last pass ended; VerifiedUpTo the end of the newest window that a pass
	// found equal to the source with every older window of the horizon equal or healed.
	LastPass     time.Time `json:"lastPass,omitzero"`
	VerifiedUpTo time.Time `json:"verifiedUpTo,omitzero"`
	// Differs counts the windows the last pass found different from the source and left unhealed.
	Differs int `json:"differs"`
	// Unhealable counts those of Differs in a day already compacted or retired: a heal would write
	// where no reader looks, so none is tried. The archive differs there until an operator acts.
	Unhealable int `json:"unhealable,omitempty"`
	// LateRows counts the rows found on the source behind the watermark (arrived later than the
	// lag), over all passes; RowsHealed the rows added to the archive by heals; HealedWindows the heals.
	LateRows      int64 `json:"lateRows"`
	RowsHealed    int64 `json:"rowsHealed"`
	HealedWindows int64 `json:"healedWindows"`
	// Unverifiable counts the windows a pass could not verify because the source no longer held
	// all of their rows (STL retention).
	Unverifiable int64 `json:"unverifiable"`
	// Folded counts the entries moved to day records; FoldedUnverified those among them that no
	// pass had verified (the manifest reached MaxManifest first, or verification is off).
	Folded           int64 `json:"folded"`
	FoldedUnverified int64 `json:"foldedUnverified"`
	// LastPassLateRows and LastPassUnverifiable are what the last pass found: late rows it saw
	// for the first time, and windows it could not verify. The alert rule watches them.
	LastPassLateRows     int64        `json:"lastPassLateRows"`
	LastPassUnverifiable int          `json:"lastPassUnverifiable"`
	Heals                []HealRecord `json:"heals,omitempty"`
	LastError            string       `json:"lastError,omitempty"`
}

// Day is the manifest of one closed day of (cluster, table), or of one segment of it: the
// entries folded out of Progress. A day has one record unless it holds more than MaxDayEntries
// windows (a short export interval), or Progress reached MaxManifest before the day closed; then
// it has several segments, each named by the start of its first window.
type Day struct {
	Cluster string `json:"cluster"`
	Table   string `json:"table"`
	// Day is the UTC day, YYYY-MM-DD.
	Day string `json:"day"`
	// Segment is the start of the record's first window (compact UTC form): records of one day
	// sort by it. Folding the same entries again writes the same segment.
	Segment string  `json:"segment"`
	Entries []Entry `json:"entries"`
	Rows    int64   `json:"rows"`
	// Checksum is the sum of the entries' checksums: the segment's rows, in any order and window.
	Checksum uint64 `json:"checksum"`
}

// MaxManifest bounds the entries kept in Progress (a DynamoDB item holds at most 400 KB, an entry
// takes about 250 bytes): beyond it the oldest entries are folded even before their day closes.
const MaxManifest = 1000

// MaxDayEntries bounds the entries of one day record, for the same reason.
const MaxDayEntries = 1000

// DayOf is the UTC day of an entry: that of its window's first possible row, as in the archive
// layout.
func DayOf(e Entry) string { return e.Lo.Add(time.Microsecond).UTC().Format("2006-01-02") }

const segmentFormat = "20060102T150405.000000"

// AddEntry records a committed window, replacing the entry of the same window (a heal).
func (p *Progress) AddEntry(e Entry) {
	for i := range p.Manifest {
		if p.Manifest[i].Lo.Equal(e.Lo) && p.Manifest[i].Hi.Equal(e.Hi) {
			p.Manifest[i] = e
			return
		}
	}
	p.Manifest = append(p.Manifest, e)
	sort.SliceStable(p.Manifest, func(i, j int) bool { return p.Manifest[i].Lo.Before(p.Manifest[j].Lo) })
}

// FoldableDays returns the records whose entries may leave Progress, oldest first: the days
// that ended before closedBefore (no pass will look at them again) once the watermark has passed
// them, and, while the manifest holds more than MaxManifest entries, its oldest entries whatever
// their day. Each record holds at most MaxDayEntries entries of one day.
func (p *Progress) FoldableDays(closedBefore time.Time) []Day {
	var out []Day
	over := len(p.Manifest) - MaxManifest
	for i := 0; i < len(p.Manifest); {
		day := DayOf(p.Manifest[i])
		j := i
		for j < len(p.Manifest) && DayOf(p.Manifest[j]) == day {
			j++
		}
		end, _ := time.Parse("2006-01-02", day)
		end = end.AddDate(0, 0, 1)
		closed := !p.Watermark.Before(end.Add(-time.Microsecond)) && !end.After(closedBefore) &&
			(p.Heal == nil || DayOf(Entry{Lo: p.Heal.Window.Lo}) != day)
		n := j - i
		if !closed {
			n = min(n, over)
		}
		if n <= 0 {
			break
		}
		for k := i; k < i+n; k += MaxDayEntries {
			seg := p.Manifest[k:min(k+MaxDayEntries, i+n)]
			d := Day{Cluster: p.Cluster, Table: p.Table, Day: day, Segment: seg[0].Lo.UTC().Format(segmentFormat),
				Entries: append([]Entry(nil), seg...)}
			for _, e := range seg {
				d.Rows += e.Rows
				d.Checksum += e.Checksum
			}
			out = append(out, d)
		}
		over -= n
		if i+n < j {
			break // the rest of an open day stays
		}
		i = j
	}
	return out
}

// RemoveDay drops the entries of a folded record from Progress and counts them.
func (p *Progress) RemoveDay(d Day) {
	folded := make(map[[2]int64]bool, len(d.Entries))
	for _, e := range d.Entries {
		folded[[2]int64{e.Lo.UnixMicro(), e.Hi.UnixMicro()}] = true
	}
	kept := p.Manifest[:0]
	for _, e := range p.Manifest {
		if folded[[2]int64{e.Lo.UnixMicro(), e.Hi.UnixMicro()}] {
			p.Verification.Folded++
			if e.Verified.IsZero() && !e.Unverifiable {
				p.Verification.FoldedUnverified++
			}
			continue
		}
		kept = append(kept, e)
	}
	p.Manifest = kept
}

// RecordHeal adds a committed heal to the totals and the bounded list of recent heals.
func (v *Verification) RecordHeal(h HealRecord) {
	v.HealedWindows++
	if h.RowsAfter > h.RowsBefore {
		v.RowsHealed += h.RowsAfter - h.RowsBefore
	}
	v.Heals = append(v.Heals, h)
	if len(v.Heals) > MaxHealRecords {
		v.Heals = v.Heals[len(v.Heals)-MaxHealRecords:]
	}
}
