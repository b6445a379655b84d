// Package s3cache keeps a bounded local copy of the parts of an S3 archive that queries read, so
// that the embedded DuckDB engine, which reads only a local folder, can answer over an archive
// kept in S3 without Athena.
//
// It owns the files under its folder: which objects a query needs (the archive tables its SQL
// names, the days of its time range), their download, their refetch when an object under the
// same key changed, their removal when the object is gone, and their eviction, least recently
// used first, under a byte bound. It never writes to S3 and never reads the Parquet it keeps.
//
// The folder has the archive layout (pkg/tables): <table>/cluster=<c>/day=<d>/<window>.parquet.
// Next to each object sits a hidden ".<name>.etag" file with the ETag and size it was fetched
// at, so that a restart keeps the cache and still notices objects replaced in the meantime;
// downloads are written under hidden temporary names and renamed into place, and the engine's
// glob never matches a hidden name.
package s3cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// Options describe the archive in S3 and the local cache of it.
type Options struct {
	Bucket string
	// Prefix is the archive's key prefix in the bucket (e.g. "stl/"); a missing trailing slash is
	// added.
	Prefix string
	// Dir is the local folder the embedded engine reads as its archive root. The cache owns it.
	Dir string
	// MaxBytes bounds the bytes of the files kept in Dir (default 5 GiB). One query may not need
	// more; queries running at the same time may together exceed it until they finish.
	MaxBytes int64
	// Concurrency is the number of S3 requests (listings and downloads) one Prepare runs at a
	// time (default 4).
	Concurrency int
}

const (
	defaultMaxBytes    = 5 << 30
	defaultConcurrency = 4
	// stampEvery is how stale the last use written to a file's mtime may get. The last use in
	// memory is exact; the mtime only orders eviction after a restart, so a minute is plenty and
	// spares a write per file per query.
	stampEvery = time.Minute
)

// ErrTooLarge marks a query whose files alone exceed the cache bound.
var ErrTooLarge = errors.New("the query reads more of the archive than the local cache may hold")

// objectAPI is the part of the S3 client the cache uses.
type objectAPI interface {
	s3.ListObjectsV2APIClient
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

var _ objectAPI = (*s3.Client)(nil)

// Cache is the local copy of an S3 archive. It is safe for concurrent use.
type Cache struct {
	client objectAPI
	opts   Options

	// mu guards the index and every change to the folder's names: creating a temporary file,
	// renaming into place, removing files and empty folders. Downloads stream outside it.
	mu      sync.Mutex
	files   map[string]*file   // archive key (relative to Prefix) → the file kept for it
	pins    map[string]int     // archive key → queries that read it now
	flights map[string]*flight // archive key → the download in progress
	// layouts are the layout records last read from S3, by their key (tables.LayoutKey).
	layouts map[string]tables.Layout
	total   int64 // bytes of all files in the index
	now     func() time.Time
}

// file is one cached object.
type file struct {
	size int64
	etag string
	// known is whether etag is the one the file was fetched at; a file without it is fetched
	// again before use.
	known bool
	used  time.Time
	// stamped is the last use written to the file's mtime.
	stamped time.Time
}

// flight is one download; its waiters read err once done is closed.
type flight struct {
	done chan struct{}
	err  error
}

// New opens the cache in opts.Dir, creating the folder when missing, and indexes the files
// already there: sizes from the files, last use from their mtime. Files over the bound are
// evicted, least recently used first.
func New(client *s3.Client, opts Options) (*Cache, error) {
	if client == nil {
		return nil, errors.New("open s3 cache: no s3 client")
	}
	return newCache(client, opts)
}

func newCache(client objectAPI, opts Options) (*Cache, error) {
	if opts.Bucket == "" {
		return nil, errors.New("open s3 cache: bucket is required")
	}
	if opts.Dir == "" {
		return nil, errors.New("open s3 cache: local folder is required")
	}
	if opts.MaxBytes < 0 {
		return nil, fmt.Errorf("open s3 cache: max bytes %d is negative", opts.MaxBytes)
	}
	if opts.MaxBytes == 0 {
		opts.MaxBytes = defaultMaxBytes
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = defaultConcurrency
	}
	if opts.Prefix != "" && !strings.HasSuffix(opts.Prefix, "/") {
		opts.Prefix += "/"
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("open s3 cache: %w", err)
	}
	c := &Cache{client: client, opts: opts, files: map[string]*file{}, pins: map[string]int{},
		flights: map[string]*flight{}, layouts: map[string]tables.Layout{}, now: time.Now}
	if err := c.load(); err != nil {
		return nil, fmt.Errorf("open s3 cache: %w", err)
	}
	c.mu.Lock()
	c.evictLocked(c.opts.MaxBytes)
	c.mu.Unlock()
	return c, nil
}

func (c *Cache) String() string {
	return fmt.Sprintf("s3 cache of s3://%s/%s in %s (at most %s)", c.opts.Bucket, c.opts.Prefix, c.opts.Dir, formatBytes(c.opts.MaxBytes))
}

// Size is the bytes of the files the cache holds.
func (c *Cache) Size() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// Prepare brings into the folder every object of the archive tables that sql names, for the days
// (UTC) from the day of from to the day of to, so that the engine answers sql over the range as it
// would over the whole archive. It lists only those tables' cluster folders and, per cluster, the
// keys of those days; it fetches objects that are missing or changed (size or ETag), and removes
// files of those tables and days whose object is gone. The files stay until release is called;
// it must be called once the engine has answered.
//
// A query whose files alone exceed the bound fails with ErrTooLarge before anything is fetched.
func (c *Cache) Prepare(ctx context.Context, sql string, from, to time.Time) (release func(), err error) {
	if to.Before(from) {
		return nil, fmt.Errorf("prepare s3 cache: time range ends (%s) before it starts (%s)", to.UTC().Format(time.RFC3339), from.UTC().Format(time.RFC3339))
	}
	names, inS3, err := c.tablesOf(ctx, sql)
	if err != nil {
		return nil, fmt.Errorf("prepare s3 cache: %w", err)
	}
	days := dayRange{from: from.UTC().Format(dayFormat), to: to.UTC().Format(dayFormat)}
	want, layouts, err := c.list(ctx, slices.Collect(maps.Keys(inS3)), days)
	if err != nil {
		return nil, fmt.Errorf("prepare s3 cache: %w", err)
	}
	var need int64
	for _, o := range want {
		need += o.size
	}
	if need > c.opts.MaxBytes {
		return nil, fmt.Errorf("prepare s3 cache: %w: it needs %s in %d objects, the cache holds at most %s (narrow the time range, or raise the cache bound)",
			ErrTooLarge, formatBytes(need), len(want), formatBytes(c.opts.MaxBytes))
	}

	keys := slices.Sorted(maps.Keys(want))
	c.mu.Lock()
	now := c.now()
	var fetch []string
	var fetchBytes int64
	for _, k := range keys {
		c.pins[k]++
		if f := c.files[k]; f != nil && f.matches(want[k]) {
			c.touchLocked(k, f, now)
			continue
		}
		fetch = append(fetch, k)
		fetchBytes += want[k].size
	}
	// Make room first, so that the folder stays under the bound while the downloads land.
	c.evictLocked(c.opts.MaxBytes - fetchBytes)
	c.mu.Unlock()

	var once sync.Once
	release = func() { once.Do(func() { c.unpin(keys) }) }
	err = forEach(ctx, c.opts.Concurrency, fetch, func(ctx context.Context, k string) error {
		return c.fetch(ctx, k, want[k])
	})
	if err != nil {
		release()
		return nil, fmt.Errorf("prepare s3 cache: %w", err)
	}
	c.mu.Lock()
	// The records go in once the objects they choose are here, and only then go the files
	// they no longer choose: the engine never follows a record to a missing day.
	for k, l := range layouts {
		c.layouts[k] = l
		if err := c.writeLayoutLocked(k); err != nil {
			c.mu.Unlock()
			release()
			return nil, fmt.Errorf("prepare s3 cache: %w", err)
		}
	}
	c.dropGoneLocked(names, days, want)
	c.evictLocked(c.opts.MaxBytes)
	c.mu.Unlock()
	return release, nil
}

// writeLayoutLocked writes the local copy of a layout record (key tables.LayoutKey): the days it
// names whose compacted parts are all in the cache, and its retired days. A compacted day some
// of whose parts are not here is left out, so the engine never names a file the cache lacks.
func (c *Cache) writeLayoutLocked(key string) error {
	l := c.layouts[key]
	table, rest, _ := strings.Cut(key, "/")
	cluster := strings.TrimPrefix(strings.TrimSuffix(rest, "/"+tables.LayoutName), "cluster=")
	local := tables.Layout{Days: map[string]tables.DayLayout{}}
	for day, d := range l.Days {
		have := true
		for _, p := range d.Keys(table, cluster, day) {
			if f := c.files[p]; f == nil || !f.known {
				have = false
			}
		}
		if have {
			local.Days[day] = d
		}
	}
	b, err := json.Marshal(local)
	if err != nil {
		return err
	}
	dst := c.path(key)
	if old, err := os.ReadFile(dst); err == nil && string(old) == string(b) {
		return nil
	} else if errors.Is(err, os.ErrNotExist) && len(local.Days) == 0 {
		return nil
	}
	tmp, err := createTemp(dst)
	if err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", key, err)
	}
	return nil
}

// unpin ends one query's claim on its files and trims the cache to the bound, which queries
// running together may have pushed it over.
func (c *Cache) unpin(keys []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		if c.pins[k]--; c.pins[k] <= 0 {
			delete(c.pins, k)
		}
	}
	c.evictLocked(c.opts.MaxBytes)
}

func (f *file) matches(o object) bool {
	return f.known && f.etag == o.etag && f.size == o.size
}

// touchLocked records a use of a cached file; the file's mtime follows at most stampEvery late.
func (c *Cache) touchLocked(key string, f *file, now time.Time) {
	f.used = now
	if now.Sub(f.stamped) < stampEvery {
		return
	}
	// A failure only costs eviction order after a restart.
	if os.Chtimes(c.path(key), now, now) == nil {
		f.stamped = now
	}
}

// evictLocked removes files no query reads, least recently used first, until the cache holds at
// most limit bytes or only files in use are left.
func (c *Cache) evictLocked(limit int64) {
	if c.total <= limit {
		return
	}
	type cand struct {
		key  string
		used time.Time
	}
	var cands []cand
	for k, f := range c.files {
		if c.pins[k] == 0 {
			cands = append(cands, cand{k, f.used})
		}
	}
	slices.SortFunc(cands, func(a, b cand) int {
		if d := a.used.Compare(b.used); d != 0 {
			return d
		}
		return strings.Compare(a.key, b.key)
	})
	for _, cd := range cands {
		if c.total <= limit {
			return
		}
		c.removeLocked(cd.key)
	}
}

// dropGoneLocked removes the files of the listed tables and days whose objects no longer exist.
// A file a running query reads stays until a later Prepare.
func (c *Cache) dropGoneLocked(names []string, days dayRange, want map[string]object) {
	listed := map[string]bool{}
	for _, n := range names {
		listed[n] = true
	}
	for k := range c.files {
		if _, ok := want[k]; ok || c.pins[k] > 0 {
			continue
		}
		if p, ok := parseKey(k); ok && listed[p.table] && days.has(p.day) {
			c.removeLocked(k)
		}
	}
}

// removeLocked deletes a cached file, its ETag file and the folders it leaves empty. A file that
// cannot be deleted stays in the index, so that the total stays true.
func (c *Cache) removeLocked(key string) {
	p := c.path(key)
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return
	}
	os.Remove(etagPath(p))
	// Empty day, cluster and table folders go too; os.Remove fails on a folder that is not empty.
	for dir := filepath.Dir(p); dir != filepath.Clean(c.opts.Dir); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break
		}
	}
	c.total -= c.files[key].size
	delete(c.files, key)
	if p, ok := parseKey(key); ok && p.generation > 0 {
		// The local record must stop naming a day whose part is gone. Should that fail, a
		// query reading the day fails on the missing file rather than answer without it.
		_ = c.writeLayoutLocked(tables.LayoutKey(p.table, p.cluster))
	}
}

// path is the local file of an archive key.
func (c *Cache) path(key string) string {
	return filepath.Join(c.opts.Dir, filepath.FromSlash(key))
}

// forEach runs fn on every item, at most n at a time, and returns the first error; an error
// cancels the items not yet done.
func forEach[T any](ctx context.Context, n int, items []T, fn func(context.Context, T) error) error {
	if len(items) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for _, it := range items {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := fn(ctx, it); err != nil {
				once.Do(func() { first = err; cancel(err) })
			}
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return context.Cause(ctx)
}

// formatBytes writes a size the way people read it in an error message.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB (%d bytes)", float64(n)/float64(div), "KMGTP"[exp], n)
}
