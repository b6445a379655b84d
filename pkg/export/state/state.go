// Package state keeps the exporter's progress: per (cluster, table) the watermark, the pending
// window being written, counters and gaps; and per cluster the lease that lets exactly one
// exporter work on it. Every write is conditional on the version the writer read, so a stale
// writer fails instead of moving a watermark backwards. It knows nothing of Redshift or Parquet.
package state

import (
	"context"
	"errors"
	"time"
)

// ErrConflict is returned by a conditional write whose expected version no longer holds: another
// exporter wrote the record since it was read.
var ErrConflict = errors.New("state: record changed since it was read")

// Window is the half-open time range (Lo, Hi] of one export.
type Window struct {
	Lo time.Time `json:"lo"`
	Hi time.Time `json:"hi"`
}

// Gap is a stretch of history that was deleted on the source before it was exported.
type Gap struct {
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Detected time.Time `json:"detected"`
}

// Progress is the state of one (cluster, table).
type Progress struct {
	Cluster string `json:"cluster"`
	Table   string `json:"table"`
	// Watermark is the exclusive lower bound of the next window: every row up to it is archived.
	// Zero until the first window commits.
	Watermark time.Time `json:"watermark"`
	// Pending is the window being written, if any. A restart redoes exactly this window.
	Pending *Window `json:"pending,omitempty"`
	// Rows and Objects count what was archived, in total.
	Rows    int64 `json:"rows"`
	Objects int64 `json:"objects"`
	// LastRows is the row count of the last committed window.
	LastRows int64 `json:"lastRows"`
	// LastAttempt and LastSuccess are the times of the last export attempt and success.
	LastAttempt time.Time `json:"lastAttempt"`
	LastSuccess time.Time `json:"lastSuccess"`
	// LastError is the error of the last attempt, empty after a success.
	LastError string `json:"lastError,omitempty"`
	Gaps      []Gap  `json:"gaps,omitempty"`
	// Manifest lists the committed windows not yet folded into their day's record, oldest
	// first. It is written by the same conditional write that moves the watermark.
	Manifest []Entry `json:"manifest,omitempty"`
	// Heal is the window being re-exported because its source rows changed, if any. A restart
	// redoes exactly this heal before anything else.
	Heal *Heal `json:"heal,omitempty"`
	// Verification is what the verification passes found.
	Verification Verification `json:"verification"`
	// Unplaced is what the last verification pass counted on the source that no window holds.
	Unplaced Unplaced `json:"unplaced,omitzero"`
	// Version counts writes. A conditional write succeeds only when it still matches.
	Version int64 `json:"version"`
}

// Lease is the right of one exporter (Owner) to export a cluster until Expires.
type Lease struct {
	Cluster string    `json:"cluster"`
	Owner   string    `json:"owner"`
	Expires time.Time `json:"expires"`
}

// Store holds progress and leases.
type Store interface {
	// Get returns the progress of (cluster, table); a zero Progress (Version 0) when none.
	Get(ctx context.Context, cluster, table string) (Progress, error)
	// Put stores p if the stored version still equals p.Version (0: absent), then sets
	// p.Version to the new version. ErrConflict otherwise.
	Put(ctx context.Context, p *Progress) error
	// List returns the progress of every (cluster, table), sorted by cluster and table.
	List(ctx context.Context) ([]Progress, error)
	// PutDay stores the manifest of one closed day, replacing any record of the same day: the
	// entries are the same when it is written again, so a retry after a crash is harmless.
	PutDay(ctx context.Context, d Day) error
	// Days returns the day records of (cluster, table), oldest first.
	Days(ctx context.Context, cluster, table string) ([]Day, error)
	// Acquire takes or renews the lease of cluster for owner until now+ttl. It returns false,
	// with the current lease, when another owner holds an unexpired lease.
	Acquire(ctx context.Context, cluster, owner string, ttl time.Duration) (bool, Lease, error)
	// Release gives up owner's lease on cluster, if it still holds it.
	Release(ctx context.Context, cluster, owner string) error
	Close() error
}

// HasGapAt reports whether a gap starting at from is already recorded.
func (p *Progress) HasGapAt(from time.Time) bool {
	for _, g := range p.Gaps {
		if g.From.Equal(from) {
			return true
		}
	}
	return false
}
