package s3cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

const dayFormat = tables.DayFormat

// object is one archive object as its listing describes it.
type object struct {
	size int64
	etag string
}

// dayRange is the days from..to (inclusive) as their partition values, which sort like the days.
type dayRange struct{ from, to string }

func (r dayRange) has(day string) bool { return r.from <= day && day <= r.to }

// identRe finds the words of a query that could name a table. It also matches words inside
// strings and comments: a table fetched for nothing costs time, never a wrong answer.
var identRe = regexp.MustCompile(`[a-z_][a-z0-9_]*`)

// tablesOf is the archive tables sql may read: the words of sql that are catalog tables, table
// folders under the prefix, or tables already cached (so that the files of a table gone from S3
// are dropped), sorted; and which of them have a folder in S3, the only ones worth listing.
func (c *Cache) tablesOf(ctx context.Context, sql string) (names []string, inS3 map[string]bool, err error) {
	words := map[string]bool{}
	for _, w := range identRe.FindAllString(strings.ToLower(sql), -1) {
		if tables.ValidName(w) {
			words[w] = true
		}
	}
	folders, err := c.folders(ctx, c.opts.Prefix, "")
	if err != nil {
		return nil, nil, fmt.Errorf("list tables: %w", err)
	}
	inS3 = map[string]bool{}
	for _, f := range folders {
		if words[f] {
			inS3[f] = true
		}
	}
	found := maps.Clone(inS3)
	for _, t := range tables.STL() {
		if words[t.Name] {
			found[t.Name] = true
		}
	}
	c.mu.Lock()
	for k := range c.files {
		if p, ok := parseKey(k); ok && words[p.table] {
			found[p.table] = true
		}
	}
	c.mu.Unlock()
	names = slices.Sorted(maps.Keys(found))
	return names, inS3, nil
}

// folders lists the folder names directly under prefix, from the first one after startAfter.
func (c *Cache) folders(ctx context.Context, prefix, startAfter string) ([]string, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(c.opts.Bucket), Prefix: aws.String(prefix), Delimiter: aws.String("/")}
	if startAfter != "" {
		in.StartAfter = aws.String(startAfter)
	}
	var out []string
	p := s3.NewListObjectsV2Paginator(c.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", c.opts.Bucket, prefix, err)
		}
		for _, cp := range page.CommonPrefixes {
			name := strings.TrimSuffix(strings.TrimPrefix(aws.ToString(cp.Prefix), prefix), "/")
			if name != "" && !strings.Contains(name, "/") {
				out = append(out, name)
			}
		}
	}
	return out, nil
}

// list returns the objects of the tables for the days, by archive key. Per table it lists the
// cluster folders; per cluster it lists the objects from the first day on, starting after the
// previous day's folder and stopping at the first key past the last day. Keys sort like their
// days, so this reads the same keys as a listing per day folder, in one request per thousand
// objects instead of one per day, and a range of years lists only the days that exist.
func (c *Cache) list(ctx context.Context, names []string, days dayRange) (map[string]object, map[string]tables.Layout, error) {
	type part struct{ table, cluster string }
	var parts []part
	var mu sync.Mutex
	err := forEach(ctx, c.opts.Concurrency, names, func(ctx context.Context, table string) error {
		clusters, err := c.folders(ctx, c.opts.Prefix+table+"/", "")
		if err != nil {
			return fmt.Errorf("list clusters of %s: %w", table, err)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, cl := range clusters {
			if name, ok := strings.CutPrefix(cl, "cluster="); ok && validSegment(name) {
				parts = append(parts, part{table, name})
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	out := map[string]object{}
	layouts := map[string]tables.Layout{}
	err = forEach(ctx, c.opts.Concurrency, parts, func(ctx context.Context, p part) error {
		// The record first, then the listing: every object a record names was written before
		// it, and every object it stopped naming stays for the grace period after, so the
		// listing has all the objects of whichever choice the record makes.
		layout, err := c.layout(ctx, p.table, p.cluster)
		if err != nil {
			return fmt.Errorf("layout of %s on %s: %w", p.table, p.cluster, err)
		}
		objs, err := c.objects(ctx, p.table, p.cluster, days, hasCompacted(layout, days))
		if err != nil {
			return fmt.Errorf("list %s on %s: %w", p.table, p.cluster, err)
		}
		mu.Lock()
		defer mu.Unlock()
		layouts[tables.LayoutKey(p.table, p.cluster)] = layout
		for k, o := range objs {
			if chosen(layout, k) {
				out[k] = o
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, layouts, nil
}

// hasCompacted reports whether the record names a compacted day of the range: only then are
// compacted parts worth listing.
func hasCompacted(l tables.Layout, days dayRange) bool {
	for day, d := range l.Days {
		if !d.Retired && days.has(day) {
			return true
		}
	}
	return false
}

// chosen reports whether the layout record makes key one of the objects that hold its day.
func chosen(l tables.Layout, key string) bool {
	k, ok := parseKey(key)
	if !ok {
		return false
	}
	d := l.Days[k.day]
	if k.generation == 0 {
		// Every window of a plain day, those from Through on of a partial one, none else.
		return d.ReadsWindow(k.name)
	}
	return slices.Contains(d.Keys(k.table, k.cluster, k.day), key)
}

// layout reads the layout record of a table on a cluster; none is an empty layout.
func (c *Cache) layout(ctx context.Context, table, cluster string) (tables.Layout, error) {
	out, err := c.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(c.opts.Bucket), Key: aws.String(c.opts.Prefix + tables.LayoutKey(table, cluster))})
	if err != nil {
		var nsk *types.NoSuchKey
		if errors.As(err, &nsk) {
			return tables.Layout{}, nil
		}
		return tables.Layout{}, err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, 64<<20))
	if err != nil {
		return tables.Layout{}, err
	}
	return tables.ParseLayout(b)
}

// objects lists the objects of one table and cluster for the days, by archive key: the window
// objects under day=…/ and the compacted parts under compacted/day=…/.
func (c *Cache) objects(ctx context.Context, table, cluster string, days dayRange, compacted bool) (map[string]object, error) {
	out := map[string]object{}
	subs := []string{""}
	if compacted {
		subs = append(subs, "compacted/")
	}
	for _, sub := range subs {
		base := c.opts.Prefix + table + "/cluster=" + cluster + "/" + sub
		in := &s3.ListObjectsV2Input{Bucket: aws.String(c.opts.Bucket), Prefix: aws.String(base + "day=")}
		// "day=<from>" sorts before every key of that day and after every key of earlier days.
		in.StartAfter = aws.String(base + "day=" + days.from)
		p := s3.NewListObjectsV2Paginator(c.client, in)
	pages:
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			for _, o := range page.Contents {
				key := strings.TrimPrefix(aws.ToString(o.Key), c.opts.Prefix)
				k, ok := parseKey(key)
				if !ok || k.table != table || k.cluster != cluster {
					continue
				}
				if k.day > days.to {
					break pages
				}
				if days.has(k.day) {
					out[key] = object{size: aws.ToInt64(o.Size), etag: aws.ToString(o.ETag)}
				}
			}
		}
	}
	return out, nil
}

// keyParts are the partitions of an archive key; generation is 0 for a window object and the
// generation of a compacted part (tables.PartKey) otherwise.
type keyParts struct {
	table, cluster, day, name string
	generation                int
}

// parseKey splits an archive key <table>/cluster=<c>/day=<YYYY-MM-DD>/<name>.parquet, or a
// compacted part <table>/cluster=<c>/compacted/day=<YYYY-MM-DD>/g<n>/part-<i>.parquet. It refuses
// anything else, in particular names that would leave the cache folder or that the engine would
// take for a file being written.
func parseKey(key string) (keyParts, bool) {
	seg := strings.Split(key, "/")
	if len(seg) == 6 && tables.ValidName(seg[0]) {
		cluster, ok := strings.CutPrefix(seg[1], "cluster=")
		if !ok || !validSegment(cluster) {
			return keyParts{}, false
		}
		day, gen, ok := tables.ObjectOf(strings.Join(seg[2:], "/"))
		if !ok || gen == 0 {
			return keyParts{}, false
		}
		return keyParts{table: seg[0], cluster: cluster, day: day, name: seg[5], generation: gen}, true
	}
	if len(seg) != 4 || !tables.ValidName(seg[0]) {
		return keyParts{}, false
	}
	cluster, ok1 := strings.CutPrefix(seg[1], "cluster=")
	day, ok2 := strings.CutPrefix(seg[2], "day=")
	if !ok1 || !ok2 || !validSegment(cluster) || !validSegment(seg[3]) || !strings.HasSuffix(seg[3], ".parquet") {
		return keyParts{}, false
	}
	if _, err := time.Parse(dayFormat, day); err != nil {
		return keyParts{}, false
	}
	return keyParts{table: seg[0], cluster: cluster, day: day, name: seg[3]}, true
}

// validSegment reports whether s can be one name of a local path: not empty, not hidden (the
// cache's own files are), no separator.
func validSegment(s string) bool {
	return s != "" && s[0] != '.' && !strings.ContainsAny(s, "/\\\x00")
}
