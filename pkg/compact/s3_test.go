package compact_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/compact"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/storage"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/awstest"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/s3cache"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// TestTheS3CacheAnswersExactlyAtEveryStepOfCompactionAndRetention compacts and retires days of an
// archive in S3 (versitygw) and, at every step, prepares the embedded engine's cache of it and
// compares the engine's answer with the truth. The cache keeps its files between steps, so it
// must drop what the record no longer chooses and never follow a record to a file it lacks.
func TestTheS3CacheAnswersExactlyAtEveryStepOfCompactionAndRetention(t *testing.T) {
	srv := awstest.StartS3(t)
	client := srv.Client(t)
	bucket := srv.Bucket(t)
	a, err := storage.NewS3(client, storage.S3Options{Bucket: bucket, Prefix: "stl/"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		writeWindows(t, a, "c1", day1.AddDate(0, 0, i), 6, 20, uint64(i+1))
	}
	writeWindows(t, a, "c2", day1, 4, 20, 9)
	dir := filepath.Join(t.TempDir(), "cache")
	cache, err := s3cache.New(client, s3cache.Options{Bucket: bucket, Prefix: "stl/", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	e := openEngine(t, dir)
	from, to := day1, day1.AddDate(0, 0, 3)
	ask := func() string {
		release, err := cache.Prepare(context.Background(), answerSQL, from, to)
		if err != nil {
			t.Fatalf("prepare: %v", err)
		}
		defer release()
		return answer(t, e)
	}
	truth := ask()
	if truth == "" {
		t.Fatal("no rows")
	}
	now := day1.AddDate(0, 0, 3)
	steps := map[compact.Step]int{}
	hook := func(step compact.Step, table, cluster, day string) {
		steps[step]++
		if got := ask(); got != truth {
			t.Errorf("at %s of %s on %s: answer\n%s\nwant\n%s", step, day, cluster, got, truth)
		}
	}
	c := compact.New(a, closedBefore(day1.AddDate(0, 0, 2)), compact.Options{Grace: time.Minute, Hook: hook, Now: func() time.Time { return now }})
	for _, cl := range []string{"c1", "c2"} {
		if err := c.Cluster(context.Background(), cl, []tables.Table{stlQuery(t)}, nil).Failed(); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(2 * time.Minute)
	for _, cl := range []string{"c1", "c2"} {
		if err := c.Cluster(context.Background(), cl, []tables.Table{stlQuery(t)}, nil).Failed(); err != nil {
			t.Fatal(err)
		}
	}
	if steps[compact.StepSwitched] != 3 || steps[compact.StepDeleted] != 2 {
		t.Errorf("steps %v: want 3 days switched and the garbage of 2 clusters deleted", steps)
	}
	if got := ask(); got != truth {
		t.Fatalf("after deletion:\n%s\nwant\n%s", got, truth)
	}
	for _, k := range srv.Keys(t, bucket) {
		if day, gen, ok := tables.ObjectOf(k[len("stl/stl_query/cluster=c1/"):]); ok && gen == 0 && day < "2026-03-03" {
			t.Errorf("window %s of a compacted day left after the grace", k)
		}
	}

	// Retention: readers stop seeing 2026-03-01 at the switch.
	truthAfter := ""
	for _, line := range strings.SplitAfter(truth, "\n") {
		if !strings.Contains(line, "|2026-03-01|") {
			truthAfter += line
		}
	}
	now = time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
	c = compact.New(a, closedBefore(day1.AddDate(0, 0, 2)), compact.Options{Grace: time.Minute, Now: func() time.Time { return now }})
	for _, cl := range []string{"c1", "c2"} {
		if err := c.Cluster(context.Background(), cl, []tables.Table{stlQuery(t)}, map[string]time.Duration{"stl_query": 2 * 24 * time.Hour}).Failed(); err != nil {
			t.Fatal(err)
		}
	}
	if got := ask(); got != truthAfter {
		t.Fatalf("after retention:\n%s\nwant\n%s", got, truthAfter)
	}
}

// TestTheS3CacheAnswersExactlyThroughAPartialEntry compacts an open day of an archive in S3 in
// part, twice, then whole, preparing the cache and asking the engine at every step: the cache
// must choose the partial parts and the windows from Through on, never both for a window.
func TestTheS3CacheAnswersExactlyThroughAPartialEntry(t *testing.T) {
	srv := awstest.StartS3(t)
	client := srv.Client(t)
	bucket := srv.Bucket(t)
	a, err := storage.NewS3(client, storage.S3Options{Bucket: bucket, Prefix: "stl/"})
	if err != nil {
		t.Fatal(err)
	}
	writeWindows(t, a, "c1", day1, 30, 20, 1)
	dir := filepath.Join(t.TempDir(), "cache")
	cache, err := s3cache.New(client, s3cache.Options{Bucket: bucket, Prefix: "stl/", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	e := openEngine(t, dir)
	ask := func() string {
		release, err := cache.Prepare(context.Background(), answerSQL, day1, day1.AddDate(0, 0, 1))
		if err != nil {
			t.Fatalf("prepare: %v", err)
		}
		defer release()
		return answer(t, e)
	}
	truth := ask()
	steps := map[compact.Step]int{}
	hook := func(step compact.Step, table, cluster, day string) {
		steps[step]++
		if got := ask(); got != truth {
			t.Errorf("at %s of %s: answer\n%s\nwant\n%s", step, day, got, truth)
		}
	}
	now := day1.Add(3 * time.Hour)
	closed, final := day1, day1.Add(time.Hour)
	c := compact.New(a, openGate{&closed, &final}, compact.Options{Grace: time.Minute, Hook: hook, Now: func() time.Time { return now }})
	run := func() {
		t.Helper()
		if err := c.Cluster(context.Background(), "c1", []tables.Table{stlQuery(t)}, nil).Failed(); err != nil {
			t.Fatal(err)
		}
		if got := ask(); got != truth {
			t.Fatalf("after a run: answer\n%s\nwant\n%s", got, truth)
		}
	}
	run() // through 01:00
	final = day1.Add(2 * time.Hour)
	run() // through 02:00
	closed = day1.AddDate(0, 0, 1)
	run() // whole
	now = now.Add(2 * time.Minute)
	run() // garbage deleted
	if steps[compact.StepSwitched] != 3 || steps[compact.StepDeleted] == 0 {
		t.Errorf("steps %v: want two partial switches, one whole, and a deletion", steps)
	}
}
