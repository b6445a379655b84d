package compact

import (
	"context"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/state"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// VerifiedGate is the DayGate when verification runs: a heal rewrites a window under its day's
// plain path, which readers of a compacted day no longer read, so a day closes only once no pass
// will heal into it. That is: the WatermarkGate holds, the day ended more than the verify
// horizon and the lag ago (the scheduled pass no longer looks at it), no heal is pending in the
// day, and no window of the day, in the manifest or the day records, was left differing from
// the source by the last pass that saw it.
type VerifiedGate struct {
	Watermark WatermarkGate
	// Horizon is the verify horizon (config export.verify.horizon).
	Horizon time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// GateOf returns the DayGate of a configuration: VerifiedGate when verification is enabled,
// else WatermarkGate.
func GateOf(cfg config.Config, store state.Store) DayGate {
	wg := WatermarkGate{Store: store, Lag: cfg.Export.Lag}
	if !cfg.Export.Verify.Enabled {
		return wg
	}
	h := cfg.Export.Verify.Horizon
	if h <= 0 {
		h = config.DefaultVerifyHorizon
	}
	return VerifiedGate{Watermark: wg, Horizon: h}
}

// Closed implements DayGate.
func (g VerifiedGate) Closed(ctx context.Context, table, cluster string, day time.Time) (bool, error) {
	now := time.Now
	if g.Now != nil {
		now = g.Now
	}
	end := tables.DayEnd(day)
	if now().Before(end.Add(g.Horizon + g.Watermark.Lag)) {
		return false, nil
	}
	ok, err := g.Watermark.Closed(ctx, table, cluster, day)
	if err != nil || !ok {
		return false, err
	}
	p, err := g.Watermark.Store.Get(ctx, cluster, table)
	if err != nil {
		return false, err
	}
	name := end.Format(tables.DayFormat)
	if p.Heal != nil && state.DayOf(state.Entry{Lo: p.Heal.Window.Lo}) == name {
		return false, nil
	}
	if differs(p.Manifest, name) {
		return false, nil
	}
	days, err := g.Watermark.Store.Days(ctx, cluster, table)
	if err != nil {
		return false, err
	}
	for _, d := range days {
		if d.Day == name && differs(d.Entries, name) {
			return false, nil
		}
	}
	return true, nil
}

// differs reports whether an entry of day was left differing from the source.
func differs(entries []state.Entry, day string) bool {
	for _, e := range entries {
		// Seen without Differs: a state written before Differs existed. A window the source no
		// longer holds can be healed no more and holds nothing back.
		if (e.Differs || (e.Seen > 0 && !e.Unverifiable)) && state.DayOf(e) == day {
			return true
		}
	}
	return false
}
