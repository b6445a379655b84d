package export

import (
	"context"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/export/state"
)

// TableStatus is the export state of one (cluster, table), as status and health report it.
type TableStatus struct {
	Cluster   string        `json:"cluster"`
	Table     string        `json:"table"`
	Watermark *time.Time    `json:"watermark"`
	Lag       time.Duration `json:"-"`
	// LagSeconds is how far the archive is behind now; -1 before the first export.
	LagSeconds  float64       `json:"lagSeconds"`
	Rows        int64         `json:"rows"`
	Objects     int64         `json:"objects"`
	Pending     *state.Window `json:"pending,omitempty"`
	LastSuccess *time.Time    `json:"lastSuccess,omitempty"`
	LastError   string        `json:"lastError,omitempty"`
	Gaps        []state.Gap   `json:"gaps"`
	// Verification is what the verification passes found (see state.Verification).
	Verification VerifyStatus `json:"verification"`
}

// VerifyStatus is the verification state of one (cluster, table) as status shows it.
type VerifyStatus struct {
	// VerifiedUpTo is the end of the newest window verified equal to the source, with no
	// unhealed difference before it; nil before the first pass.
	VerifiedUpTo  *time.Time `json:"verifiedUpTo"`
	LastPass      *time.Time `json:"lastPass,omitempty"`
	LateRows      int64      `json:"lateRows"`
	RowsHealed    int64      `json:"rowsHealed"`
	HealedWindows int64      `json:"healedWindows"`
	Unverifiable  int64      `json:"unverifiable"`
	Differs       int        `json:"differs"`
	// Unhealable is the part of Differs in compacted or retired days, which no heal can reach.
	Unhealable           int                `json:"unhealable"`
	LastPassLateRows     int64              `json:"lastPassLateRows"`
	LastPassUnverifiable int                `json:"lastPassUnverifiable"`
	HealPending          *state.Window      `json:"healPending,omitempty"`
	Heals                []state.HealRecord `json:"heals"`
	// ManifestEntries is the number of windows in the manifest not yet folded into day records.
	ManifestEntries int `json:"manifestEntries"`
	// Unplaced is what the last pass counted on the source that no window can hold: rows with a
	// NULL time, child rows without a parent row that has one. They are not in the archive.
	Unplaced  state.Unplaced `json:"unplaced"`
	LastError string         `json:"lastError,omitempty"`
}

func verifyStatus(p state.Progress) VerifyStatus {
	v := p.Verification
	s := VerifyStatus{LateRows: v.LateRows, RowsHealed: v.RowsHealed, HealedWindows: v.HealedWindows,
		Unverifiable: v.Unverifiable, Differs: v.Differs, Unhealable: v.Unhealable, LastPassLateRows: v.LastPassLateRows,
		LastPassUnverifiable: v.LastPassUnverifiable, Heals: v.Heals, ManifestEntries: len(p.Manifest), LastError: v.LastError, Unplaced: p.Unplaced}
	if s.Heals == nil {
		s.Heals = []state.HealRecord{}
	}
	if !v.VerifiedUpTo.IsZero() {
		t := v.VerifiedUpTo
		s.VerifiedUpTo = &t
	}
	if !v.LastPass.IsZero() {
		t := v.LastPass
		s.LastPass = &t
	}
	if p.Heal != nil {
		w := p.Heal.Window
		s.HealPending = &w
	}
	return s
}

// Status reads the state of every (cluster, table) in the store.
func Status(ctx context.Context, store state.Store, now time.Time) ([]TableStatus, error) {
	list, err := store.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]TableStatus, 0, len(list))
	for _, p := range list {
		s := TableStatus{Cluster: p.Cluster, Table: p.Table, Rows: p.Rows, Objects: p.Objects,
			Pending: p.Pending, LastError: p.LastError, Gaps: p.Gaps, LagSeconds: -1}
		s.Verification = verifyStatus(p)
		if s.Gaps == nil {
			s.Gaps = []state.Gap{}
		}
		if !p.Watermark.IsZero() {
			w := p.Watermark
			s.Watermark = &w
			s.Lag = now.Sub(w)
			s.LagSeconds = s.Lag.Seconds()
		}
		if !p.LastSuccess.IsZero() {
			t := p.LastSuccess
			s.LastSuccess = &t
		}
		out = append(out, s)
	}
	return out, nil
}
