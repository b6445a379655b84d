package awsfake

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"

	"github.com/stlarchive/redshift-stl-archive/pkg/export/storage"
)

// PartitionLister is the part of the Glue client an Athena plan reads.
type PartitionLister interface {
	glue.GetPartitionsAPIClient
}

// PlannedPartition is one partition of an Athena plan: its values and the objects Athena reads
// for it.
type PlannedPartition struct {
	Values   []string
	Location string
	// Keys are the archive keys of the objects under Location, sorted.
	Keys []string
}

// PlanAthena plans a scan of a table with registered partitions as Athena does: it reads the
// table's partitions from Glue once, then lists each partition's location and takes every
// object under it whose name does not start with "_" or "." (Hive's hidden files). It is the
// reader that tests put next to the embedded engine to check that what Glue says, at any
// moment, is the exact set of objects that hold the data. location is the archive root in S3
// (s3://bucket/prefix/), which archive's keys are relative to; a partition outside it is an
// error, as Athena would read no object of the archive for it.
func PlanAthena(ctx context.Context, api PartitionLister, database, table, location string, archive storage.Objects) ([]PlannedPartition, error) {
	if !strings.HasSuffix(location, "/") {
		location += "/"
	}
	var parts []PlannedPartition
	pages := glue.NewGetPartitionsPaginator(api, &glue.GetPartitionsInput{DatabaseName: aws.String(database), TableName: aws.String(table)})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("plan %s: %w", table, err)
		}
		for _, p := range out.Partitions {
			loc := ""
			if p.StorageDescriptor != nil {
				loc = aws.ToString(p.StorageDescriptor.Location)
			}
			parts = append(parts, PlannedPartition{Values: p.Values, Location: loc})
		}
	}
	for i, p := range parts {
		prefix, ok := strings.CutPrefix(p.Location, location)
		if !ok {
			return nil, fmt.Errorf("plan %s: partition %v at %s, outside the archive %s", table, p.Values, p.Location, location)
		}
		if prefix != "" && !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		objs, err := archive.List(ctx, prefix)
		if err != nil {
			return nil, fmt.Errorf("plan %s: list %s: %w", table, prefix, err)
		}
		for _, o := range objs {
			if hidden(strings.TrimPrefix(o.Key, prefix)) {
				continue
			}
			parts[i].Keys = append(parts[i].Keys, o.Key)
		}
		slices.Sort(parts[i].Keys)
	}
	return parts, nil
}

// hidden reports whether Hive skips a path below a partition's location: one of its names
// starts with "_" or ".".
func hidden(rel string) bool {
	for _, name := range strings.Split(rel, "/") {
		if strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".") {
			return true
		}
	}
	return false
}
