// Package catalog keeps the AWS Glue Data Catalog tables through which Athena reads the S3
// archive: one external Parquet table per archived table, partitioned by cluster and day, with
// the same columns and types the exporter writes. Ensure makes the catalog match the
// configuration and touches nothing that already does, so it can run at every start.
//
// Without compaction, partitions are not registered at all: the tables use Athena partition
// projection (with compaction, see Options.Registered and Partitions.Publish). Athena
// computes the partitions of a query from the table's properties (the configured clusters, and
// every day from the first one to today) and the location template, so a Parquet file the
// exporter writes is queryable the moment it lands, with no Glue crawler, no crawler lag, no
// MSCK REPAIR TABLE or ALTER TABLE ADD PARTITION after each export, and no partition count
// that grows with history.
//
// cluster is projected as an enum of the configured clusters rather than as an injected
// column. An injected column needs an equality predicate on it in every query, and dashboards
// ask for all clusters at once ($__clusterFilter expands to 1=1 then): with injection those
// queries would fail. The enum costs one UpdateTable per table when a cluster is added, which
// Ensure does. The enum is exactly the clusters given: a caller that wants the history of a
// removed cluster to stay queryable keeps it in Options.Clusters.
//
// day is a date column (not a string) because the Athena expansion of $__dayFilter compares it
// with DATE literals; its projection generates yyyy-MM-dd values, the format of the archive's
// day=… folders.
//
// The package talks to Glue only through GlueAPI and PartitionAPI. It does not create, list or
// read objects in S3 (which partitions readers should see is its callers' to say), and it never
// deletes a table.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/glue/types"

	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// GlueAPI is the part of the Glue client that Ensure calls.
type GlueAPI interface {
	GetDatabase(ctx context.Context, in *glue.GetDatabaseInput, opts ...func(*glue.Options)) (*glue.GetDatabaseOutput, error)
	CreateDatabase(ctx context.Context, in *glue.CreateDatabaseInput, opts ...func(*glue.Options)) (*glue.CreateDatabaseOutput, error)
	GetTable(ctx context.Context, in *glue.GetTableInput, opts ...func(*glue.Options)) (*glue.GetTableOutput, error)
	CreateTable(ctx context.Context, in *glue.CreateTableInput, opts ...func(*glue.Options)) (*glue.CreateTableOutput, error)
	UpdateTable(ctx context.Context, in *glue.UpdateTableInput, opts ...func(*glue.Options)) (*glue.UpdateTableOutput, error)
	GetPartitions(ctx context.Context, in *glue.GetPartitionsInput, opts ...func(*glue.Options)) (*glue.GetPartitionsOutput, error)
}

var _ GlueAPI = (*glue.Client)(nil)

// Options say what the catalog should hold.
type Options struct {
	// Database is the Glue database of the tables; created when missing.
	Database string
	// Location is the archive root in S3, s3://bucket/prefix/ (a missing trailing slash is
	// added). Table t lives under <Location><t>/.
	Location string
	// Tables are the archived tables. Tables without declared columns (custom queries, whose
	// columns come from their result) are skipped and reported as such.
	Tables []tables.Table
	// Clusters are the values of the cluster partition. Names no exported cluster can have (a
	// malformed entry of SSM's cluster list) are left out and reported in
	// Report.SkippedClusters; at least one must remain.
	Clusters []string
	// FirstDay (yyyy-MM-dd) starts the projected day range, which ends today (UTC). Days
	// before it are invisible to Athena. A query without a day predicate ($__dayFilter) makes
	// Athena look into every projected day of every cluster, so FirstDay is best the start of
	// the archive, not earlier.
	FirstDay string
	// Registered replaces projection with registered partitions, which Publish keeps
	// (Partitions.Publish): compaction moves a closed day to a generation folder that a
	// projection's location template cannot name (docs/compaction.md).
	Registered bool
	// Publish, with Registered, registers the partitions of every day of a table that readers
	// should see. Ensure calls it after creating the table, and before it takes projection off
	// an existing table: while projection is on Athena ignores registered partitions, so they
	// are all in place when Athena starts reading them, and no moment finds a table with
	// neither.
	Publish func(ctx context.Context, table string) error
}

// Action is what Ensure did to one table.
type Action string

const (
	Created   Action = "created"
	Updated   Action = "updated"
	Unchanged Action = "unchanged"
	Skipped   Action = "skipped"
)

// TableReport is the outcome for one table.
type TableReport struct {
	Name   string
	Action Action
	// Changes say what differed, for an updated table, and why, for a skipped one.
	Changes []string
}

// Report is what Ensure found and did.
type Report struct {
	Database        string
	DatabaseCreated bool
	// Tables in the order of Options.Tables.
	Tables []TableReport
	// SkippedClusters are the Options.Clusters left out of the projection: no archived
	// partition can have them as cluster value.
	SkippedClusters []string
}

// Names returns the tables that had action a, in order.
func (r Report) Names(a Action) []string {
	var out []string
	for _, t := range r.Tables {
		if t.Action == a {
			out = append(out, t.Name)
		}
	}
	return out
}

// maxAttempts bounds the rounds of read-compare-write on one table when another writer (a
// second replica running Ensure at the same time) gets in between.
const maxAttempts = 3

// Ensure creates the database if it is missing and makes each table's definition in Glue
// equal to the one derived from opts: it creates missing tables, updates those that differ and
// leaves the rest alone, so that a second run with the same options changes nothing. Table
// parameters it does not manage (added by other tools) survive an update.
//
// It stops at the first error; the error names the database or table and the Glue action.
func Ensure(ctx context.Context, api GlueAPI, opts Options) (Report, error) {
	o, skipped, err := opts.normalize()
	if err != nil {
		return Report{SkippedClusters: skipped}, fmt.Errorf("ensure glue catalog: %w", err)
	}
	rep := Report{Database: o.Database, SkippedClusters: skipped}
	if rep.DatabaseCreated, err = ensureDatabase(ctx, api, o.Database); err != nil {
		return rep, err
	}
	for _, t := range o.Tables {
		if len(t.Columns) == 0 {
			rep.Tables = append(rep.Tables, TableReport{Name: t.Name, Action: Skipped,
				Changes: []string{"no declared columns: a custom query's columns are known only from its result"}})
			continue
		}
		want, err := TableInput(t, o)
		if err != nil {
			return rep, fmt.Errorf("ensure glue table %s.%s: %w", o.Database, t.Name, err)
		}
		tr, err := ensureTable(ctx, api, o.Database, want, o.publish)
		if err != nil {
			return rep, err
		}
		rep.Tables = append(rep.Tables, tr)
	}
	return rep, nil
}

func ensureDatabase(ctx context.Context, api GlueAPI, name string) (bool, error) {
	_, err := api.GetDatabase(ctx, &glue.GetDatabaseInput{Name: aws.String(name)})
	if err == nil {
		return false, nil
	}
	if !errors.As(err, new(*types.EntityNotFoundException)) {
		return false, fmt.Errorf("ensure glue database %s: glue:GetDatabase: %w", name, err)
	}
	_, err = api.CreateDatabase(ctx, &glue.CreateDatabaseInput{DatabaseInput: &types.DatabaseInput{
		Name:        aws.String(name),
		Description: aws.String("Redshift STL archive: the STL tables of every cluster, as Parquet in S3."),
	}})
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, new(*types.AlreadyExistsException)):
		// Another replica created it between our read and our create: it exists, as wanted.
		return false, nil
	}
	return false, fmt.Errorf("ensure glue database %s: glue:CreateDatabase: %w", name, err)
}

// publish registers a table's partitions when the options ask for registered partitions.
func (o Options) publish(ctx context.Context, table string) error {
	if !o.Registered || o.Publish == nil {
		return nil
	}
	if err := o.Publish(ctx, table); err != nil {
		return fmt.Errorf("ensure glue table %s.%s: %w", o.Database, table, err)
	}
	return nil
}

func ensureTable(ctx context.Context, api GlueAPI, db string, want *types.TableInput, publish func(context.Context, string) error) (TableReport, error) {
	name := aws.ToString(want.Name)
	fail := func(action string, err error) (TableReport, error) {
		return TableReport{}, fmt.Errorf("ensure glue table %s.%s: glue:%s: %w", db, name, action, err)
	}
	for attempt := 1; ; attempt++ {
		last := attempt == maxAttempts
		out, err := api.GetTable(ctx, &glue.GetTableInput{DatabaseName: aws.String(db), Name: aws.String(name)})
		if errors.As(err, new(*types.EntityNotFoundException)) {
			_, err = api.CreateTable(ctx, &glue.CreateTableInput{DatabaseName: aws.String(db), TableInput: want})
			switch {
			case err == nil:
				return TableReport{Name: name, Action: Created}, publish(ctx, name)
			case errors.As(err, new(*types.AlreadyExistsException)) && !last:
				continue // created by another writer meanwhile: compare with theirs
			}
			return fail("CreateTable", err)
		}
		if err != nil {
			return fail("GetTable", err)
		}
		changes := diff(want, out.Table)
		if len(changes) == 0 {
			return TableReport{Name: name, Action: Unchanged}, nil
		}
		if _, projected := want.Parameters["projection.enabled"]; projected && out.Table.Parameters["projection.enabled"] != "true" {
			// Back from registered partitions to projection: Athena would then read only the
			// day folders, and every compacted day would vanish from its answers.
			loc, err := compactedPartition(ctx, api, db, name)
			if err != nil {
				return fail("GetPartitions", err)
			}
			if loc != "" {
				return TableReport{}, fmt.Errorf("ensure glue table %s.%s: %w (partition at %s): keep jsonData.compaction.enabled on while query.engine is athena",
					db, name, ErrCompactedDays, loc)
			}
		}
		if _, projected := want.Parameters["projection.enabled"]; !projected && out.Table.Parameters["projection.enabled"] == "true" {
			if err := publish(ctx, name); err != nil {
				return TableReport{}, err
			}
		}
		_, err = api.UpdateTable(ctx, &glue.UpdateTableInput{
			DatabaseName: aws.String(db),
			TableInput:   keepForeign(want, out.Table),
			// The version read: Glue refuses the update if another writer changed the table
			// since, instead of letting the later write silently undo the earlier one.
			VersionId: out.Table.VersionId,
		})
		switch {
		case err == nil:
			return TableReport{Name: name, Action: Updated, Changes: changes}, nil
		case errors.As(err, new(*types.ConcurrentModificationException)) && !last:
			continue
		}
		return fail("UpdateTable", err)
	}
}

// normalize checks the options and returns them with the location slash-terminated and the
// valid clusters sorted without duplicates, and the invalid clusters apart.
// clusterRe is the rule of an exported cluster's name, and so of a cluster partition value:
// nothing in it needs quoting, and no comma or slash can break the projection or the location.
var clusterRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

func (o Options) normalize() (Options, []string, error) {
	var skipped []string
	clusters := make([]string, 0, len(o.Clusters))
	for _, c := range o.Clusters {
		if clusterRe.MatchString(c) {
			clusters = append(clusters, c)
		} else {
			skipped = append(skipped, c)
		}
	}
	o.Clusters = clusters
	o, err := o.checkRest()
	if err != nil && len(o.Clusters) == 0 && len(skipped) > 0 {
		quoted := make([]string, len(skipped))
		for i, c := range skipped {
			quoted[i] = strconv.Quote(c)
		}
		err = fmt.Errorf("%w (left out, not cluster names: %s)", err, strings.Join(quoted, ", "))
	}
	return o, skipped, err
}

func (o Options) checkRest() (Options, error) {
	if o.Database == "" {
		return o, errors.New("no database")
	}
	if !tables.ValidName(o.Database) {
		return o, fmt.Errorf("database %q: use lower-case letters, digits and underscores", o.Database)
	}
	rest, ok := strings.CutPrefix(o.Location, "s3://")
	if !ok || rest == "" || strings.HasPrefix(rest, "/") {
		return o, fmt.Errorf("location %q is not s3://bucket/prefix/", o.Location)
	}
	if !strings.HasSuffix(o.Location, "/") {
		o.Location += "/"
	}
	if _, err := time.Parse(tables.DayFormat, o.FirstDay); err != nil {
		return o, fmt.Errorf("first day %q is not yyyy-MM-dd", o.FirstDay)
	}
	if len(o.Clusters) == 0 {
		return o, errors.New("no clusters: the cluster projection needs at least one value")
	}
	clusters := slices.Clone(o.Clusters)
	slices.Sort(clusters)
	o.Clusters = slices.Compact(clusters)
	seen := map[string]bool{}
	for _, t := range o.Tables {
		if !tables.ValidName(t.Name) {
			return o, fmt.Errorf("table %q: use lower-case letters, digits and underscores", t.Name)
		}
		if seen[t.Name] {
			return o, fmt.Errorf("table %s appears twice", t.Name)
		}
		seen[t.Name] = true
	}
	return o, nil
}

// ErrCompactedDays refuses to put projection back on a table whose registered partitions name
// compacted generations: projection reads only day=<d>/ folders, so those days would vanish.
var ErrCompactedDays = errors.New("the table has compacted days, which Athena reads only through registered partitions; projection would hide them")

// compactedPartition returns the location of one partition of the table that reads a compacted
// generation, or "" when there is none.
func compactedPartition(ctx context.Context, api GlueAPI, db, table string) (string, error) {
	pages := glue.NewGetPartitionsPaginator(api, &glue.GetPartitionsInput{DatabaseName: aws.String(db), TableName: aws.String(table)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return "", err
		}
		for _, p := range page.Partitions {
			if p.StorageDescriptor != nil && strings.Contains(aws.ToString(p.StorageDescriptor.Location), "/compacted/") {
				return aws.ToString(p.StorageDescriptor.Location), nil
			}
		}
	}
	return "", nil
}
