package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stlarchive/redshift-stl-archive/pkg/catalog"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/awsfake"
)

func registered() catalog.Options {
	o := options()
	o.Registered = true
	return o
}

func TestPublishMakesTheClustersPartitionsExactlyTheWantedOnes(t *testing.T) {
	ctx := context.Background()
	g := awsfake.NewGlue(t)
	g.PartitionPage = 7
	c := g.Client()
	ensure(t, c, registered())
	p := catalog.Partitions{API: c, Database: db, Location: "s3://archive-bucket/redshift"}

	want := map[string]string{}
	for d := 1; d <= 130; d++ { // more than one BatchCreatePartition and one GetPartitions page
		day := fmt.Sprintf("2026-%02d-%02d", (d-1)/28+1, (d-1)%28+1)
		want[day] = "stl_scan/cluster=prod-west/day=" + day + "/"
	}
	other := map[string]string{"2026-01-01": "stl_scan/cluster=prod-east/day=2026-01-01/"}
	if _, err := p.Publish(ctx, "stl_scan", "prod-east", other); err != nil {
		t.Fatal(err)
	}
	rep, err := p.Publish(ctx, "stl_scan", "prod-west", want)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != 130 || rep.Updated+rep.Deleted+rep.Unchanged != 0 {
		t.Errorf("first publish %+v, want 130 created", rep)
	}

	// Day 1 compacted, day 2 retired, a day with a new object added.
	want["2026-01-01"] = "stl_scan/cluster=prod-west/compacted/day=2026-01-01/g1/"
	delete(want, "2026-01-02")
	want["2026-06-01"] = "stl_scan/cluster=prod-west/day=2026-06-01/"
	rep, err = p.Publish(ctx, "stl_scan", "prod-west", want)
	if err != nil {
		t.Fatal(err)
	}
	if rep != (catalog.PublishReport{Created: 1, Updated: 1, Deleted: 1, Unchanged: 128}) {
		t.Errorf("second publish %+v, want 1 created, 1 updated, 1 deleted, 128 unchanged", rep)
	}
	got := g.Partitions(db, "stl_scan")
	if len(got) != len(want)+1 {
		t.Errorf("%d partitions, want %d of prod-west and prod-east's one", len(got), len(want)+1)
	}
	for day, rel := range want {
		if loc := got["prod-west/"+day]; loc != "s3://archive-bucket/redshift/"+rel {
			t.Errorf("prod-west %s at %q, want %s", day, loc, rel)
		}
	}
	if got["prod-east/2026-01-01"] == "" {
		t.Error("publishing prod-west deleted prod-east's partition")
	}

	before := g.Mutations()
	rep, err = p.Publish(ctx, "stl_scan", "prod-west", want)
	if err != nil {
		t.Fatal(err)
	}
	if n := g.Mutations(); n != before || rep.Unchanged != len(want) {
		t.Errorf("a second publish of the same partitions made %d changing calls (%+v), want none", n-before, rep)
	}
}

func TestPublishTakesPartitionsCreatedMeanwhile(t *testing.T) {
	ctx := context.Background()
	g := awsfake.NewGlue(t)
	c := g.Client()
	ensure(t, c, registered())
	p := catalog.Partitions{API: c, Database: db, Location: "s3://archive-bucket/redshift/"}
	// Another writer registers the day at its plain folder between the listing and the create.
	g.Before("BatchCreatePartition", func() {
		if _, err := p.Publish(ctx, "stl_scan", "prod-west", map[string]string{"2026-01-01": "stl_scan/cluster=prod-west/day=2026-01-01/"}); err != nil {
			t.Error(err)
		}
	})
	want := map[string]string{"2026-01-01": "stl_scan/cluster=prod-west/compacted/day=2026-01-01/g1/"}
	if _, err := p.Publish(ctx, "stl_scan", "prod-west", want); err != nil {
		t.Fatal(err)
	}
	if loc := g.Partitions(db, "stl_scan")["prod-west/2026-01-01"]; loc != "s3://archive-bucket/redshift/"+want["2026-01-01"] {
		t.Errorf("partition at %q, want the compacted folder", loc)
	}
}

func TestSwitchToRegisteredPartitionsPublishesBeforeProjectionGoesOff(t *testing.T) {
	g := awsfake.NewGlue(t)
	c := g.Client()
	ensure(t, c, options()) // projected
	p := catalog.Partitions{API: c, Database: db, Location: "s3://archive-bucket/redshift/"}
	var published []string
	o := registered()
	o.Publish = func(ctx context.Context, table string) error {
		// Athena must not yet read registered partitions: the table still projects.
		if getTable(t, c, table).Parameters["projection.enabled"] != "true" {
			t.Errorf("%s: projection was off before its partitions were published", table)
		}
		published = append(published, table)
		_, err := p.Publish(ctx, table, "prod-west", map[string]string{"2026-01-01": table + "/cluster=prod-west/day=2026-01-01/"})
		return err
	}
	rep := ensure(t, c, o)
	if got := rep.Names(catalog.Updated); !slices.Equal(got, published) || len(got) != len(options().Tables) {
		t.Errorf("updated %v, published %v: want every table, each published", got, published)
	}
	for _, name := range published {
		tb := getTable(t, c, name)
		if _, on := tb.Parameters["projection.enabled"]; on || tb.Parameters["storage.location.template"] != "" {
			t.Errorf("%s still has projection parameters: %v", name, slices.Sorted(maps.Keys(tb.Parameters)))
		}
		if len(g.Partitions(db, name)) != 1 {
			t.Errorf("%s has %d partitions, want the published one", name, len(g.Partitions(db, name)))
		}
	}

	// Registered tables are unchanged by a second run, which publishes nothing.
	published = nil
	before := g.Mutations()
	ensure(t, c, o)
	if g.Mutations() != before || len(published) != 0 {
		t.Errorf("second run: %d changing calls, published %v; want none", g.Mutations()-before, published)
	}
}

func TestFailedPublishLeavesProjectionOn(t *testing.T) {
	g := awsfake.NewGlue(t)
	c := g.Client()
	ensure(t, c, options())
	o := registered()
	o.Publish = func(ctx context.Context, table string) error { return fmt.Errorf("archive unreadable") }
	if _, err := catalog.Ensure(context.Background(), c, o); err == nil {
		t.Fatal("no error when the partitions could not be published")
	}
	for _, tb := range options().Tables {
		if getTable(t, c, tb.Name).Parameters["projection.enabled"] != "true" {
			t.Errorf("%s lost projection without its partitions", tb.Name)
		}
	}
}

func TestCreatedRegisteredTableIsPublished(t *testing.T) {
	g := awsfake.NewGlue(t)
	c := g.Client()
	var published []string
	o := registered()
	o.Publish = func(ctx context.Context, table string) error {
		published = append(published, table)
		return nil
	}
	rep := ensure(t, c, o)
	if got := rep.Names(catalog.Created); !slices.Equal(got, published) || len(got) == 0 {
		t.Errorf("created %v, published %v: want each created table published", got, published)
	}
}

func TestAddCreatesOnlyMissingPartitionsAndMovesNone(t *testing.T) {
	ctx := context.Background()
	g := awsfake.NewGlue(t)
	c := g.Client()
	ensure(t, c, registered())
	p := catalog.Partitions{API: c, Database: db, Location: "s3://archive-bucket/redshift/"}
	compacted := "stl_scan/cluster=prod-west/compacted/day=2026-01-01/g1/"
	if _, err := p.Publish(ctx, "stl_scan", "prod-west", map[string]string{"2026-01-01": compacted, "2026-01-05": "stl_scan/cluster=prod-west/day=2026-01-05/"}); err != nil {
		t.Fatal(err)
	}
	// A stale view: day 1 still plain, day 5 unknown, day 2 new.
	rep, err := p.Add(ctx, "stl_scan", "prod-west", map[string]string{
		"2026-01-01": "stl_scan/cluster=prod-west/day=2026-01-01/", "2026-01-02": "stl_scan/cluster=prod-west/day=2026-01-02/"})
	if err != nil {
		t.Fatal(err)
	}
	got := g.Partitions(db, "stl_scan")
	if rep.Created != 1 || got["prod-west/2026-01-02"] == "" {
		t.Errorf("add %+v: the missing day was not created", rep)
	}
	if got["prod-west/2026-01-01"] != "s3://archive-bucket/redshift/"+compacted || got["prod-west/2026-01-05"] == "" {
		t.Errorf("add moved or deleted a published partition: %v", got)
	}
}

// TestProjectionIsNotPutBackOverCompactedDays: turning compaction off under Athena asks for
// projection again, which reads only day folders. While a partition names a compacted
// generation, Ensure refuses with an error naming the setting and leaves the table as it is;
// without one, the table goes back to projection.
func TestProjectionIsNotPutBackOverCompactedDays(t *testing.T) {
	ctx := context.Background()
	g := awsfake.NewGlue(t)
	c := g.Client()
	ensure(t, c, registered())
	p := catalog.Partitions{API: c, Database: db, Location: "s3://archive-bucket/redshift"}
	if _, err := p.Publish(ctx, "stl_query", "prod-west", map[string]string{
		"2026-01-01": "stl_query/cluster=prod-west/compacted/day=2026-01-01/g1/",
		"2026-01-02": "stl_query/cluster=prod-west/day=2026-01-02/",
	}); err != nil {
		t.Fatal(err)
	}
	before := g.Mutations()
	_, err := catalog.Ensure(ctx, c, options())
	if !errors.Is(err, catalog.ErrCompactedDays) || !strings.Contains(err.Error(), "jsonData.compaction.enabled") ||
		!strings.Contains(err.Error(), "stl_query") {
		t.Fatalf("Ensure with projection over compacted days: %v", err)
	}
	if n := g.Mutations() - before; n != 0 {
		t.Errorf("the refused Ensure made %d changing calls", n)
	}

	// Once no partition names a generation (say every compacted day was retired), projection
	// may come back.
	if _, err := p.Publish(ctx, "stl_query", "prod-west", map[string]string{"2026-01-02": "stl_query/cluster=prod-west/day=2026-01-02/"}); err != nil {
		t.Fatal(err)
	}
	if _, err := catalog.Ensure(ctx, c, options()); err != nil {
		t.Fatal(err)
	}
	if getTable(t, c, "stl_query").Parameters["projection.enabled"] != "true" {
		t.Error("stl_query did not go back to projection")
	}
}
