package catalog

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/glue/types"
)

// PartitionAPI is the part of the Glue client that Publish calls.
type PartitionAPI interface {
	GetTable(ctx context.Context, in *glue.GetTableInput, opts ...func(*glue.Options)) (*glue.GetTableOutput, error)
	GetPartitions(ctx context.Context, in *glue.GetPartitionsInput, opts ...func(*glue.Options)) (*glue.GetPartitionsOutput, error)
	BatchCreatePartition(ctx context.Context, in *glue.BatchCreatePartitionInput, opts ...func(*glue.Options)) (*glue.BatchCreatePartitionOutput, error)
	UpdatePartition(ctx context.Context, in *glue.UpdatePartitionInput, opts ...func(*glue.Options)) (*glue.UpdatePartitionOutput, error)
	BatchDeletePartition(ctx context.Context, in *glue.BatchDeletePartitionInput, opts ...func(*glue.Options)) (*glue.BatchDeletePartitionOutput, error)
}

var _ PartitionAPI = (*glue.Client)(nil)

// Glue's limits on the batch partition actions.
const (
	batchCreateMax = 100
	batchDeleteMax = 25
)

// Partitions publishes the registered partitions of the archive's tables (Options.Registered):
// Athena reads a (cluster, day) of a table from the location of its partition, and from
// nothing when it has none.
type Partitions struct {
	API PartitionAPI
	// Database is the Glue database; Location the archive root, s3://bucket/prefix/.
	Database, Location string
}

// PublishReport counts what Publish changed.
type PublishReport struct {
	Created, Updated, Deleted, Unchanged int
}

// Publish makes the partitions of table on cluster in Glue exactly want: day (yyyy-MM-dd) →
// folder of the objects that hold it, relative to the archive root
// ("<table>/cluster=<c>/day=<d>/" or "<table>/cluster=<c>/compacted/day=<d>/g<g>/"). It creates
// the missing ones, moves those whose location differs (UpdatePartition: Athena plans a query
// from one read of a partition, so a day switches from one folder to the other, never to both
// or neither) and deletes those not wanted; partitions of other clusters are not touched. It is
// idempotent: a second call with the same want changes nothing, and a call after a crash in
// the middle of one finishes it.
func (p Partitions) Publish(ctx context.Context, table, cluster string, want map[string]string) (PublishReport, error) {
	return p.reconcile(ctx, table, cluster, want, true)
}

// Add creates the partitions of want that are missing and changes no other: what a caller that
// does not hold the cluster's lease may do (Ensure's Publish, before projection goes). A
// partition it could move or delete may be one that the lease holder has just published from a
// newer layout record; creating a missing one cannot undo such a publish (a create that comes
// second fails), and the lease holder's next Publish corrects what Add left.
func (p Partitions) Add(ctx context.Context, table, cluster string, want map[string]string) (PublishReport, error) {
	return p.reconcile(ctx, table, cluster, want, false)
}

func (p Partitions) reconcile(ctx context.Context, table, cluster string, want map[string]string, full bool) (PublishReport, error) {
	var rep PublishReport
	fail := func(action string, err error) (PublishReport, error) {
		return rep, fmt.Errorf("publish partitions of glue table %s.%s, cluster %s: glue:%s: %w", p.Database, table, cluster, action, err)
	}
	if !clusterRe.MatchString(cluster) {
		return rep, fmt.Errorf("publish partitions of %s: cluster %q is not a cluster name", table, cluster)
	}
	t, err := p.API.GetTable(ctx, &glue.GetTableInput{DatabaseName: aws.String(p.Database), Name: aws.String(table)})
	if err != nil {
		return fail("GetTable", err)
	}
	if t.Table.StorageDescriptor == nil {
		return fail("GetTable", errors.New("the table has no storage descriptor"))
	}
	have := map[string]string{}
	pages := glue.NewGetPartitionsPaginator(p.API, &glue.GetPartitionsInput{
		DatabaseName: aws.String(p.Database), TableName: aws.String(table),
		Expression: aws.String(clusterKey + "='" + cluster + "'"),
	})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return fail("GetPartitions", err)
		}
		for _, part := range out.Partitions {
			if len(part.Values) != 2 || part.Values[0] != cluster {
				continue
			}
			loc := ""
			if part.StorageDescriptor != nil {
				loc = aws.ToString(part.StorageDescriptor.Location)
			}
			have[part.Values[1]] = loc
		}
	}
	input := func(day, rel string) types.PartitionInput {
		sd := *t.Table.StorageDescriptor
		sd.Location = aws.String(p.location() + rel)
		return types.PartitionInput{Values: []string{cluster, day}, StorageDescriptor: &sd}
	}

	var create []types.PartitionInput
	var update []string
	for _, day := range slices.Sorted(maps.Keys(want)) {
		loc, ok := have[day]
		switch {
		case !ok:
			create = append(create, input(day, want[day]))
		case loc != p.location()+want[day]:
			update = append(update, day)
		default:
			rep.Unchanged++
		}
	}
	for chunk := range slices.Chunk(create, batchCreateMax) {
		out, err := p.API.BatchCreatePartition(ctx, &glue.BatchCreatePartitionInput{
			DatabaseName: aws.String(p.Database), TableName: aws.String(table), PartitionInputList: chunk,
		})
		if err != nil {
			return fail("BatchCreatePartition", err)
		}
		rep.Created += len(chunk) - len(out.Errors)
		for _, e := range out.Errors {
			if e.ErrorDetail != nil && aws.ToString(e.ErrorDetail.ErrorCode) == "AlreadyExistsException" && len(e.PartitionValues) == 2 {
				if !full {
					continue
				}
				// Created since the listing: set its location all the same.
				update = append(update, e.PartitionValues[1])
				continue
			}
			return fail("BatchCreatePartition", partitionErr(e))
		}
	}
	if !full {
		rep.Unchanged += len(update)
		return rep, nil
	}
	for _, day := range update {
		in := input(day, want[day])
		_, err := p.API.UpdatePartition(ctx, &glue.UpdatePartitionInput{
			DatabaseName: aws.String(p.Database), TableName: aws.String(table),
			PartitionValueList: []string{cluster, day}, PartitionInput: &in,
		})
		if err != nil {
			return fail("UpdatePartition", err)
		}
		rep.Updated++
	}
	var del []types.PartitionValueList
	for _, day := range slices.Sorted(maps.Keys(have)) {
		if _, ok := want[day]; !ok {
			del = append(del, types.PartitionValueList{Values: []string{cluster, day}})
		}
	}
	for chunk := range slices.Chunk(del, batchDeleteMax) {
		out, err := p.API.BatchDeletePartition(ctx, &glue.BatchDeletePartitionInput{
			DatabaseName: aws.String(p.Database), TableName: aws.String(table), PartitionsToDelete: chunk,
		})
		if err != nil {
			return fail("BatchDeletePartition", err)
		}
		rep.Deleted += len(chunk) - len(out.Errors)
		for _, e := range out.Errors {
			if e.ErrorDetail != nil && aws.ToString(e.ErrorDetail.ErrorCode) == "EntityNotFoundException" {
				continue // deleted since the listing: gone, as wanted
			}
			return fail("BatchDeletePartition", partitionErr(e))
		}
	}
	return rep, nil
}

func (p Partitions) location() string {
	if p.Location != "" && p.Location[len(p.Location)-1] != '/' {
		return p.Location + "/"
	}
	return p.Location
}

func partitionErr(e types.PartitionError) error {
	if e.ErrorDetail == nil {
		return fmt.Errorf("partition %v failed", e.PartitionValues)
	}
	return fmt.Errorf("partition %v: %s: %s", e.PartitionValues, aws.ToString(e.ErrorDetail.ErrorCode), aws.ToString(e.ErrorDetail.ErrorMessage))
}
