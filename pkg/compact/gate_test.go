package compact_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/compact"
	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/state"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/storage"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

func openBolt(t *testing.T) *state.Bolt {
	t.Helper()
	s, err := state.OpenBolt(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// gateCfg is a configuration with verification on, a lag of 10 minutes and a horizon of 24h.
func gateCfg(verify bool) config.Config {
	var cfg config.Config
	cfg.Export.Lag = 10 * time.Minute
	cfg.Export.Verify = config.Verify{Enabled: verify, Horizon: 24 * time.Hour, Interval: time.Hour, Heal: true}
	return cfg
}

func putProgress(t *testing.T, s state.Store, fn func(p *state.Progress)) {
	t.Helper()
	ctx := context.Background()
	p, err := s.Get(ctx, "c1", "stl_query")
	if err != nil {
		t.Fatal(err)
	}
	p.Cluster, p.Table = "c1", "stl_query"
	fn(&p)
	if err := s.Put(ctx, &p); err != nil {
		t.Fatal(err)
	}
}

func TestVerifiedGateClosesADayOnlyPastTheHorizonWithNothingToHeal(t *testing.T) {
	ctx := context.Background()
	s := openBolt(t)
	end := day1.AddDate(0, 0, 1)
	w1 := state.Entry{Lo: day1, Hi: day1.Add(time.Hour), Key: "k1", Rows: 3}
	w2 := state.Entry{Lo: day1.Add(time.Hour), Hi: day1.Add(2 * time.Hour), Key: "k2", Rows: 4}
	putProgress(t, s, func(p *state.Progress) {
		p.Watermark = end.Add(2 * time.Hour)
		p.AddEntry(w1)
		p.AddEntry(w2)
	})
	now := end.Add(time.Hour) // watermark gate holds, the horizon does not
	cfg := gateCfg(true)
	gate := compact.GateOf(cfg, s)
	vg, ok := gate.(compact.VerifiedGate)
	if !ok {
		t.Fatalf("verification on: gate %T, want VerifiedGate", gate)
	}
	vg.Now = func() time.Time { return now }
	closed := func() bool {
		t.Helper()
		ok, err := vg.Closed(ctx, "stl_query", "c1", day1)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if ok, _ := (compact.WatermarkGate{Store: s, Lag: cfg.Export.Lag}).Closed(ctx, "stl_query", "c1", day1); !ok {
		t.Fatal("watermark gate should hold")
	}
	if closed() {
		t.Fatal("a day within the verify horizon was closed")
	}
	// Past end + horizon + lag: closed.
	now = end.Add(24*time.Hour + 10*time.Minute)
	if !closed() {
		t.Fatal("a day past the horizon with nothing to heal stayed open")
	}
	// A heal pending in the day keeps it open.
	putProgress(t, s, func(p *state.Progress) {
		p.Heal = &state.Heal{Window: w2.Window(), RowsBefore: w2.Rows}
	})
	if closed() {
		t.Fatal("a day with a heal pending was closed")
	}
	putProgress(t, s, func(p *state.Progress) { p.Heal = nil })
	// A window a pass left differing keeps it open, in the manifest...
	putProgress(t, s, func(p *state.Progress) {
		d := w2
		d.Differs, d.Seen = true, 5
		p.AddEntry(d)
	})
	if closed() {
		t.Fatal("a day with a window left differing in the manifest was closed")
	}
	// ...and in a day record once folded.
	putProgress(t, s, func(p *state.Progress) {
		days := p.FoldableDays(now)
		if len(days) != 1 || days[0].Day != "2026-03-01" {
			t.Fatalf("foldable days %+v", days)
		}
		if err := s.PutDay(ctx, days[0]); err != nil {
			t.Fatal(err)
		}
		p.RemoveDay(days[0])
	})
	if p, _ := s.Get(ctx, "c1", "stl_query"); len(p.Manifest) != 0 {
		t.Fatalf("manifest not folded: %+v", p.Manifest)
	}
	if closed() {
		t.Fatal("a day with a window left differing in its day record was closed")
	}
	// The next day, its record clean, closes; the differing day does not.
	next := day1.AddDate(0, 0, 1)
	if err := s.PutDay(ctx, state.Day{Cluster: "c1", Table: "stl_query", Day: "2026-03-02", Segment: "a",
		Entries: []state.Entry{{Lo: next, Hi: next.Add(time.Hour), Rows: 1, Verified: next}}}); err != nil {
		t.Fatal(err)
	}
	putProgress(t, s, func(p *state.Progress) { p.Watermark = next.AddDate(0, 0, 1).Add(time.Hour) })
	now = next.AddDate(0, 0, 3)
	vg.Now = func() time.Time { return now }
	if ok, err := vg.Closed(ctx, "stl_query", "c1", next); err != nil || !ok {
		t.Fatalf("a clean day past the horizon: closed %v, %v", ok, err)
	}
	if closed() {
		t.Fatal("the differing day closed")
	}
	// The watermark short of the day's end keeps it open whatever the clock says.
	putProgress(t, s, func(p *state.Progress) { p.Watermark = next.Add(time.Hour) })
	if ok, _ := vg.Closed(ctx, "stl_query", "c1", next); ok {
		t.Fatal("a day the watermark has not passed was closed")
	}
}

func TestGateOfWithoutVerificationIsTheWatermarkGate(t *testing.T) {
	s := openBolt(t)
	if g, ok := compact.GateOf(gateCfg(false), s).(compact.WatermarkGate); !ok || g.Lag != 10*time.Minute {
		t.Fatalf("verification off: gate %#v", compact.GateOf(gateCfg(false), s))
	}
}

// TestADayLeftDifferingStaysAsItIsAndHoldsBackNoOther runs the compactor with the verified gate
// over three days: the oldest, with a window a pass left differing, keeps its windows (a heal can
// still reach readers); the two later ones are compacted.
func TestADayLeftDifferingStaysAsItIsAndHoldsBackNoOther(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	a := storage.Local{Root: root}
	for i := range 3 {
		writeWindows(t, a, "c1", day1.AddDate(0, 0, i), 3, 10, uint64(i+1))
	}
	s := openBolt(t)
	putProgress(t, s, func(p *state.Progress) {
		p.Watermark = day1.AddDate(0, 0, 3).Add(time.Hour)
		p.AddEntry(state.Entry{Lo: day1.Add(time.Hour), Hi: day1.Add(2 * time.Hour), Rows: 5, Seen: 7, Differs: true})
		p.AddEntry(state.Entry{Lo: day1.AddDate(0, 0, 1), Hi: day1.AddDate(0, 0, 1).Add(time.Hour), Rows: 5, Verified: day1})
	})
	now := day1.AddDate(0, 0, 5)
	gate := compact.GateOf(gateCfg(true), s).(compact.VerifiedGate)
	gate.Now = func() time.Time { return now }
	c := compact.New(a, gate, compact.Options{Now: func() time.Time { return now }})
	res := c.Cluster(ctx, "c1", []tables.Table{stlQuery(t)}, nil)
	if err := res.Failed(); err != nil {
		t.Fatal(err)
	}
	var days []string
	for _, d := range res.Tables[0].Compacted {
		days = append(days, d.Day)
	}
	if got := fmt.Sprint(days); got != "[2026-03-02 2026-03-03]" {
		t.Errorf("compacted %s, want the two days after the differing one", got)
	}
	st, err := c.Status(ctx, "stl_query", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Days) != 3 || st.Days[0].State != "windows" || st.Days[0].Objects != 3 || st.Days[1].State != "compacted" {
		t.Errorf("status: %+v", st.Days)
	}
	// Once a pass finds the window equal (or heals it), the day closes.
	putProgress(t, s, func(p *state.Progress) {
		p.Manifest[0].Differs, p.Manifest[0].Seen, p.Manifest[0].Verified = false, 0, now
	})
	res = c.Cluster(ctx, "c1", []tables.Table{stlQuery(t)}, nil)
	if err := res.Failed(); err != nil || len(res.Tables[0].Compacted) != 1 || res.Tables[0].Compacted[0].Day != "2026-03-01" {
		t.Errorf("after the difference was resolved: %+v, %v", res.Tables[0].Compacted, err)
	}
}
