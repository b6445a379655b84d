package export_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/state"
)

// throttledRenewal fails the first renewal of a lease with DynamoDB's throttling error, then
// lets renewals through; renewedAfter is closed by the first renewal that succeeds after it.
type throttledRenewal struct {
	state.Store
	mu           sync.Mutex
	calls        int
	renewedAfter chan struct{}
}

func (s *throttledRenewal) Acquire(ctx context.Context, cluster, owner string, ttl time.Duration) (bool, state.Lease, error) {
	s.mu.Lock()
	s.calls++
	n := s.calls
	s.mu.Unlock()
	if n == 2 { // the first call takes the lease; the second is its first renewal
		return false, state.Lease{}, &smithy.GenericAPIError{Code: "ProvisionedThroughputExceededException",
			Message: "The level of configured provisioned throughput for the table was exceeded."}
	}
	got, lease, err := s.Store.Acquire(ctx, cluster, owner, ttl)
	if n == 3 && err == nil && got {
		close(s.renewedAfter)
	}
	return got, lease, err
}

// TestLeaseRenewalSurvivesATransientErrorWithinTheLease throttles the first renewal of a
// cluster's lease (DynamoDB) while a window is being written: the lease is still valid, so the
// exporter tries again and the cycle completes, archive equal to the source.
func TestLeaseRenewalSurvivesATransientErrorWithinTheLease(t *testing.T) {
	b := newAWSBackend(t)
	c := newSimCluster(t, "lease-east", 1)
	cfg := testConfig(t, t.TempDir(), c.Cfg)
	b.configure(&cfg)
	cfg.Export.Lease = 3 * time.Second
	last := c.History(t, 20*time.Minute)
	waitPastLag(t, c, last)

	store := &throttledRenewal{Store: b.store(t), renewedAfter: make(chan struct{})}
	var once sync.Once
	hook := func(step export.Step, cluster, table string) {
		if step != export.StepWriting {
			return
		}
		once.Do(func() {
			// Hold the window open until the throttled renewal has been followed by a good one.
			select {
			case <-store.renewedAfter:
			case <-time.After(time.Minute):
				t.Error("no renewal succeeded after the throttled one")
			}
		})
	}
	e, err := export.New(cfg, store, b.archive(t), export.Options{Hook: hook})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	for _, r := range e.Cycle(context.Background()) {
		if err := r.Failed(); err != nil {
			t.Fatalf("cycle failed after one throttled renewal: %v", err)
		}
	}
	if store.calls < 3 {
		t.Fatalf("%d lease calls, want the take, the throttled renewal and a good one", store.calls)
	}
	assertArchiveEqualsSource(t, b.download(t), store, c)
}
