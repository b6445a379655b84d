package export

import (
	"context"
	"fmt"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/state"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// addEntry records a committed window in the manifest of p, to be written by the commit that
// moves the watermark, and folds the days no pass will look at again into day records first.
// A day record is written before its entries leave Progress, and again if that write is lost to
// a conflict or a crash: the record of a day is the same each time.
func (e *Exporter) addEntry(ctx context.Context, p *state.Progress, t tables.Table, w state.Window, d *digest) error {
	en := state.Entry{Lo: w.Lo, Hi: w.Hi}
	if d != nil {
		en.Rows, en.KeySum, en.Checksum = d.rows, d.keySum, d.checksum
		if d.rows > 0 {
			en.Key = tables.ObjectKey(t.Name, p.Cluster, w.Lo, w.Hi)
		}
	}
	p.AddEntry(en)
	return e.fold(ctx, p)
}

// fold moves the closed days beyond the verification horizon out of p into day records.
func (e *Exporter) fold(ctx context.Context, p *state.Progress) error {
	for _, d := range p.FoldableDays(time.Now().UTC().Add(-e.verifyHorizon())) {
		if err := e.store.PutDay(ctx, d); err != nil {
			return fmt.Errorf("fold manifest of %s: %w", d.Day, err)
		}
		p.RemoveDay(d)
	}
	return nil
}

func (e *Exporter) verifyHorizon() time.Duration {
	if e.cfg.Verify.Horizon <= 0 {
		return config.DefaultVerifyHorizon
	}
	return e.cfg.Verify.Horizon + e.cfg.Lag
}
