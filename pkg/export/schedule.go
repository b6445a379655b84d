package export

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"time"
)

// Cycle runs one cycle on every cluster, at most Concurrency at a time, and returns the results
// in configuration order.
func (e *Exporter) Cycle(ctx context.Context) []Result {
	out := make([]Result, len(e.order))
	sem := make(chan struct{}, max(1, e.cfg.Concurrency))
	var wg sync.WaitGroup
	for i, c := range e.order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				out[i] = Result{Cluster: c.Name, Err: fmt.Errorf("cluster %s: %w", c.Name, ctx.Err())}
				return
			}
			defer func() { <-sem }()
			out[i] = e.ExportCluster(ctx, c.Name)
		}()
	}
	wg.Wait()
	return out
}

// Run exports every cluster on the configured interval until ctx is done. Each cluster keeps
// its own timer: a slow or failing cluster never delays another. A failing cluster is retried
// with exponential backoff, from one interval up to maxBackoff.
func (e *Exporter) Run(ctx context.Context) {
	sem := make(chan struct{}, max(1, e.cfg.Concurrency))
	var wg sync.WaitGroup
	for _, c := range e.order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.loop(ctx, c.Name, sem)
		}()
	}
	wg.Wait()
}

const maxBackoff = 30 * time.Minute

func (e *Exporter) loop(ctx context.Context, cluster string, sem chan struct{}) {
	// Spread the first cycles so that many clusters do not start at the same instant.
	delay := e.jitter()
	failures := 0
	for {
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		res := e.ExportCluster(ctx, cluster)
		<-sem
		if ctx.Err() != nil {
			return
		}
		if e.opts.OnResult != nil {
			e.opts.OnResult(res)
		}
		if res.Failed() != nil {
			failures++
			delay = min(e.cfg.Interval<<min(failures-1, 16), max(maxBackoff, e.cfg.Interval))
		} else {
			failures = 0
			delay = e.cfg.Interval + e.jitter()
		}
	}
}

func (e *Exporter) jitter() time.Duration {
	if e.cfg.Jitter <= 0 {
		return 0
	}
	return rand.N(e.cfg.Jitter)
}

func defaultOwner() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%d", host, os.Getpid(), rand.Uint32())
}
