package s3cache_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stlarchive/redshift-stl-archive/pkg/export/parquetfile"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/source"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/awstest"
	"github.com/stlarchive/redshift-stl-archive/pkg/query"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/duckdb"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/presets"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/s3cache"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

const prefix = "stl/"

// The archive of the tests: two clusters, four days, two windows a day of stl_query and one of
// stl_alert_event_log.
var (
	clusters = []string{"c1", "c2"}
	days     = []time.Time{
		time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC),
	}
	windowStarts = []time.Duration{time.Hour, 13 * time.Hour}
)

// requests counts the S3 requests a client sends.
type requests struct {
	inner   s3.HTTPClient
	gets    atomic.Int64 // GetObject of an archive object
	layouts atomic.Int64 // GetObject of a layout record
	lists   atomic.Int64 // ListObjectsV2
}

func (r *requests) Do(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet {
		if req.URL.Query().Has("list-type") {
			r.lists.Add(1)
		} else if strings.HasSuffix(req.URL.Path, "/"+tables.LayoutName) {
			r.layouts.Add(1)
		} else {
			r.gets.Add(1)
		}
	}
	return r.inner.Do(req)
}

// archive is a bucket on a local S3 server and a full local copy of the same objects.
type archive struct {
	t      *testing.T
	client *s3.Client
	bucket string
	full   string
	keys   map[string]int64 // archive key → size
}

func newArchive(t *testing.T) *archive {
	t.Helper()
	srv := awstest.StartS3(t)
	a := &archive{t: t, client: srv.Client(t), bucket: srv.Bucket(t), full: filepath.Join(t.TempDir(), "full"), keys: map[string]int64{}}
	for _, c := range clusters {
		for di, d := range days {
			for wi, off := range windowStarts {
				lo := d.Add(off)
				a.put(tables.ObjectKey("stl_query", c, lo, lo.Add(time.Hour)), queryRows(lo, 200+50*wi+10*di, 1000*di+100*wi))
			}
			lo := d.Add(5 * time.Hour)
			a.put(tables.ObjectKey("stl_alert_event_log", c, lo, lo.Add(time.Hour)), alertRows(lo, 40))
		}
	}
	return a
}

// counted is a client of the archive's server that counts its requests.
func (a *archive) counted() (*s3.Client, *requests) {
	opts := a.client.Options()
	r := &requests{inner: opts.HTTPClient}
	return s3.New(opts, func(o *s3.Options) { o.HTTPClient = r }), r
}

// put stores a Parquet object in the bucket and in the full copy.
func (a *archive) put(key string, body []byte) {
	a.t.Helper()
	_, err := a.client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(a.bucket),
		Key: aws.String(prefix + key), Body: bytes.NewReader(body)})
	if err != nil {
		a.t.Fatalf("put %s: %v", key, err)
	}
	p := filepath.Join(a.full, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		a.t.Fatal(err)
	}
	if err := os.WriteFile(p, body, 0o644); err != nil {
		a.t.Fatal(err)
	}
	a.keys[key] = int64(len(body))
}

func (a *archive) delete(key string) {
	a.t.Helper()
	_, err := a.client.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(a.bucket), Key: aws.String(prefix + key)})
	if err != nil {
		a.t.Fatalf("delete %s: %v", key, err)
	}
	if err := os.Remove(filepath.Join(a.full, filepath.FromSlash(key))); err != nil {
		a.t.Fatal(err)
	}
	delete(a.keys, key)
}

// keysOf is the archive keys of a table on the days from..to, sorted, with their total size.
func (a *archive) keysOf(table string, from, to time.Time) ([]string, int64) {
	var out []string
	var size int64
	for k, n := range a.keys {
		day := strings.TrimPrefix(strings.Split(k, "/")[2], "day=")
		if strings.HasPrefix(k, table+"/") && day >= from.Format(tables.DayFormat) && day <= to.Format(tables.DayFormat) {
			out = append(out, k)
			size += n
		}
	}
	slices.Sort(out)
	return out, size
}

func (a *archive) cache(t *testing.T, client *s3.Client, dir string, maxBytes int64) *s3cache.Cache {
	t.Helper()
	c, err := s3cache.New(client, s3cache.Options{Bucket: a.bucket, Prefix: prefix, Dir: dir, MaxBytes: maxBytes})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// queryRows is n stl_query rows ending in the hour after lo, with query ids from first.
func queryRows(lo time.Time, n, first int) []byte {
	cols := []source.Column{{Name: "userid", Kind: source.KindInt32}, {Name: "query", Kind: source.KindInt32},
		{Name: "label", Kind: source.KindText}, {Name: "querytxt", Kind: source.KindText},
		{Name: "starttime", Kind: source.KindTimestamp}, {Name: "endtime", Kind: source.KindTimestamp}}
	b := &source.Batch{Len: n, Cols: make([]source.Vector, len(cols))}
	for i := range n {
		end := lo.Add(time.Duration(i+1) * time.Hour / time.Duration(n+1))
		for c := range cols {
			b.Cols[c].Null = append(b.Cols[c].Null, false)
		}
		b.Cols[0].Ints = append(b.Cols[0].Ints, int64(100+i%3))
		b.Cols[1].Ints = append(b.Cols[1].Ints, int64(first+i))
		appendText(&b.Cols[2], "default")
		appendText(&b.Cols[3], fmt.Sprintf("select %d from sales where region = 'r%d'", first+i, i%7))
		b.Cols[4].Ints = append(b.Cols[4].Ints, end.Add(-time.Second).UnixMicro())
		b.Cols[5].Ints = append(b.Cols[5].Ints, end.UnixMicro())
	}
	return parquetBytes(cols, b)
}

// alertRows is n stl_alert_event_log rows in the hour after lo.
func alertRows(lo time.Time, n int) []byte {
	cols := []source.Column{{Name: "query", Kind: source.KindInt32}, {Name: "event", Kind: source.KindText},
		{Name: "event_time", Kind: source.KindTimestamp}}
	b := &source.Batch{Len: n, Cols: make([]source.Vector, len(cols))}
	for i := range n {
		for c := range cols {
			b.Cols[c].Null = append(b.Cols[c].Null, false)
		}
		b.Cols[0].Ints = append(b.Cols[0].Ints, int64(i))
		appendText(&b.Cols[1], "Missing query planner statistics")
		b.Cols[2].Ints = append(b.Cols[2].Ints, lo.Add(time.Duration(i+1)*time.Minute).UnixMicro())
	}
	return parquetBytes(cols, b)
}

func appendText(v *source.Vector, s string) {
	v.Bytes = append(v.Bytes, s...)
	v.Ends = append(v.Ends, len(v.Bytes))
}

func parquetBytes(cols []source.Column, b *source.Batch) []byte {
	var buf bytes.Buffer
	w, err := parquetfile.NewWriter(&buf, cols)
	if err != nil {
		panic(err)
	}
	if err := w.Write(b); err != nil {
		panic(err)
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func openEngine(t *testing.T, root string) *duckdb.Engine {
	t.Helper()
	e, err := duckdb.Open(context.Background(), root, duckdb.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// render is a result as text, one line per row.
func render(t *testing.T, e *duckdb.Engine, sql string) string {
	t.Helper()
	res, err := e.Query(context.Background(), sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	var b strings.Builder
	for i := range res.Len() {
		for _, f := range res.Fields() {
			switch v := f.Values.(type) {
			case []*string:
				fmt.Fprintf(&b, "%v|", deref(v[i]))
			case []*int64:
				fmt.Fprintf(&b, "%v|", deref(v[i]))
			case []*float64:
				fmt.Fprintf(&b, "%v|", deref(v[i]))
			case []*bool:
				fmt.Fprintf(&b, "%v|", deref(v[i]))
			case []*time.Time:
				fmt.Fprintf(&b, "%v|", deref(v[i]))
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func deref[T any](p *T) any {
	if p == nil {
		return "NULL"
	}
	return *p
}

// cached is the archive keys of the Parquet files in a cache folder, sorted, with their total
// size.
func cached(t *testing.T, dir string) ([]string, int64) {
	t.Helper()
	var out []string
	var size int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".parquet") || strings.HasPrefix(d.Name(), ".") {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, filepath.ToSlash(rel))
		size += info.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out, size
}

func prepare(t *testing.T, c *s3cache.Cache, sql string, from, to time.Time) {
	t.Helper()
	release, err := c.Prepare(context.Background(), sql, from, to)
	if err != nil {
		t.Fatalf("prepare %s..%s: %v", from, to, err)
	}
	release()
}

func rangeSQL(from, to time.Time) string {
	return fmt.Sprintf(`SELECT cluster, day, count(*) AS n, sum(query) AS s, min(endtime) AS lo, max(endtime) AS hi
		FROM stl_query WHERE endtime >= TIMESTAMP '%s' AND endtime <= TIMESTAMP '%s' GROUP BY ALL ORDER BY ALL`,
		from.Format(time.DateTime), to.Format(time.DateTime))
}

func TestPreparedCacheAnswersLikeTheFullArchive(t *testing.T) {
	a := newArchive(t)
	client, req := a.counted()
	dir := filepath.Join(t.TempDir(), "cache")
	c := a.cache(t, client, dir, 1<<30)
	// The engine opens on an empty cache: the tables arrive after it made its views.
	cachedEngine := openEngine(t, dir)
	fullEngine := openEngine(t, a.full)

	from, to := days[1].Add(6*time.Hour), days[2].Add(20*time.Hour)
	sql := rangeSQL(from, to)
	prepare(t, c, sql, from, to)

	got, want := render(t, cachedEngine, sql), render(t, fullEngine, sql)
	if got != want {
		t.Fatalf("cached archive answers\n%s\nthe full archive answers\n%s", got, want)
	}
	if strings.Count(want, "\n") != 4 {
		t.Fatalf("want rows of 2 clusters × 2 days, got\n%s", want)
	}
	wantKeys, wantSize := a.keysOf("stl_query", from, to)
	gotKeys, gotSize := cached(t, dir)
	if !slices.Equal(gotKeys, wantKeys) {
		t.Errorf("cached files %v, want the stl_query objects of the two days %v", gotKeys, wantKeys)
	}
	if gotSize != wantSize || c.Size() != wantSize {
		t.Errorf("cached %d bytes (Size says %d), want %d", gotSize, c.Size(), wantSize)
	}
	if n := req.gets.Load(); n != int64(len(wantKeys)) {
		t.Errorf("%d GETs for %d objects", n, len(wantKeys))
	}
	// One listing of the table folders, one of stl_query's cluster folders, one per cluster of
	// its objects from the first day on: never the bucket, never the other table.
	if n := req.lists.Load(); n != 2+int64(len(clusters)) {
		t.Errorf("%d listings, want %d", n, 2+len(clusters))
	}
	// And one read of the layout record per cluster, which compaction would have written.
	if n := req.layouts.Load(); n != int64(len(clusters)) {
		t.Errorf("%d reads of layout records, want %d", n, len(clusters))
	}

	gets := req.gets.Load()
	prepare(t, c, sql, from, to)
	if n := req.gets.Load() - gets; n != 0 {
		t.Errorf("a second Prepare of the same range downloaded %d objects, want none", n)
	}
	if got := render(t, cachedEngine, sql); got != want {
		t.Errorf("after the second Prepare the cached archive answers\n%s\nwant\n%s", got, want)
	}
}

func TestPrepareFetchesOnlyTheTablesTheQueryNames(t *testing.T) {
	a := newArchive(t)
	dir := filepath.Join(t.TempDir(), "cache")
	c := a.cache(t, a.client, dir, 1<<30)
	engine := openEngine(t, dir)
	fullEngine := openEngine(t, a.full)
	from, to := days[0], days[3].Add(23*time.Hour)

	sql := `SELECT a.cluster, count(*) FROM "STL_ALERT_EVENT_LOG" a GROUP BY ALL ORDER BY ALL`
	prepare(t, c, sql, from, to)
	got, _ := cached(t, dir)
	want, _ := a.keysOf("stl_alert_event_log", from, to)
	if !slices.Equal(got, want) {
		t.Fatalf("cached %v, want only the alert objects %v", got, want)
	}
	if g, w := render(t, engine, sql), render(t, fullEngine, sql); g != w {
		t.Errorf("cached archive answers\n%s\nthe full archive answers\n%s", g, w)
	}

	// A join reads both tables: the query objects arrive, and the view of a table first cached
	// after the engine opened answers.
	join := `SELECT q.cluster, count(*) FROM stl_query q JOIN stl_alert_event_log a USING (cluster, query) GROUP BY ALL ORDER BY ALL`
	prepare(t, c, join, from, to)
	if g, w := render(t, engine, join), render(t, fullEngine, join); g != w {
		t.Errorf("join: cached archive answers\n%s\nthe full archive answers\n%s", g, w)
	}
	got, _ = cached(t, dir)
	if len(got) != len(a.keys) {
		t.Errorf("cached %d files after a query over every table and day, want all %d", len(got), len(a.keys))
	}
}

func TestEvictionKeepsTheBoundAndDropsTheLeastRecentlyUsed(t *testing.T) {
	a := newArchive(t)
	dir := filepath.Join(t.TempDir(), "cache")
	dayKeys := make([][]string, len(days))
	daySize := make([]int64, len(days))
	for i, d := range days {
		dayKeys[i], daySize[i] = a.keysOf("stl_query", d, d)
	}
	// Room for days 0 and 2, not for day 1 besides (day 1 is smaller than day 2).
	bound := daySize[0] + daySize[2]
	c := a.cache(t, a.client, dir, bound)
	prepareDay := func(i int) {
		from, to := days[i].Add(time.Hour), days[i].Add(22*time.Hour)
		prepare(t, c, rangeSQL(from, to), from, to)
	}
	prepareDay(0)
	prepareDay(1)
	prepareDay(0) // day 0 is now used more recently than day 1
	prepareDay(2)

	got, size := cached(t, dir)
	want := slices.Sorted(slices.Values(slices.Concat(dayKeys[0], dayKeys[2])))
	if !slices.Equal(got, want) {
		t.Errorf("cached %v,\nwant days 0 and 2 (day 1 used least recently) %v", got, want)
	}
	if size > bound || c.Size() != size {
		t.Errorf("cache holds %d bytes (Size says %d), bound %d", size, c.Size(), bound)
	}
	engine := openEngine(t, dir)
	full := openEngine(t, a.full)
	sql := rangeSQL(days[2].Add(time.Hour), days[2].Add(22*time.Hour))
	if g, w := render(t, engine, sql), render(t, full, sql); g != w {
		t.Errorf("after eviction the cached archive answers\n%s\nthe full archive answers\n%s", g, w)
	}
}

func TestFilesOfARunningQueryAreNotEvicted(t *testing.T) {
	a := newArchive(t)
	dir := filepath.Join(t.TempDir(), "cache")
	day0, size0 := a.keysOf("stl_query", days[0], days[0])
	day1, size1 := a.keysOf("stl_query", days[1], days[1])
	bound := max(size0, size1) + 1
	c := a.cache(t, a.client, dir, bound)

	release0, err := c.Prepare(context.Background(), "SELECT * FROM stl_query", days[0], days[0])
	if err != nil {
		t.Fatal(err)
	}
	release1, err := c.Prepare(context.Background(), "SELECT * FROM stl_query", days[1], days[1])
	if err != nil {
		t.Fatal(err)
	}
	// Both queries run: the cache is over its bound until one ends.
	got, _ := cached(t, dir)
	if want := slices.Sorted(slices.Values(slices.Concat(day0, day1))); !slices.Equal(got, want) {
		t.Errorf("while both queries run the cache holds %v, want both days %v", got, want)
	}
	release0()
	release0() // a second call changes nothing
	got, size := cached(t, dir)
	if !slices.Equal(got, day1) || size > bound {
		t.Errorf("after the first query ended the cache holds %v (%d bytes, bound %d), want only the running query's %v", got, size, bound, day1)
	}
	release1()
	if got, _ := cached(t, dir); !slices.Equal(got, day1) {
		t.Errorf("files under the bound were evicted: cache holds %v, want %v", got, day1)
	}
}

func TestAQueryNeedingMoreThanTheBoundFailsClearly(t *testing.T) {
	a := newArchive(t)
	client, req := a.counted()
	dir := filepath.Join(t.TempDir(), "cache")
	_, daySize := a.keysOf("stl_query", days[0], days[0])
	_, allSize := a.keysOf("stl_query", days[0], days[3])
	c := a.cache(t, client, dir, daySize+daySize/2)
	prepare(t, c, "SELECT * FROM stl_query", days[0], days[0])
	before, _ := cached(t, dir)
	gets := req.gets.Load()

	_, err := c.Prepare(context.Background(), "SELECT * FROM stl_query", days[0], days[3])
	if !errors.Is(err, s3cache.ErrTooLarge) {
		t.Fatalf("Prepare over the bound: %v, want ErrTooLarge", err)
	}
	for _, want := range []string{fmt.Sprintf("(%d bytes)", allSize), fmt.Sprintf("(%d bytes)", daySize+daySize/2), "at most"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if n := req.gets.Load() - gets; n != 0 {
		t.Errorf("a query over the bound downloaded %d objects", n)
	}
	if after, _ := cached(t, dir); !slices.Equal(after, before) {
		t.Errorf("a query over the bound changed the cache from %v to %v", before, after)
	}
}

func TestAReplacedObjectIsFetchedAgainAndADeletedOneRemoved(t *testing.T) {
	a := newArchive(t)
	client, req := a.counted()
	dir := filepath.Join(t.TempDir(), "cache")
	c := a.cache(t, client, dir, 1<<30)
	engine := openEngine(t, dir)
	full := openEngine(t, a.full)
	from, to := days[1], days[1].Add(23*time.Hour)
	sql := rangeSQL(from, to)
	prepare(t, c, sql, from, to)
	before := render(t, engine, sql)

	keys, _ := a.keysOf("stl_query", from, to)
	// A redo of a window writes the same key with other rows.
	a.put(keys[0], queryRows(days[1].Add(time.Hour), 333, 50_000))
	a.delete(keys[1])
	gets := req.gets.Load()
	prepare(t, c, sql, from, to)
	if n := req.gets.Load() - gets; n != 1 {
		t.Errorf("after one object was replaced Prepare downloaded %d objects, want 1", n)
	}
	got, want := render(t, engine, sql), render(t, full, sql)
	if got != want || got == before {
		t.Errorf("after the replacement the cached archive answers\n%s\nthe full archive\n%s\nbefore\n%s", got, want, before)
	}
	if files, _ := cached(t, dir); slices.Contains(files, keys[1]) {
		t.Errorf("the deleted object %s is still cached", keys[1])
	}
}

func TestConcurrentPreparesDownloadEachObjectOnce(t *testing.T) {
	a := newArchive(t)
	client, req := a.counted()
	dir := filepath.Join(t.TempDir(), "cache")
	c := a.cache(t, client, dir, 1<<30)
	from, to := days[0], days[3].Add(23*time.Hour)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			release, err := c.Prepare(context.Background(), "SELECT * FROM stl_query, stl_alert_event_log", from, to)
			if err == nil {
				release()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := req.gets.Load(); n != int64(len(a.keys)) {
		t.Errorf("8 concurrent Prepares sent %d GETs for %d objects", n, len(a.keys))
	}
	got, size := cached(t, dir)
	if len(got) != len(a.keys) || c.Size() != size {
		t.Errorf("cached %d files of %d bytes (Size says %d), want %d files", len(got), size, c.Size(), len(a.keys))
	}
}

func TestARestartKeepsTheCache(t *testing.T) {
	a := newArchive(t)
	client, req := a.counted()
	dir := filepath.Join(t.TempDir(), "cache")
	from, to := days[2], days[3].Add(23*time.Hour)
	sql := rangeSQL(from, to)
	prepare(t, a.cache(t, client, dir, 1<<30), sql, from, to)
	keys, size := cached(t, dir)
	// A download cut short by a crash leaves a temporary file; a file whose ETag was never
	// recorded must be fetched again, since its object may have changed meanwhile.
	leftover := filepath.Join(dir, filepath.FromSlash(keys[0])+".tmp123")
	leftover = filepath.Join(filepath.Dir(leftover), "."+filepath.Base(leftover))
	if err := os.WriteFile(leftover, []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	unknown := filepath.Join(dir, filepath.FromSlash(keys[1]))
	if err := os.Remove(filepath.Join(filepath.Dir(unknown), "."+filepath.Base(unknown)+".etag")); err != nil {
		t.Fatal(err)
	}

	c := a.cache(t, client, dir, 1<<30)
	if c.Size() != size {
		t.Errorf("reopened cache holds %d bytes, the folder %d", c.Size(), size)
	}
	if _, err := os.Stat(leftover); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the temporary file of a cut download is still there: %v", err)
	}
	gets := req.gets.Load()
	prepare(t, c, sql, from, to)
	if n := req.gets.Load() - gets; n != 1 {
		t.Errorf("after a restart Prepare downloaded %d objects, want 1 (the one without ETag)", n)
	}
	if got := render(t, openEngine(t, dir), sql); got != render(t, openEngine(t, a.full), sql) {
		t.Errorf("after a restart the cached archive answers differently:\n%s", got)
	}
}

func TestARestartEvictsByLastUse(t *testing.T) {
	a := newArchive(t)
	dir := filepath.Join(t.TempDir(), "cache")
	c := a.cache(t, a.client, dir, 1<<30)
	for _, i := range []int{0, 1, 2} {
		prepare(t, c, "SELECT * FROM stl_query", days[i], days[i])
	}
	// The last use survives in the mtime: day 1 oldest, then day 2, then day 0.
	for i, age := range map[int]time.Duration{1: 3 * time.Hour, 2: 2 * time.Hour, 0: time.Hour} {
		keys, _ := a.keysOf("stl_query", days[i], days[i])
		for _, k := range keys {
			at := time.Now().Add(-age)
			if err := os.Chtimes(filepath.Join(dir, filepath.FromSlash(k)), at, at); err != nil {
				t.Fatal(err)
			}
		}
	}
	_, size0 := a.keysOf("stl_query", days[0], days[0])
	_, size2 := a.keysOf("stl_query", days[2], days[2])
	// A smaller bound on restart keeps the two days used last.
	a.cache(t, a.client, dir, size0+size2)
	got, _ := cached(t, dir)
	keys0, _ := a.keysOf("stl_query", days[0], days[0])
	keys2, _ := a.keysOf("stl_query", days[2], days[2])
	if want := slices.Sorted(slices.Values(slices.Concat(keys0, keys2))); !slices.Equal(got, want) {
		t.Errorf("after a restart with a smaller bound the cache holds %v, want days 0 and 2 %v", got, want)
	}
}

func TestTheQueryServiceAnswersThroughThePreparedCache(t *testing.T) {
	a := newArchive(t)
	dir := filepath.Join(t.TempDir(), "cache")
	c := a.cache(t, a.client, dir, 1<<30)
	catalog, err := presets.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	cachedSvc := &query.Service{Engine: openEngine(t, dir), Presets: catalog, Prepare: c.Prepare}
	fullSvc := &query.Service{Engine: openEngine(t, a.full), Presets: catalog}
	from, to := days[2].Add(2*time.Hour), days[3].Add(3*time.Hour)
	for _, m := range []query.Model{
		{RefID: "A", QueryType: query.TypeDiagnostics, Preset: "query_volume"},
		{RefID: "B", QueryType: query.TypeDiagnostics, Preset: "query_duration"},
		{RefID: "C", QueryType: query.TypeSQL, RawSQL: "SELECT cluster, count(*) AS n, max(querytxt) AS q FROM stl_query WHERE $__timeFilter(endtime) GROUP BY cluster ORDER BY cluster"},
	} {
		req := query.Request{Model: m, From: from, To: to, Interval: time.Hour}
		got, err := cachedSvc.Run(context.Background(), req)
		if err != nil {
			t.Fatalf("%s over the cache: %v", m.RefID, err)
		}
		want, err := fullSvc.Run(context.Background(), req)
		if err != nil {
			t.Fatalf("%s over the full archive: %v", m.RefID, err)
		}
		if len(want.Frames) == 0 || len(got.Frames) != len(want.Frames) {
			t.Fatalf("%s: %d frames over the cache, %d over the full archive", m.RefID, len(got.Frames), len(want.Frames))
		}
		for i := range want.Frames {
			g, _ := got.Frames[i].StringTable(-1, -1)
			w, _ := want.Frames[i].StringTable(-1, -1)
			if g != w || want.Frames[i].Rows() == 0 {
				t.Errorf("%s frame %d over the cache:\n%s\nover the full archive:\n%s", m.RefID, i, g, w)
			}
		}
	}
	keys, _ := a.keysOf("stl_query", from, to)
	if got, _ := cached(t, dir); !slices.Equal(got, keys) {
		t.Errorf("the service's queries cached %v, want the stl_query objects of their days %v", got, keys)
	}
}

func TestFilesOfATableGoneFromS3AreRemoved(t *testing.T) {
	a := newArchive(t)
	dir := filepath.Join(t.TempDir(), "cache")
	c := a.cache(t, a.client, dir, 1<<30)
	from, to := days[0], days[3].Add(23*time.Hour)
	sql := "SELECT count(*) FROM stl_alert_event_log"
	prepare(t, c, sql, from, to)
	alerts, _ := a.keysOf("stl_alert_event_log", from, to)
	if got, _ := cached(t, dir); !slices.Equal(got, alerts) {
		t.Fatalf("cached %v, want %v", got, alerts)
	}
	for _, k := range alerts {
		a.delete(k)
	}
	prepare(t, c, sql, from, to)
	if got, size := cached(t, dir); len(got) != 0 || c.Size() != 0 {
		t.Errorf("after the table left S3 the cache holds %v (%d bytes, Size says %d)", got, size, c.Size())
	}
	if _, err := os.Stat(filepath.Join(dir, "stl_alert_event_log")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the emptied table folder is still there: %v", err)
	}
	if got := render(t, openEngine(t, dir), sql); got != "0|\n" {
		t.Errorf("the engine counts %q rows of the removed table, want 0", got)
	}
}

func TestADownloadStreamsToDisk(t *testing.T) {
	a := newArchive(t)
	dir := filepath.Join(t.TempDir(), "cache")
	c := a.cache(t, a.client, dir, 1<<30)
	// The cache never reads what it keeps, so any bytes do for the size of a large object.
	const size = 48 << 20
	body := make([]byte, size)
	for i := range body {
		body[i] = byte(i * 7919 >> 8)
	}
	lo := days[0].Add(20 * time.Hour)
	key := tables.ObjectKey("big_table", "c1", lo, lo.Add(time.Hour))
	a.put(key, body)
	body = nil
	runtime.GC()

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	prepare(t, c, "SELECT * FROM big_table", days[0], days[0])
	runtime.ReadMemStats(&after)
	if got, _ := cached(t, dir); !slices.Equal(got, []string{key}) {
		t.Fatalf("cached %v, want %s", got, key)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size/8 {
		t.Errorf("downloading a %d-byte object allocated %d bytes: it is not streamed", size, alloc)
	} else {
		t.Logf("downloading a %d-byte object allocated %d bytes", size, alloc)
	}
}
