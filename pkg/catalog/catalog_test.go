package catalog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/glue/types"

	"github.com/stlarchive/redshift-stl-archive/pkg/catalog"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/awsfake"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/macro"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

var update = flag.Bool("update", false, "rewrite testdata/<table>.json from the TableInput sent")

const db = "stl_archive"

func options() catalog.Options {
	return catalog.Options{
		Database: db,
		Location: "s3://archive-bucket/redshift/",
		Tables:   tables.STL(),
		Clusters: []string{"prod-west", "prod-east", "analytics"},
		FirstDay: "2024-01-01",
	}
}

func ensure(t *testing.T, api catalog.GlueAPI, opts catalog.Options) catalog.Report {
	t.Helper()
	rep, err := catalog.Ensure(context.Background(), api, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func getTable(t *testing.T, c *glue.Client, name string) *types.Table {
	t.Helper()
	out, err := c.GetTable(context.Background(), &glue.GetTableInput{DatabaseName: aws.String(db), Name: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Table
}

func count(actions []string, action string) int {
	n := 0
	for _, a := range actions {
		if a == action {
			n++
		}
	}
	return n
}

func TestCreatedTablesMatchGoldenFiles(t *testing.T) {
	g := awsfake.NewGlue(t)
	rep := ensure(t, g.Client(), options())
	if !rep.DatabaseCreated {
		t.Error("database not reported as created")
	}
	if got := rep.Names(catalog.Created); !slices.Equal(got, tables.Names()) {
		t.Errorf("created %v, want every STL table %v", got, tables.Names())
	}
	sent := map[string][]byte{}
	for _, c := range g.Calls() {
		if c.Action != "CreateTable" {
			continue
		}
		var body struct {
			DatabaseName string
			TableInput   map[string]any
		}
		if err := json.Unmarshal(c.Body, &body); err != nil {
			t.Fatal(err)
		}
		if body.DatabaseName != db {
			t.Errorf("CreateTable in database %q, want %q", body.DatabaseName, db)
		}
		// Re-encoding sorts the keys, so a golden file does not depend on the SDK's field order.
		b, err := json.MarshalIndent(body.TableInput, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		sent[body.TableInput["Name"].(string)] = append(b, '\n')
	}
	for _, name := range tables.Names() {
		got, ok := sent[name]
		if !ok {
			t.Errorf("no CreateTable for %s", name)
			continue
		}
		path := filepath.Join("testdata", name+".json")
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -update to write it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("TableInput of %s differs from %s:\n%s", name, path, got)
		}
	}
}

func TestSecondRunMakesNoChangingCall(t *testing.T) {
	g := awsfake.NewGlue(t)
	c := g.Client()
	ensure(t, c, options())
	before, mutations := len(g.Calls()), g.Mutations()

	// The same options in another order and with a duplicate mean the same catalog.
	opts := options()
	opts.Clusters = []string{"analytics", "prod-west", "prod-east", "analytics"}
	opts.Location = strings.TrimSuffix(opts.Location, "/")
	rep := ensure(t, c, opts)

	if n := g.Mutations() - mutations; n != 0 {
		t.Errorf("second run made %d changing calls: %v", n, g.Actions()[before:])
	}
	if rep.DatabaseCreated || !slices.Equal(rep.Names(catalog.Unchanged), tables.Names()) {
		t.Errorf("second run: database created %v, unchanged %v; want false and every table", rep.DatabaseCreated, rep.Names(catalog.Unchanged))
	}
	want := append([]string{"GetDatabase"}, slices.Repeat([]string{"GetTable"}, len(tables.Names()))...)
	if got := g.Actions()[before:]; !slices.Equal(got, want) {
		t.Errorf("second run called %v, want %v", got, want)
	}
}

func TestAddedClusterUpdatesProjectionOfEveryTable(t *testing.T) {
	g := awsfake.NewGlue(t)
	c := g.Client()
	opts := options()
	ensure(t, c, opts)
	before, mutations := len(g.Calls()), g.Mutations()

	opts.Clusters = append(opts.Clusters, "dev")
	rep := ensure(t, c, opts)

	if n := count(g.Actions()[before:], "UpdateTable"); n != len(tables.Names()) {
		t.Errorf("%d UpdateTable calls, want one per table (%d)", n, len(tables.Names()))
	}
	if n := g.Mutations() - mutations; n != len(tables.Names()) {
		t.Errorf("%d changing calls, want only the %d updates", n, len(tables.Names()))
	}
	for _, tr := range rep.Tables {
		if tr.Action != catalog.Updated || len(tr.Changes) != 1 || !strings.Contains(tr.Changes[0], "projection.cluster.values") {
			t.Errorf("%s: %s %v, want updated for projection.cluster.values only", tr.Name, tr.Action, tr.Changes)
		}
		if got := getTable(t, c, tr.Name).Parameters["projection.cluster.values"]; got != "analytics,dev,prod-east,prod-west" {
			t.Errorf("%s: cluster values %q, want the sorted clusters with dev", tr.Name, got)
		}
	}
	before = len(g.Calls())
	ensure(t, c, opts)
	if n := count(g.Actions()[before:], "UpdateTable"); n != 0 {
		t.Errorf("run after the update made %d UpdateTable calls, want 0", n)
	}
}

func TestChangedColumnUpdatesOnlyItsTable(t *testing.T) {
	g := awsfake.NewGlue(t)
	c := g.Client()
	opts := options()
	ensure(t, c, opts)
	before := len(g.Calls())

	opts.Tables = tables.STL()
	q := &opts.Tables[0]
	q.Columns = slices.Clone(q.Columns)
	for i := range q.Columns {
		if q.Columns[i].Name == "aborted" {
			q.Columns[i].Type = "bigint"
		}
	}
	q.Columns = append(q.Columns, tables.Column{Name: "result_cache_hit", Type: "boolean"})
	rep := ensure(t, c, opts)

	if got := rep.Names(catalog.Updated); !slices.Equal(got, []string{"stl_query"}) {
		t.Errorf("updated %v, want [stl_query]", got)
	}
	if n := count(g.Actions()[before:], "UpdateTable"); n != 1 {
		t.Errorf("%d UpdateTable calls, want 1", n)
	}
	var changes string
	for _, tr := range rep.Tables {
		if tr.Name == "stl_query" {
			changes = strings.Join(tr.Changes, "; ")
		}
	}
	if !strings.Contains(changes, "column aborted type int → bigint") || !strings.Contains(changes, "column result_cache_hit missing") {
		t.Errorf("changes %q do not name the changed and the added column", changes)
	}
	cols := getTable(t, c, "stl_query").StorageDescriptor.Columns
	last := cols[len(cols)-1]
	if aws.ToString(last.Name) != "result_cache_hit" || aws.ToString(last.Type) != "boolean" {
		t.Errorf("last column %s %s, want result_cache_hit boolean", aws.ToString(last.Name), aws.ToString(last.Type))
	}
}

func TestTableEditedOutsideIsRestoredKeepingForeignParameters(t *testing.T) {
	g := awsfake.NewGlue(t)
	c := g.Client()
	opts := options()
	opts.Tables = opts.Tables[:1]
	ensure(t, c, opts)

	// Someone switches the cluster projection to injected, leaves a stray projection property,
	// points the table elsewhere and tags it.
	edited, err := catalog.TableInput(opts.Tables[0], opts)
	if err != nil {
		t.Fatal(err)
	}
	edited.Parameters["projection.cluster.type"] = "injected"
	delete(edited.Parameters, "projection.cluster.values")
	edited.Parameters["projection.cluster.digits"] = "2"
	edited.Parameters["owner_team"] = "dba"
	edited.StorageDescriptor.Location = aws.String("s3://elsewhere/")
	if _, err := c.UpdateTable(context.Background(), &glue.UpdateTableInput{DatabaseName: aws.String(db), TableInput: edited}); err != nil {
		t.Fatal(err)
	}

	rep := ensure(t, c, opts)
	if rep.Tables[0].Action != catalog.Updated {
		t.Fatalf("edited table %s, want updated", rep.Tables[0].Action)
	}
	got := getTable(t, c, "stl_query")
	want, _ := catalog.TableInput(opts.Tables[0], opts)
	for k, v := range want.Parameters {
		if got.Parameters[k] != v {
			t.Errorf("parameter %s = %q after restore, want %q", k, got.Parameters[k], v)
		}
	}
	if _, ok := got.Parameters["projection.cluster.digits"]; ok {
		t.Error("stray projection property survived the restore")
	}
	if got.Parameters["owner_team"] != "dba" {
		t.Error("a parameter another tool set was dropped")
	}
	if loc := aws.ToString(got.StorageDescriptor.Location); loc != "s3://archive-bucket/redshift/stl_query/" {
		t.Errorf("location %q after restore", loc)
	}
	if rep := ensure(t, c, opts); rep.Tables[0].Action != catalog.Unchanged {
		t.Errorf("restored table with a foreign parameter: %s %v, want unchanged", rep.Tables[0].Action, rep.Tables[0].Changes)
	}
}

func TestErrorsNameTheObjectAndTheDeniedAction(t *testing.T) {
	tests := []struct {
		action string
		setup  func(t *testing.T, c *glue.Client) catalog.Options // returns the options of the failing run
		object string
	}{
		{"GetDatabase", func(*testing.T, *glue.Client) catalog.Options { return options() }, "database " + db},
		{"CreateDatabase", func(*testing.T, *glue.Client) catalog.Options { return options() }, "database " + db},
		{"GetTable", func(*testing.T, *glue.Client) catalog.Options { return options() }, "table " + db + ".stl_query"},
		{"CreateTable", func(*testing.T, *glue.Client) catalog.Options { return options() }, "table " + db + ".stl_query"},
		{"UpdateTable", func(t *testing.T, c *glue.Client) catalog.Options {
			ensure(t, c, options())
			opts := options()
			opts.Clusters = append(opts.Clusters, "dev")
			return opts
		}, "table " + db + ".stl_query"},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			g := awsfake.NewGlue(t)
			c := g.Client()
			opts := tt.setup(t, c)
			g.Deny(tt.action)
			_, err := catalog.Ensure(context.Background(), c, opts)
			if !errors.As(err, new(*types.AccessDeniedException)) {
				t.Fatalf("error %v, want AccessDeniedException", err)
			}
			for _, part := range []string{tt.object, "glue:" + tt.action, "AccessDeniedException"} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not contain %q", err, part)
				}
			}
		})
	}
}

func TestTableCreatedMeanwhileIsComparedAndUpdated(t *testing.T) {
	g := awsfake.NewGlue(t)
	c := g.Client()
	opts := options()
	opts.Tables = opts.Tables[:1]
	// Another replica with an older configuration creates the table between our GetTable and
	// our CreateTable.
	g.Before("CreateTable", func() {
		other := options()
		other.Clusters = []string{"prod-east"}
		in, err := catalog.TableInput(other.Tables[0], other)
		if err != nil {
			t.Error(err)
			return
		}
		if _, err := c.CreateTable(context.Background(), &glue.CreateTableInput{DatabaseName: aws.String(db), TableInput: in}); err != nil {
			t.Error(err)
		}
	})
	rep := ensure(t, c, opts)
	if rep.Tables[0].Action != catalog.Updated {
		t.Errorf("table created meanwhile with other clusters: %s, want updated", rep.Tables[0].Action)
	}
	if got := getTable(t, c, "stl_query").Parameters["projection.cluster.values"]; got != "analytics,prod-east,prod-west" {
		t.Errorf("cluster values %q, want ours", got)
	}
}

func TestUpdateRacingAnotherWriterIsRetriedOnTheNewVersion(t *testing.T) {
	g := awsfake.NewGlue(t)
	c := g.Client()
	opts := options()
	opts.Tables = opts.Tables[:1]
	ensure(t, c, opts)
	opts.Clusters = append(opts.Clusters, "dev")
	g.Before("UpdateTable", func() {
		// Another replica updates the table between our GetTable and our UpdateTable.
		other := options()
		other.Tables = other.Tables[:1]
		other.FirstDay = "2023-01-01"
		in, _ := catalog.TableInput(other.Tables[0], other)
		if _, err := c.UpdateTable(context.Background(), &glue.UpdateTableInput{DatabaseName: aws.String(db), TableInput: in}); err != nil {
			t.Error(err)
		}
	})
	before := len(g.Calls())
	rep := ensure(t, c, opts)
	if rep.Tables[0].Action != catalog.Updated {
		t.Errorf("action %s, want updated", rep.Tables[0].Action)
	}
	// Ours (refused: stale version), the other writer's, ours again on the version it made.
	if n := count(g.Actions()[before:], "UpdateTable"); n != 3 {
		t.Errorf("%d UpdateTable calls, want 3", n)
	}
	got := getTable(t, c, "stl_query")
	if v, r := got.Parameters["projection.cluster.values"], got.Parameters["projection.day.range"]; v != "analytics,dev,prod-east,prod-west" || r != "2024-01-01,NOW" {
		t.Errorf("after the race: clusters %q, range %q; want ours", v, r)
	}
}

func TestInvalidOptionsAreRefusedBeforeAnyCall(t *testing.T) {
	tests := []struct {
		name   string
		change func(*catalog.Options)
		want   string
	}{
		{"no database", func(o *catalog.Options) { o.Database = "" }, "no database"},
		{"database needing quotes", func(o *catalog.Options) { o.Database = "STL-Archive" }, "database"},
		{"location not in S3", func(o *catalog.Options) { o.Location = "/var/archive/" }, "location"},
		{"location without bucket", func(o *catalog.Options) { o.Location = "s3://" }, "location"},
		{"no clusters", func(o *catalog.Options) { o.Clusters = nil }, "no clusters"},
		{"cluster with a comma", func(o *catalog.Options) { o.Clusters = []string{"a,b"} }, `not cluster names: "a,b"`},
		{"cluster with a slash", func(o *catalog.Options) { o.Clusters = []string{"a/b"} }, `not cluster names: "a/b"`},
		{"only an empty cluster", func(o *catalog.Options) { o.Clusters = []string{""} }, `not cluster names: ""`},
		{"first day not a date", func(o *catalog.Options) { o.FirstDay = "2024-13-01" }, "first day"},
		{"first day missing", func(o *catalog.Options) { o.FirstDay = "" }, "first day"},
		{"table twice", func(o *catalog.Options) { o.Tables = append(o.Tables, o.Tables[0]) }, "twice"},
		{"table name needing quotes", func(o *catalog.Options) { o.Tables = []tables.Table{{Name: "STL Query"}} }, "table"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := awsfake.NewGlue(t)
			opts := options()
			tt.change(&opts)
			_, err := catalog.Ensure(context.Background(), g.Client(), opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one about %q", err, tt.want)
			}
			if calls := g.Actions(); len(calls) != 0 {
				t.Errorf("called Glue %v before refusing the options", calls)
			}
		})
	}
}

func TestPartitionColumnNamedByATableIsRefused(t *testing.T) {
	g := awsfake.NewGlue(t)
	opts := options()
	opts.Tables = []tables.Table{{Name: "custom", Columns: []tables.Column{{Name: "day", Type: "date"}}}}
	_, err := catalog.Ensure(context.Background(), g.Client(), opts)
	if err == nil || !strings.Contains(err.Error(), "custom") || !strings.Contains(err.Error(), "partition column") {
		t.Errorf("error %v, want one naming the table and the partition column", err)
	}
	if n := g.Mutations(); n != 1 { // the database only
		t.Errorf("%d changing calls, want only CreateDatabase", n)
	}
}

func TestCustomQueryWithoutColumnsIsSkipped(t *testing.T) {
	g := awsfake.NewGlue(t)
	opts := options()
	opts.Tables = append(tables.STL()[:1], tables.Custom("big_orders", "SELECT * FROM orders", "created_at", nil))
	rep := ensure(t, g.Client(), opts)
	if got := rep.Names(catalog.Skipped); !slices.Equal(got, []string{"big_orders"}) {
		t.Errorf("skipped %v, want [big_orders]", got)
	}
	if len(rep.Tables[1].Changes) == 0 {
		t.Error("skip gives no reason")
	}
	for _, c := range g.Calls() {
		if strings.Contains(string(c.Body), "big_orders") {
			t.Errorf("%s sent for a skipped table", c.Action)
		}
	}
}

func TestGlueTypeReadsWhatTheExporterWrites(t *testing.T) {
	tests := []struct{ redshift, glue string }{
		{"smallint", "smallint"},
		{"int2", "smallint"},
		{"integer", "int"},
		{"int4", "int"},
		{"bigint", "bigint"},
		{"INT8", "bigint"},
		{"real", "float"},
		{"double precision", "double"},
		{"float8", "double"},
		{"boolean", "boolean"},
		{"date", "date"},
		{"timestamp", "timestamp"},
		{"timestamp without time zone", "timestamp"},
		{"timestamptz", "timestamp"},
		{"timestamp  with time zone", "timestamp"},
		{"numeric(12,2)", "decimal(12,2)"},
		{"decimal(18, 0)", "decimal(18,0)"},
		{"numeric(10)", "decimal(10,0)"},
		{"numeric(19,2)", "string"}, // wider than int64: written as decimal text
		{"numeric(38,10)", "string"},
		{"numeric", "string"},
		{"character(320)", "string"},
		{"char(20)", "string"},
		{"varchar(256)", "string"},
		{"character varying(65535)", "string"},
		{"text", "string"},
		{"super", "string"}, // read in text format by the exporter
	}
	for _, tt := range tests {
		if got := catalog.GlueType(tt.redshift); got != tt.glue {
			t.Errorf("GlueType(%q) = %q, want %q", tt.redshift, got, tt.glue)
		}
	}
}

func TestLocationTemplateNamesTheArchiveFolders(t *testing.T) {
	opts := options()
	day := time.Date(2025, 3, 9, 17, 0, 0, 0, time.UTC)
	for _, tb := range tables.STL() {
		in, err := catalog.TableInput(tb, opts)
		if err != nil {
			t.Fatal(err)
		}
		got := strings.NewReplacer("${cluster}", "prod-east", "${day}", day.Format("2006-01-02")).
			Replace(in.Parameters["storage.location.template"])
		want := opts.Location + tables.PartitionDir(tb.Name, "prod-east", day) + "/"
		if got != want {
			t.Errorf("%s: template gives %q, the exporter writes to %q", tb.Name, got, want)
		}
		if loc := aws.ToString(in.StorageDescriptor.Location); !strings.HasPrefix(got, loc) {
			t.Errorf("%s: partition %q lies outside the table location %q", tb.Name, got, loc)
		}
	}
}

// The Athena expansions of $__dayFilter and $__clusterFilter compare day with DATE literals and
// cluster with string literals; Trino refuses to compare a varchar with a date, so the
// partition keys must have exactly these types.
func TestPartitionKeyTypesMatchAthenaMacros(t *testing.T) {
	env := macro.Env{From: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC),
		Clusters: []string{"prod-east"}}
	sql, err := macro.Expand("$__dayFilter AND $__clusterFilter", macro.Athena, env)
	if err != nil {
		t.Fatal(err)
	}
	if want := "day BETWEEN DATE '2025-03-01' AND DATE '2025-03-02' AND cluster IN ('prod-east')"; sql != want {
		t.Fatalf("athena macros expand to %q, this test expects %q: check the partition key types", sql, want)
	}
	in, err := catalog.TableInput(tables.STL()[0], options())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, k := range in.PartitionKeys {
		got[aws.ToString(k.Name)] = aws.ToString(k.Type)
	}
	if got["day"] != "date" || got["cluster"] != "string" || len(got) != 2 {
		t.Errorf("partition keys %v, want day date and cluster string", got)
	}
	if f := in.Parameters["projection.day.format"]; f != "yyyy-MM-dd" {
		t.Errorf("day projection format %q: a date partition column needs yyyy-MM-dd", f)
	}
}

// TestMalformedClusterNamesAreLeftOutOfTheProjection gives Ensure a malformed entry of SSM's
// cluster list next to valid names: the catalog is still made, with the valid names alone in
// the projection, and the report names the ones left out.
func TestMalformedClusterNamesAreLeftOutOfTheProjection(t *testing.T) {
	g := awsfake.NewGlue(t)
	opts := options()
	opts.Clusters = []string{"prod-east", "Bad Name!", "a,b", "dev"}
	rep, err := catalog.Ensure(context.Background(), g.Client(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.SkippedClusters, []string{"Bad Name!", "a,b"}) {
		t.Errorf("skipped %q, want the two malformed names", rep.SkippedClusters)
	}
	if n := len(rep.Names(catalog.Created)); n == 0 {
		t.Fatalf("no table created: %+v", rep)
	}
	in, err := catalog.TableInput(opts.Tables[0], opts)
	if err != nil {
		t.Fatal(err)
	}
	if v := in.Parameters["projection.cluster.values"]; v != "dev,prod-east" {
		t.Errorf("projected clusters %q, want dev,prod-east", v)
	}
}
