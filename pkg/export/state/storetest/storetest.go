// Package storetest is the behaviour every state.Store must have, written once as a test suite
// and run against each implementation (bbolt, DynamoDB): conditional writes that conflict on a
// stale version, a sorted listing, and leases that are exclusive, expire, renew and release.
package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/export/state"
)

// Run runs the suite; newStore returns an empty store for each subtest.
func Run(t *testing.T, newStore func(t *testing.T) state.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 29, 10, 0, 0, 123456000, time.UTC)
	runManifest(t, newStore)

	t.Run("GetOfAnUnknownTableIsVersionZero", func(t *testing.T) {
		s := newStore(t)
		p, err := s.Get(ctx, "c1", "stl_query")
		if err != nil {
			t.Fatal(err)
		}
		if p.Version != 0 || p.Cluster != "c1" || p.Table != "stl_query" || !p.Watermark.IsZero() || p.Pending != nil {
			t.Fatalf("got %+v", p)
		}
	})

	t.Run("PutThenGetRoundTripsEveryField", func(t *testing.T) {
		s := newStore(t)
		p := state.Progress{Cluster: "c1", Table: "stl_scan", Watermark: t0,
			Pending: &state.Window{Lo: t0, Hi: t0.Add(5 * time.Minute)}, Rows: 42, Objects: 3, LastRows: 7,
			LastAttempt: t0.Add(time.Minute), LastSuccess: t0, LastError: "boom",
			Gaps: []state.Gap{{From: t0.Add(-time.Hour), To: t0, Detected: t0}}}
		if err := s.Put(ctx, &p); err != nil {
			t.Fatal(err)
		}
		if p.Version != 1 {
			t.Fatalf("version after first put = %d, want 1", p.Version)
		}
		got, err := s.Get(ctx, "c1", "stl_scan")
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != 1 || !got.Watermark.Equal(t0) || got.Pending == nil || !got.Pending.Hi.Equal(t0.Add(5*time.Minute)) ||
			got.Rows != 42 || got.Objects != 3 || got.LastRows != 7 || got.LastError != "boom" ||
			!got.LastAttempt.Equal(t0.Add(time.Minute)) || len(got.Gaps) != 1 || !got.HasGapAt(t0.Add(-time.Hour)) {
			t.Fatalf("got %+v", got)
		}
		got.Pending, got.Watermark = nil, t0.Add(5*time.Minute)
		if err := s.Put(ctx, &got); err != nil {
			t.Fatal(err)
		}
		again, err := s.Get(ctx, "c1", "stl_scan")
		if err != nil {
			t.Fatal(err)
		}
		if again.Version != 2 || again.Pending != nil || !again.Watermark.Equal(t0.Add(5*time.Minute)) {
			t.Fatalf("after commit got %+v", again)
		}
	})

	t.Run("PutWithAStaleVersionConflicts", func(t *testing.T) {
		s := newStore(t)
		a := state.Progress{Cluster: "c1", Table: "stl_query", Watermark: t0}
		if err := s.Put(ctx, &a); err != nil {
			t.Fatal(err)
		}
		created := state.Progress{Cluster: "c1", Table: "stl_query", Watermark: t0.Add(time.Hour)}
		if err := s.Put(ctx, &created); !errors.Is(err, state.ErrConflict) {
			t.Fatalf("second create: %v, want ErrConflict", err)
		}
		stale := a // read at version 1
		a.Watermark = t0.Add(time.Minute)
		if err := s.Put(ctx, &a); err != nil {
			t.Fatal(err)
		}
		stale.Watermark = t0.Add(-time.Hour)
		if err := s.Put(ctx, &stale); !errors.Is(err, state.ErrConflict) {
			t.Fatalf("stale put: %v, want ErrConflict", err)
		}
		if stale.Version != 1 {
			t.Fatalf("a failed put changed the version to %d", stale.Version)
		}
		got, err := s.Get(ctx, "c1", "stl_query")
		if err != nil {
			t.Fatal(err)
		}
		if !got.Watermark.Equal(t0.Add(time.Minute)) || got.Version != 2 {
			t.Fatalf("a stale writer moved the record: %+v", got)
		}
	})

	t.Run("ConcurrentWritersFromOneVersionExactlyOneWins", func(t *testing.T) {
		s := newStore(t)
		base := state.Progress{Cluster: "c1", Table: "stl_wlm_query"}
		if err := s.Put(ctx, &base); err != nil {
			t.Fatal(err)
		}
		const writers = 8
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for i := range writers {
			wg.Go(func() {
				p := base
				p.Rows = int64(i)
				errs <- s.Put(ctx, &p)
			})
		}
		wg.Wait()
		close(errs)
		won := 0
		for err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, state.ErrConflict):
				t.Fatal(err)
			}
		}
		if won != 1 {
			t.Fatalf("%d writers succeeded from the same version, want 1", won)
		}
	})

	t.Run("ListIsSortedByClusterAndTableWithoutLeases", func(t *testing.T) {
		s := newStore(t)
		if _, _, err := s.Acquire(ctx, "b", "owner", time.Minute); err != nil {
			t.Fatal(err)
		}
		for _, k := range [][2]string{{"b", "stl_scan"}, {"a", "stl_query"}, {"b", "stl_alert_event_log"}, {"a", "stl_explain"}} {
			if err := s.Put(ctx, &state.Progress{Cluster: k[0], Table: k[1]}); err != nil {
				t.Fatal(err)
			}
		}
		list, err := s.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range list {
			got = append(got, p.Cluster+"/"+p.Table)
		}
		want := []string{"a/stl_explain", "a/stl_query", "b/stl_alert_event_log", "b/stl_scan"}
		if len(got) != len(want) {
			t.Fatalf("List = %v, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("List = %v, want %v", got, want)
			}
		}
	})

	t.Run("LeaseIsExclusiveUntilItExpires", func(t *testing.T) {
		s := newStore(t)
		ok, l, err := s.Acquire(ctx, "c1", "replica-a", time.Hour)
		if err != nil || !ok || l.Owner != "replica-a" {
			t.Fatalf("first acquire: %v %+v %v", ok, l, err)
		}
		ok, l, err = s.Acquire(ctx, "c1", "replica-b", time.Hour)
		if err != nil || ok {
			t.Fatalf("second owner acquired a held lease: %v %v", ok, err)
		}
		if l.Owner != "replica-a" || time.Until(l.Expires) < 50*time.Minute {
			t.Fatalf("refusal reports lease %+v, want replica-a's", l)
		}
		// Another cluster's lease is independent.
		if ok, _, err := s.Acquire(ctx, "c2", "replica-b", time.Hour); err != nil || !ok {
			t.Fatalf("lease of another cluster: %v %v", ok, err)
		}
	})

	t.Run("ExpiredLeasePassesToAnotherOwner", func(t *testing.T) {
		s := newStore(t)
		ok, crashed, err := s.Acquire(ctx, "c1", "crashed", 50*time.Millisecond)
		if err != nil || !ok {
			t.Fatalf("acquire: %v %v", ok, err)
		}
		sleepPast(crashed.Expires)
		ok, l, err := s.Acquire(ctx, "c1", "survivor", time.Minute)
		if err != nil || !ok || l.Owner != "survivor" {
			t.Fatalf("takeover of an expired lease: %v %+v %v", ok, l, err)
		}
	})

	t.Run("RenewalExtendsTheOwnersLease", func(t *testing.T) {
		s := newStore(t)
		ok, first, err := s.Acquire(ctx, "c1", "a", 200*time.Millisecond)
		if err != nil || !ok {
			t.Fatalf("acquire: %v %v", ok, err)
		}
		ok, l, err := s.Acquire(ctx, "c1", "a", time.Hour)
		if err != nil || !ok || time.Until(l.Expires) < 50*time.Minute {
			t.Fatalf("renewal: %v %+v %v", ok, l, err)
		}
		sleepPast(first.Expires) // past the first expiry, not the renewed one
		if ok, _, err := s.Acquire(ctx, "c1", "b", time.Hour); err != nil || ok {
			t.Fatalf("another owner took a renewed lease: %v %v", ok, err)
		}
	})

	t.Run("ReleaseFreesOnlyTheOwnersLease", func(t *testing.T) {
		s := newStore(t)
		if ok, _, err := s.Acquire(ctx, "c1", "a", time.Hour); err != nil || !ok {
			t.Fatalf("acquire: %v %v", ok, err)
		}
		if err := s.Release(ctx, "c1", "b"); err != nil {
			t.Fatalf("release by a non-owner: %v", err)
		}
		if ok, _, err := s.Acquire(ctx, "c1", "b", time.Hour); err != nil || ok {
			t.Fatalf("a non-owner's release freed the lease: %v %v", ok, err)
		}
		if err := s.Release(ctx, "c1", "a"); err != nil {
			t.Fatal(err)
		}
		if ok, _, err := s.Acquire(ctx, "c1", "b", time.Hour); err != nil || !ok {
			t.Fatalf("after release: %v %v", ok, err)
		}
		if err := s.Release(ctx, "c9", "a"); err != nil {
			t.Fatalf("release of a lease never taken: %v", err)
		}
	})

	t.Run("ConcurrentAcquirersExactlyOneWins", func(t *testing.T) {
		s := newStore(t)
		const owners = 8
		var wg sync.WaitGroup
		wins := make(chan bool, owners)
		for i := range owners {
			wg.Go(func() {
				ok, _, err := s.Acquire(ctx, "c1", string(rune('a'+i)), time.Hour)
				if err != nil {
					t.Error(err)
				}
				wins <- ok
			})
		}
		wg.Wait()
		close(wins)
		n := 0
		for ok := range wins {
			if ok {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d owners hold the lease, want 1", n)
		}
	})
}

// sleepPast waits until the clock is past t, a lease's expiry, which the stores keep to the
// millisecond: a lease is expired from then on, however long the calls before took.
func sleepPast(t time.Time) {
	time.Sleep(time.Until(t) + 2*time.Millisecond)
}
