package compact_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/stlarchive/redshift-stl-archive/pkg/catalog"
	"github.com/stlarchive/redshift-stl-archive/pkg/compact"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/storage"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/awsfake"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

const (
	athenaDB       = "stl_archive"
	athenaLocation = "s3://archive-bucket/redshift/"
)

// athenaReader answers answerSQL as Athena would over a local archive: it plans from Glue's
// partitions (awsfake.PlanAthena) and reads exactly the planned objects.
type athenaReader struct {
	glue    *awsfake.Glue
	archive storage.Local
	db      *sql.DB
}

func newAthenaReader(t *testing.T, a storage.Local) *athenaReader {
	t.Helper()
	g := awsfake.NewGlue(t)
	_, err := catalog.Ensure(context.Background(), g.Client(), catalog.Options{
		Database: athenaDB, Location: athenaLocation, Tables: []tables.Table{stlQuery(t)},
		Clusters: []string{"c1"}, FirstDay: "2026-01-01", Registered: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &athenaReader{glue: g, archive: a, db: db}
}

func (r *athenaReader) publisher() catalog.Partitions {
	return catalog.Partitions{API: r.glue.Client(), Database: athenaDB, Location: athenaLocation}
}

// answer is answerSQL's result as Athena would compute it: per partition, the count and checksum
// of its planned objects' rows.
func (r *athenaReader) answer(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	plan, err := awsfake.PlanAthena(ctx, r.glue.Client(), athenaDB, "stl_query", athenaLocation, r.archive)
	if err != nil {
		t.Fatalf("athena plan: %v", err)
	}
	var b strings.Builder
	for _, p := range plan {
		if len(p.Keys) == 0 {
			continue
		}
		files := make([]string, len(p.Keys))
		for i, k := range p.Keys {
			files[i] = "'" + filepath.Join(r.archive.Root, filepath.FromSlash(k)) + "'"
		}
		var n int64
		var h sql.NullString
		q := `SELECT count(*), CAST(sum(hash(query, endtime, querytxt, aborted)) AS VARCHAR) FROM read_parquet([` + strings.Join(files, ",") + `])`
		if err := r.db.QueryRowContext(ctx, q).Scan(&n, &h); err != nil {
			t.Fatalf("athena read of %v: %v", p.Values, err)
		}
		if n > 0 {
			fmt.Fprintf(&b, "%s|%s|%d|%s|\n", p.Values[0], p.Values[1], n, h.String)
		}
	}
	return b.String()
}

// TestAthenaPlansExactlyAtEveryStepAndACrashBeforePublishingIsFinished compacts two days under
// a Glue catalog with registered partitions and crashes at each step, the publish included. At
// every step a reader that plans from Glue, as Athena does, answers exactly like the embedded
// engine; after the runs Glue names the generations and no garbage is left.
func TestAthenaPlansExactlyAtEveryStepAndACrashBeforePublishingIsFinished(t *testing.T) {
	steps := []compact.Step{compact.StepListed, compact.StepWriting, compact.StepWritten, compact.StepSwitched, compact.StepGlued, compact.StepPublished, compact.StepDeleted}
	for _, at := range steps {
		t.Run(string(at), func(t *testing.T) {
			root := t.TempDir()
			a := storage.Local{Root: root}
			writeWindows(t, a, "c1", day1, 10, 30, 1)
			writeWindows(t, a, "c1", day1.AddDate(0, 0, 1), 10, 30, 2)
			e := openEngine(t, root)
			ar := newAthenaReader(t, a)
			now := day1.AddDate(0, 0, 3)
			truth := answer(t, e)
			checked := map[compact.Step]bool{}
			hook := func(step compact.Step, table, cluster, day string) {
				if got := answer(t, e); got != truth {
					t.Errorf("at %s of %s: embedded answer\n%s\nwant\n%s", step, day, got, truth)
				}
				if got := ar.answer(t); got != truth {
					t.Errorf("at %s of %s: athena answer\n%s\nwant\n%s", step, day, got, truth)
				}
				checked[step] = true
				if step == at {
					panic(crash(step))
				}
			}
			opts := compact.Options{Grace: time.Nanosecond, MaxBytes: 8 << 10, RowGroupRows: 64, Hook: hook,
				Now: func() time.Time { return now }, Publisher: ar.publisher()}
			run := func() (crashed bool) {
				defer func() {
					if r := recover(); r != nil {
						if _, ok := r.(crash); !ok {
							panic(r)
						}
						crashed = true
					}
				}()
				c := compact.New(a, closedBefore(day1.AddDate(0, 0, 3)), opts)
				if err := c.Cluster(context.Background(), "c1", []tables.Table{stlQuery(t)}, nil).Failed(); err != nil {
					t.Fatal(err)
				}
				return false
			}
			// The first run publishes the plain days before anything else.
			c := compact.New(a, closedBefore(day1), compact.Options{Publisher: ar.publisher(), Now: func() time.Time { return now }})
			if err := c.Publish(context.Background(), "stl_query", "c1"); err != nil {
				t.Fatal(err)
			}
			if got := ar.answer(t); got != truth {
				t.Fatalf("athena before compaction:\n%s\nwant\n%s", got, truth)
			}
			crashed := false
			for range 3 {
				if crashed = run(); crashed {
					break
				}
				now = now.Add(time.Second)
			}
			if !crashed {
				t.Fatalf("never reached step %s", at)
			}
			at = "none"
			for range 2 {
				now = now.Add(time.Second)
				run()
			}
			if got := ar.answer(t); got != truth {
				t.Fatalf("athena after the runs:\n%s\nwant\n%s", got, truth)
			}
			parts := ar.glue.Partitions(athenaDB, "stl_query")
			for _, d := range []string{"2026-03-01", "2026-03-02"} {
				if want := athenaLocation + tables.GenerationDir("stl_query", "c1", d, 1) + "/"; parts["c1/"+d] != want {
					t.Errorf("partition of %s at %q, want %s", d, parts["c1/"+d], want)
				}
			}
			for _, d := range []string{"2026-03-04", "2026-03-05"} { // today and tomorrow, ahead of their objects
				if parts["c1/"+d] == "" {
					t.Errorf("no partition for %s, created ahead", d)
				}
			}
			st, err := c.Status(context.Background(), "stl_query", "c1")
			if err != nil {
				t.Fatal(err)
			}
			if st.Garbage != 0 {
				t.Errorf("%d objects of garbage left", st.Garbage)
			}
			for _, s := range []compact.Step{compact.StepSwitched, compact.StepGlued, compact.StepPublished} {
				if !checked[s] {
					t.Errorf("step %s never checked", s)
				}
			}
		})
	}
}

// failing is a Publisher that fails while fail is set, as Glue does when it is unreachable.
type failing struct {
	compact.Publisher
	fail *bool
}

func (f failing) Publish(ctx context.Context, table, cluster string, want map[string]string) (catalog.PublishReport, error) {
	if *f.fail {
		return catalog.PublishReport{}, errors.New("glue unreachable")
	}
	return f.Publisher.Publish(ctx, table, cluster, want)
}

func TestWindowsOfADayNotYetPublishedStayPastTheirGrace(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	a := storage.Local{Root: root}
	writeWindows(t, a, "c1", day1, 4, 10, 1)
	ar := newAthenaReader(t, a)
	now := day1.AddDate(0, 0, 3)
	fail := false
	c := compact.New(a, closedBefore(now), compact.Options{Grace: time.Minute, Now: func() time.Time { return now },
		Publisher: failing{ar.publisher(), &fail}})
	if err := c.Publish(ctx, "stl_query", "c1"); err != nil {
		t.Fatal(err)
	}
	truth := ar.answer(t)

	fail = true
	if _, err := c.CompactDay(ctx, stlQuery(t), "c1", day1); err == nil || !strings.Contains(err.Error(), "not yet published") {
		t.Fatalf("compaction with Glue unreachable: %v, want an error saying the day is switched but not published", err)
	}
	now = now.Add(time.Hour)
	if n, err := c.Collect(ctx, "stl_query", "c1"); err != nil || n != 0 {
		t.Fatalf("collect of an unpublished day: deleted %d, %v; want nothing deleted", n, err)
	}
	if got := ar.answer(t); got != truth {
		t.Fatalf("athena while the day is unpublished:\n%s\nwant\n%s", got, truth)
	}

	fail = false
	published := now
	if err := c.Publish(ctx, "stl_query", "c1"); err != nil {
		t.Fatal(err)
	}
	if got := ar.answer(t); got != truth {
		t.Fatalf("athena after publishing:\n%s\nwant\n%s", got, truth)
	}
	// The grace counts from the publish: a query planned just before it may read the windows.
	now = published.Add(time.Minute - time.Second)
	if n, _ := c.Collect(ctx, "stl_query", "c1"); n != 0 {
		t.Errorf("deleted %d windows inside the grace after publishing", n)
	}
	now = published.Add(time.Minute)
	if n, err := c.Collect(ctx, "stl_query", "c1"); err != nil || n != 4 {
		t.Errorf("deleted %d, %v after the grace; want the 4 windows", n, err)
	}
	if got := ar.answer(t); got != truth {
		t.Fatalf("athena after deletion:\n%s\nwant\n%s", got, truth)
	}
}

func TestRetiredDayLosesItsPartitionAndWithoutPublisherNoGlueCall(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	a := storage.Local{Root: root}
	for i := range 3 {
		writeWindows(t, a, "c1", day1.AddDate(0, 0, i), 3, 10, uint64(i+1))
	}
	ar := newAthenaReader(t, a)
	now := time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)
	keep := map[string]time.Duration{"stl_query": 3 * 24 * time.Hour}

	// The embedded engine's compactor: the same runs, no Glue call at all.
	before := len(ar.glue.Calls())
	plain := compact.New(storage.Local{Root: t.TempDir()}, closedBefore(now), compact.Options{Now: func() time.Time { return now }})
	writeWindows(t, storage.Local{Root: root}, "c1", day1, 1, 1, 9) // unrelated to plain's archive
	if err := plain.Cluster(ctx, "c1", []tables.Table{stlQuery(t)}, keep).Failed(); err != nil {
		t.Fatal(err)
	}
	if n := len(ar.glue.Calls()) - before; n != 0 {
		t.Errorf("%d Glue calls without a publisher", n)
	}

	c := compact.New(a, closedBefore(day1), compact.Options{Grace: time.Hour, Now: func() time.Time { return now }, Publisher: ar.publisher()})
	if err := c.Cluster(ctx, "c1", []tables.Table{stlQuery(t)}, keep).Failed(); err != nil {
		t.Fatal(err)
	}
	parts := ar.glue.Partitions(athenaDB, "stl_query")
	if _, ok := parts["c1/2026-03-01"]; ok {
		t.Error("the retired day still has a partition")
	}
	if parts["c1/2026-03-02"] == "" || parts["c1/2026-03-03"] == "" {
		t.Errorf("days inside retention lost their partitions: %v", parts)
	}
	if got := ar.answer(t); strings.Contains(got, "2026-03-01") || !strings.Contains(got, "2026-03-02") {
		t.Errorf("athena after retention:\n%s", got)
	}
}
