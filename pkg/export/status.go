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
