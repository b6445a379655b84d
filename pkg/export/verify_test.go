package export_test

import (
	"context"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/archivetest"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/simtest"
	"github.com/stlarchive/redshift-stl-archive/pkg/sim"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// TestLateRowsBehindTheWatermarkAreFoundAndHealed appends rows to every table behind the
// watermark (later than the lag) while the simulator runs: the next pass reports them per table,
// re-exports their windows, and the archive then equals the source row for row.
func TestLateRowsBehindTheWatermarkAreFoundAndHealed(t *testing.T) {
	c := newSimCluster(t, "heal", 2)
	root := t.TempDir()
	e := openExporter(t, testConfig(t, root, c.Cfg), export.Options{})
	ctx := context.Background()
	last := c.History(t, time.Hour)
	waitPastLag(t, c, last)
	stop := c.Run(t)
	mustCycle(t, e)
	mustCycle(t, e)

	// A clean archive verifies equal, with one statement per table.
	clean := e.VerifyCluster(ctx, "heal", export.VerifyOptions{Heal: true})
	if clean.Err != nil || clean.Differs() {
		t.Fatalf("first pass: %+v", clean)
	}
	if clean.Queries != int64(len(tables.Names())) {
		t.Errorf("a pass with nothing to heal sent %d statements, want one per table (%d)", clean.Queries, len(tables.Names()))
	}
	for _, tv := range clean.Tables {
		if tv.Windows == 0 || tv.Equal != tv.Windows || tv.LateRows != 0 {
			t.Errorf("%s: first pass %+v", tv.Table, tv)
		}
	}

	p, err := e.Store().Get(ctx, "heal", "stl_query")
	if err != nil {
		t.Fatal(err)
	}
	reader := c.Connect(t)
	before := simtest.SourceCounts(t, reader, p.Watermark)
	c.AppendLate(t, p.Watermark.Add(-40*time.Minute), p.Watermark.Add(-25*time.Minute))
	// The late rows an export must archive: the exporter's own queries among them stay out.
	added := simtest.SourceCounts(t, reader, p.Watermark)
	for name := range added {
		if added[name] -= before[name]; added[name] == 0 {
			t.Fatalf("no late rows appended to %s", name)
		}
	}
	res := e.VerifyCluster(ctx, "heal", export.VerifyOptions{Heal: true})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	for _, tv := range res.Tables {
		if tv.Err != nil {
			t.Fatalf("%s: %v", tv.Table, tv.Err)
		}
		if tv.LateRows != added[tv.Table] || tv.RowsHealed != added[tv.Table] || tv.Healed == 0 || tv.Differs != 0 {
			t.Errorf("%s: pass found %d late rows and healed %d in %d windows (differs %d), want %d",
				tv.Table, tv.LateRows, tv.RowsHealed, tv.Healed, tv.Differs, added[tv.Table])
		}
		p, err := e.Store().Get(ctx, "heal", tv.Table)
		if err != nil {
			t.Fatal(err)
		}
		v := p.Verification
		if p.Heal != nil || v.RowsHealed != added[tv.Table] || v.LateRows != added[tv.Table] || int(v.HealedWindows) != tv.Healed ||
			len(v.Heals) != tv.Healed || v.VerifiedUpTo.IsZero() {
			t.Errorf("%s: recorded %+v", tv.Table, v)
		}
	}
	if res.Differs() {
		t.Fatalf("the archive still differs after healing: %+v", res)
	}
	// The healed windows now verify equal, row for row.
	deep := e.VerifyCluster(ctx, "heal", export.VerifyOptions{Deep: true})
	if deep.Differs() {
		t.Fatalf("deep pass after healing: %+v", deep)
	}
	for _, tv := range deep.Tables {
		if tv.Equal != tv.Windows || tv.LateRows != 0 {
			t.Errorf("%s: deep pass %+v", tv.Table, tv)
		}
	}
	stop()
	waitPastLag(t, c, c.SourceNow(t))
	mustCycle(t, e)
	assertArchiveEqualsSource(t, root, e.Store(), c)
}

// TestWindowsTheSourceNoLongerHoldsAreUnverifiableNotChanged deletes the older half of the
// source's history, as STL retention does: those windows are reported unverifiable, nothing is
// healed, and the archive keeps every row it had.
func TestWindowsTheSourceNoLongerHoldsAreUnverifiableNotChanged(t *testing.T) {
	c := newSimCluster(t, "retain", 2)
	root := t.TempDir()
	e := openExporter(t, testConfig(t, root, c.Cfg), export.Options{MaxWindow: 10 * time.Minute})
	ctx := context.Background()
	last := c.History(t, time.Hour)
	waitPastLag(t, c, last)
	mustCycle(t, e)
	before, err := archivetest.ReadArchive(root, "stl_query", "retain", []string{"query"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.DeleteOlderThan(ctx, c.Conn, last.Add(-30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	res := e.VerifyCluster(ctx, "retain", export.VerifyOptions{Heal: true})
	if res.Err != nil || res.Differs() {
		t.Fatalf("pass: %+v", res)
	}
	for _, tv := range res.Tables {
		if tv.Unverifiable == 0 || tv.Equal == 0 || tv.Healed != 0 || tv.LateRows != 0 || tv.Differs != 0 {
			t.Errorf("%s: %+v, want the old windows unverifiable and the recent ones equal", tv.Table, tv)
		}
		for _, ch := range tv.Checks {
			if ch.Verdict != export.VerdictUnverifiable {
				t.Errorf("%s: window %v %s", tv.Table, ch.Window, ch.Verdict)
			}
		}
		p, err := e.Store().Get(ctx, "retain", tv.Table)
		if err != nil {
			t.Fatal(err)
		}
		if p.Verification.LastPassUnverifiable != tv.Unverifiable || p.Verification.Unverifiable != int64(tv.Unverifiable) {
			t.Errorf("%s: recorded %+v", tv.Table, p.Verification)
		}
	}
	after, err := archivetest.ReadArchive(root, "stl_query", "retain", []string{"query"})
	if err != nil {
		t.Fatal(err)
	}
	if !after.Equal(before) {
		t.Errorf("the pass changed the archive: %s", archivetest.Diff(after, before))
	}
	// A second pass counts the same windows once in the totals.
	e.VerifyCluster(ctx, "retain", export.VerifyOptions{Heal: true})
	p, _ := e.Store().Get(ctx, "retain", "stl_query")
	if p.Verification.Unverifiable != int64(res.Tables[0].Unverifiable) {
		t.Errorf("unverifiable windows counted again: %d, want %d", p.Verification.Unverifiable, res.Tables[0].Unverifiable)
	}
}
