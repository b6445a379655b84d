package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/export/state"
)

// runManifest is the part of the suite about the manifest of archived windows: entries, heals
// and verification results travel with the watermark in one conditional write, and closed days
// move to day records that a retry may write again.
func runManifest(t *testing.T, newStore func(t *testing.T) state.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 29, 23, 50, 0, 0, time.UTC)
	entry := func(lo time.Time, rows int64) state.Entry {
		hi := lo.Add(5 * time.Minute)
		return state.Entry{Lo: lo, Hi: hi, Key: fmt.Sprintf("stl_query/cluster=c1/day=%s/%d.parquet", lo.Format("2006-01-02"), lo.Unix()),
			Rows: rows, KeySum: rows * 1000, Checksum: uint64(rows) * 0x9e3779b97f4a7c15}
	}

	t.Run("ManifestHealAndVerificationCommitWithTheWatermark", func(t *testing.T) {
		s := newStore(t)
		p := state.Progress{Cluster: "c1", Table: "stl_query", Watermark: t0}
		p.AddEntry(entry(t0.Add(-5*time.Minute), 3))
		if err := s.Put(ctx, &p); err != nil {
			t.Fatal(err)
		}
		stale := p
		// A heal is recorded conditionally, like a pending window.
		p.Heal = &state.Heal{Window: p.Manifest[0].Window(), RowsBefore: 3, Started: t0}
		if err := s.Put(ctx, &p); err != nil {
			t.Fatal(err)
		}
		stale.Manifest = append([]state.Entry(nil), stale.Manifest...)
		stale.Manifest[0].Rows = 99
		if err := s.Put(ctx, &stale); err == nil {
			t.Fatal("a stale writer replaced the manifest")
		}
		healed := entry(t0.Add(-5*time.Minute), 5)
		healed.Healed = 1
		p.AddEntry(healed)
		p.Heal = nil
		p.Verification.RecordHeal(state.HealRecord{At: t0, Window: healed.Window(), RowsBefore: 3, RowsAfter: 5})
		p.Verification.LateRows, p.Verification.VerifiedUpTo, p.Verification.Unverifiable = 2, t0, 1
		if err := s.Put(ctx, &p); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, "c1", "stl_query")
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Manifest) != 1 || got.Manifest[0].Rows != 5 || got.Manifest[0].Checksum != healed.Checksum ||
			got.Manifest[0].Key != healed.Key || got.Manifest[0].Healed != 1 || got.Heal != nil {
			t.Fatalf("manifest after heal: %+v heal %+v", got.Manifest, got.Heal)
		}
		v := got.Verification
		if v.RowsHealed != 2 || v.HealedWindows != 1 || v.LateRows != 2 || v.Unverifiable != 1 || !v.VerifiedUpTo.Equal(t0) ||
			len(v.Heals) != 1 || v.Heals[0].RowsBefore != 3 || v.Heals[0].RowsAfter != 5 {
			t.Fatalf("verification: %+v", v)
		}
	})

	t.Run("DayRecordsAreIdempotentPerTableAndNotProgress", func(t *testing.T) {
		s := newStore(t)
		if err := s.Put(ctx, &state.Progress{Cluster: "c1", Table: "stl_query"}); err != nil {
			t.Fatal(err)
		}
		d1 := state.Day{Cluster: "c1", Table: "stl_query", Day: "2026-11-29", Segment: "b", Entries: []state.Entry{entry(t0, 3)}, Rows: 3, Checksum: 7}
		d1a := state.Day{Cluster: "c1", Table: "stl_query", Day: "2026-11-29", Segment: "a", Rows: 2}
		d0 := state.Day{Cluster: "c1", Table: "stl_query", Day: "2026-11-28", Segment: "z", Entries: []state.Entry{entry(t0.AddDate(0, 0, -1), 4)}, Rows: 4, Checksum: 8}
		other := state.Day{Cluster: "c1", Table: "stl_querytext", Day: "2026-11-29", Rows: 1}
		prefix := state.Day{Cluster: "c1", Table: "stl_query_x", Day: "2026-11-29", Rows: 1} // a table name with the same start
		for _, d := range []state.Day{d1, d0, d1a, d1, other, prefix} {                      // d1 twice: a retry after a crash
			if err := s.PutDay(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		days, err := s.Days(ctx, "c1", "stl_query")
		if err != nil {
			t.Fatal(err)
		}
		if len(days) != 3 || days[0].Day != "2026-11-28" || days[1].Segment != "a" || days[2].Day != "2026-11-29" || days[2].Rows != 3 ||
			len(days[2].Entries) != 1 || days[2].Entries[0].Checksum != entry(t0, 3).Checksum {
			t.Fatalf("days: %+v", days)
		}
		if none, err := s.Days(ctx, "c2", "stl_query"); err != nil || len(none) != 0 {
			t.Fatalf("days of another cluster: %+v %v", none, err)
		}
		list, err := s.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].Table != "stl_query" {
			t.Fatalf("List shows day records: %+v", list)
		}
	})

	t.Run("AFullManifestFitsOneRecord", func(t *testing.T) {
		// MaxManifest entries with realistic keys must fit in one write (DynamoDB: 400 KB).
		s := newStore(t)
		p := state.Progress{Cluster: "a-cluster-name-of-sixty-characters-xxxxxxxxxxxxxxxxxxxxxxxx", Table: "stl_alert_event_log", Watermark: t0}
		for i := range state.MaxManifest {
			e := entry(t0.Add(-time.Duration(i+1)*time.Minute), int64(i)+1_000_000)
			e.Key = fmt.Sprintf("stl_alert_event_log/cluster=%s/day=2026-11-29/20261129T235000.123456_20261129T235500.123456.parquet", p.Cluster)
			e.Verified, e.Healed = t0, 3
			e.Checksum = ^uint64(0) - uint64(i)
			p.AddEntry(e)
		}
		p.Verification.Heals = make([]state.HealRecord, state.MaxHealRecords)
		if err := s.Put(ctx, &p); err != nil {
			t.Fatalf("put of %d entries: %v", state.MaxManifest, err)
		}
		got, err := s.Get(ctx, p.Cluster, p.Table)
		if err != nil || len(got.Manifest) != state.MaxManifest || got.Manifest[0].Checksum != ^uint64(0)-uint64(state.MaxManifest-1) {
			t.Fatalf("got %d entries, %v", len(got.Manifest), err)
		}
	})

	t.Run("ClosedDaysFoldOutOfProgress", func(t *testing.T) {
		p := state.Progress{Cluster: "c1", Table: "stl_query", Watermark: t0.Add(20 * time.Minute)} // 00:10 next day
		p.AddEntry(entry(t0, 1))                                                                    // 23:50-23:55
		p.AddEntry(entry(t0.Add(5*time.Minute), 2))                                                 // 23:55-00:00
		p.AddEntry(entry(t0.Add(10*time.Minute), 4))                                                // next day
		if got := p.FoldableDays(t0); len(got) != 0 {
			t.Fatalf("folded a day still within the horizon: %+v", got)
		}
		days := p.FoldableDays(t0.Add(time.Hour))
		if len(days) != 1 || days[0].Day != "2026-11-29" || days[0].Rows != 3 || len(days[0].Entries) != 2 ||
			days[0].Checksum != entry(t0, 1).Checksum+entry(t0, 2).Checksum {
			t.Fatalf("foldable: %+v", days)
		}
		p.RemoveDay(days[0])
		if len(p.Manifest) != 1 || p.Verification.Folded != 2 || p.Verification.FoldedUnverified != 2 {
			t.Fatalf("after fold: %+v %+v", p.Manifest, p.Verification)
		}
	})

	t.Run("AManifestOverItsBoundFoldsItsOldestEntriesInBoundedSegments", func(t *testing.T) {
		// A one-second export interval: more windows than one record may hold, none closed.
		p := state.Progress{Cluster: "c1", Table: "stl_query"}
		base := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
		n := state.MaxManifest + state.MaxDayEntries + 10
		for i := range n {
			lo := base.Add(time.Duration(i) * time.Second)
			p.AddEntry(state.Entry{Lo: lo, Hi: lo.Add(time.Second), Rows: 1, Checksum: uint64(i)})
		}
		p.Watermark = base.Add(time.Duration(n) * time.Second)
		days := p.FoldableDays(base) // nothing is closed
		folded := 0
		for _, d := range days {
			if len(d.Entries) > state.MaxDayEntries || d.Day != "2026-11-29" {
				t.Fatalf("segment of %d entries on %s", len(d.Entries), d.Day)
			}
			folded += len(d.Entries)
		}
		if folded != n-state.MaxManifest || len(days) != 2 || days[0].Segment >= days[1].Segment {
			t.Fatalf("folded %d entries in %d segments, want the oldest %d", folded, len(days), n-state.MaxManifest)
		}
		again := p.FoldableDays(base) // a retry before the progress was written folds the same
		if len(again) != 2 || again[0].Segment != days[0].Segment || len(again[1].Entries) != len(days[1].Entries) {
			t.Fatalf("a retry folds differently: %d segments", len(again))
		}
		for _, d := range days {
			p.RemoveDay(d)
		}
		if len(p.Manifest) != state.MaxManifest || !p.Manifest[0].Lo.Equal(base.Add(time.Duration(folded)*time.Second)) {
			t.Fatalf("%d entries left starting at %v", len(p.Manifest), p.Manifest[0].Lo)
		}
		if len(p.FoldableDays(base)) != 0 {
			t.Fatal("a manifest at its bound folds more")
		}
	})
}
