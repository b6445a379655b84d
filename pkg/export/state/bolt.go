package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	progressBucket = []byte("progress")
	leaseBucket    = []byte("lease")
	dayBucket      = []byte("day")
)

// Bolt is the embedded Store: one bbolt file. It opens the file for each operation and closes it
// after, so that another process (the CLI's status next to Grafana, or a second exporter) can use
// the same file; the file lock serialises processes and a mutex serialises goroutines.
type Bolt struct {
	path string
	mu   sync.Mutex
	// Timeout bounds the wait for the file lock held by another process.
	Timeout time.Duration
	// ready: OpenBolt made the file and its buckets; from then on they must stay.
	ready bool
}

// OpenBolt prepares the store at path, creating the file and its folder when missing.
func OpenBolt(path string) (*Bolt, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	b := &Bolt{path: path, Timeout: 10 * time.Second}
	err := b.update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{progressBucket, leaseBucket, dayBucket} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	b.ready = true
	return b, nil
}

// errStateGone is the error of every operation on a state file that was removed or replaced
// after it was opened: opening the path again would silently start an empty state, and the next
// cycle would export every table from the start again.
var errStateGone = errors.New("the state file was removed or replaced while in use: progress and leases are not there any more; restart to start a new state")

func (b *Bolt) with(readOnly bool, fn func(*bolt.DB) error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := os.Stat(b.path); b.ready && errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("state: %s: %w", filepath.Base(b.path), errStateGone)
	}
	db, err := bolt.Open(b.path, 0o640, &bolt.Options{Timeout: b.Timeout, ReadOnly: readOnly})
	if err != nil {
		return fmt.Errorf("state: open %s: %w", filepath.Base(b.path), err)
	}
	err = fn(db)
	if cerr := db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("state: close: %w", cerr)
	}
	return err
}

func (b *Bolt) update(fn func(*bolt.Tx) error) error {
	return b.with(false, func(db *bolt.DB) error { return db.Update(b.checked(fn)) })
}

func (b *Bolt) view(fn func(*bolt.Tx) error) error {
	return b.with(true, func(db *bolt.DB) error { return db.View(b.checked(fn)) })
}

// checked runs fn only when the file holds the store's buckets (once OpenBolt made them).
func (b *Bolt) checked(fn func(*bolt.Tx) error) func(*bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		if b.ready {
			for _, name := range [][]byte{progressBucket, leaseBucket, dayBucket} {
				if tx.Bucket(name) == nil {
					return fmt.Errorf("state: %s: %w", filepath.Base(b.path), errStateGone)
				}
			}
		}
		return fn(tx)
	}
}

func progressKey(cluster, table string) []byte { return []byte(cluster + "\x00" + table) }

// Get implements Store.
func (b *Bolt) Get(ctx context.Context, cluster, table string) (Progress, error) {
	p := Progress{Cluster: cluster, Table: table}
	err := b.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(progressBucket).Get(progressKey(cluster, table))
		if v == nil {
			return nil
		}
		return json.Unmarshal(v, &p)
	})
	return p, err
}

// Put implements Store.
func (b *Bolt) Put(ctx context.Context, p *Progress) error {
	next := *p
	next.Version++
	v, err := json.Marshal(&next)
	if err != nil {
		return err
	}
	err = b.update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(progressBucket)
		key := progressKey(p.Cluster, p.Table)
		var cur Progress
		if old := bk.Get(key); old != nil {
			if err := json.Unmarshal(old, &cur); err != nil {
				return err
			}
		}
		if cur.Version != p.Version {
			return ErrConflict
		}
		return bk.Put(key, v)
	})
	if err != nil {
		return err
	}
	p.Version = next.Version
	return nil
}

// List implements Store.
func (b *Bolt) List(ctx context.Context) ([]Progress, error) {
	var out []Progress
	err := b.view(func(tx *bolt.Tx) error {
		return tx.Bucket(progressBucket).ForEach(func(_, v []byte) error {
			var p Progress
			if err := json.Unmarshal(v, &p); err != nil {
				return err
			}
			out = append(out, p)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].Cluster != out[j].Cluster {
			return out[i].Cluster < out[j].Cluster
		}
		return out[i].Table < out[j].Table
	})
	return out, err
}

// Acquire implements Store.
func (b *Bolt) Acquire(ctx context.Context, cluster, owner string, ttl time.Duration) (bool, Lease, error) {
	var got bool
	var cur Lease
	err := b.update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(leaseBucket)
		now := time.Now()
		if v := bk.Get([]byte(cluster)); v != nil {
			if err := json.Unmarshal(v, &cur); err != nil {
				return err
			}
			if cur.Owner != owner && now.Before(cur.Expires) {
				return nil
			}
		}
		cur = Lease{Cluster: cluster, Owner: owner, Expires: now.Add(ttl)}
		v, err := json.Marshal(cur)
		if err != nil {
			return err
		}
		got = true
		return bk.Put([]byte(cluster), v)
	})
	return got, cur, err
}

// Release implements Store.
func (b *Bolt) Release(ctx context.Context, cluster, owner string) error {
	return b.update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(leaseBucket)
		v := bk.Get([]byte(cluster))
		if v == nil {
			return nil
		}
		var cur Lease
		if err := json.Unmarshal(v, &cur); err != nil {
			return err
		}
		if cur.Owner != owner {
			return nil
		}
		return bk.Delete([]byte(cluster))
	})
}

// Close implements Store. The file is not held open between operations.
func (b *Bolt) Close() error { return nil }
