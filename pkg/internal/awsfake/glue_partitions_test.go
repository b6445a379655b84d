package awsfake_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/glue/types"

	"github.com/stlarchive/redshift-stl-archive/pkg/internal/awsfake"
)

// partitionedTable creates database db and table t partitioned by cluster and day.
func partitionedTable(t *testing.T, c *glue.Client) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CreateDatabase(ctx, &glue.CreateDatabaseInput{DatabaseInput: &types.DatabaseInput{Name: aws.String("db")}}); err != nil {
		t.Fatal(err)
	}
	in := glueTableInput("t", "int")
	in.PartitionKeys = []types.Column{{Name: aws.String("cluster"), Type: aws.String("string")}, {Name: aws.String("day"), Type: aws.String("date")}}
	if _, err := c.CreateTable(ctx, &glue.CreateTableInput{DatabaseName: aws.String("db"), TableInput: in}); err != nil {
		t.Fatal(err)
	}
}

func partitionInput(cluster, day, loc string) types.PartitionInput {
	return types.PartitionInput{
		Values:            []string{cluster, day},
		StorageDescriptor: &types.StorageDescriptor{Location: aws.String(loc)},
	}
}

func TestGlueFakeBatchCreateReportsExistingPartitionsPerEntry(t *testing.T) {
	ctx := context.Background()
	g := awsfake.NewGlue(t)
	c := g.Client()
	partitionedTable(t, c)
	first := []types.PartitionInput{partitionInput("c1", "2026-01-01", "s3://b/t/cluster=c1/day=2026-01-01/")}
	out, err := c.BatchCreatePartition(ctx, &glue.BatchCreatePartitionInput{DatabaseName: aws.String("db"), TableName: aws.String("t"), PartitionInputList: first})
	if err != nil || len(out.Errors) != 0 {
		t.Fatalf("create: %v, errors %+v", err, out)
	}
	second := append(first, partitionInput("c1", "2026-01-02", "s3://b/t/cluster=c1/day=2026-01-02/"))
	out, err = c.BatchCreatePartition(ctx, &glue.BatchCreatePartitionInput{DatabaseName: aws.String("db"), TableName: aws.String("t"), PartitionInputList: second})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Errors) != 1 || aws.ToString(out.Errors[0].ErrorDetail.ErrorCode) != "AlreadyExistsException" ||
		fmt.Sprint(out.Errors[0].PartitionValues) != "[c1 2026-01-01]" {
		t.Fatalf("errors %+v, want one AlreadyExistsException for [c1 2026-01-01]", out.Errors)
	}
	got, err := c.GetPartition(ctx, &glue.GetPartitionInput{DatabaseName: aws.String("db"), TableName: aws.String("t"), PartitionValues: []string{"c1", "2026-01-02"}})
	if err != nil {
		t.Fatalf("the entry after the existing one was not created: %v", err)
	}
	if loc := aws.ToString(got.Partition.StorageDescriptor.Location); loc != "s3://b/t/cluster=c1/day=2026-01-02/" ||
		aws.ToString(got.Partition.TableName) != "t" || got.Partition.CreationTime == nil {
		t.Errorf("partition %+v lacks what was sent or what Glue adds", got.Partition)
	}

	tooMany := make([]types.PartitionInput, 101)
	for i := range tooMany {
		tooMany[i] = partitionInput("c2", fmt.Sprintf("2026-02-%02d", i%28+1), "s3://b/x/")
	}
	if _, err := c.BatchCreatePartition(ctx, &glue.BatchCreatePartitionInput{DatabaseName: aws.String("db"), TableName: aws.String("t"), PartitionInputList: tooMany}); !errors.As(err, new(*types.InvalidInputException)) {
		t.Errorf("101 partitions in one batch: %v, want InvalidInputException", err)
	}
	wrong := []types.PartitionInput{{Values: []string{"c1"}}}
	out, err = c.BatchCreatePartition(ctx, &glue.BatchCreatePartitionInput{DatabaseName: aws.String("db"), TableName: aws.String("t"), PartitionInputList: wrong})
	if err != nil || len(out.Errors) != 1 || aws.ToString(out.Errors[0].ErrorDetail.ErrorCode) != "InvalidInputException" {
		t.Errorf("one value for two keys: %v %+v, want an InvalidInputException entry", err, out)
	}
}

func TestGlueFakePagesAndFiltersPartitions(t *testing.T) {
	ctx := context.Background()
	g := awsfake.NewGlue(t)
	g.PartitionPage = 3
	c := g.Client()
	partitionedTable(t, c)
	var list []types.PartitionInput
	for _, cl := range []string{"c1", "c2"} {
		for d := 1; d <= 5; d++ {
			day := fmt.Sprintf("2026-01-%02d", d)
			list = append(list, partitionInput(cl, day, "s3://b/t/cluster="+cl+"/day="+day+"/"))
		}
	}
	if _, err := c.BatchCreatePartition(ctx, &glue.BatchCreatePartitionInput{DatabaseName: aws.String("db"), TableName: aws.String("t"), PartitionInputList: list}); err != nil {
		t.Fatal(err)
	}
	collect := func(expr string) ([]string, int) {
		var got []string
		pages := 0
		p := glue.NewGetPartitionsPaginator(c, &glue.GetPartitionsInput{DatabaseName: aws.String("db"), TableName: aws.String("t"), Expression: aws.String(expr)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, part := range out.Partitions {
				got = append(got, part.Values[0]+"/"+part.Values[1])
			}
		}
		return got, pages
	}
	all, pages := collect("")
	if len(all) != 10 || pages != 4 || all[0] != "c1/2026-01-01" || all[9] != "c2/2026-01-05" {
		t.Errorf("all partitions %v in %d pages, want 10 in 4 pages, in order", all, pages)
	}
	c2, _ := collect("cluster = 'c2'")
	if len(c2) != 5 || c2[0] != "c2/2026-01-01" {
		t.Errorf("cluster = 'c2': %v, want c2's 5 days", c2)
	}
	one, _ := collect("cluster='c1' AND day='2026-01-03'")
	if len(one) != 1 || one[0] != "c1/2026-01-03" {
		t.Errorf("cluster and day: %v, want one partition", one)
	}
	_, err := c.GetPartitions(ctx, &glue.GetPartitionsInput{DatabaseName: aws.String("db"), TableName: aws.String("t"), Expression: aws.String("day > '2026-01-01'")})
	if !errors.As(err, new(*types.InvalidInputException)) {
		t.Errorf("an expression the fake does not understand: %v, want InvalidInputException rather than a wrong answer", err)
	}
}

func TestGlueFakeUpdatesAndDeletesPartitions(t *testing.T) {
	ctx := context.Background()
	g := awsfake.NewGlue(t)
	c := g.Client()
	partitionedTable(t, c)
	day := partitionInput("c1", "2026-01-01", "s3://b/t/cluster=c1/day=2026-01-01/")
	if _, err := c.BatchCreatePartition(ctx, &glue.BatchCreatePartitionInput{DatabaseName: aws.String("db"), TableName: aws.String("t"), PartitionInputList: []types.PartitionInput{day}}); err != nil {
		t.Fatal(err)
	}
	moved := partitionInput("c1", "2026-01-01", "s3://b/t/cluster=c1/compacted/day=2026-01-01/g1/")
	if _, err := c.UpdatePartition(ctx, &glue.UpdatePartitionInput{DatabaseName: aws.String("db"), TableName: aws.String("t"),
		PartitionValueList: []string{"c1", "2026-01-01"}, PartitionInput: &moved}); err != nil {
		t.Fatal(err)
	}
	if got := g.Partitions("db", "t")["c1/2026-01-01"]; got != "s3://b/t/cluster=c1/compacted/day=2026-01-01/g1/" {
		t.Errorf("location after update %q", got)
	}
	missing := partitionInput("c1", "2026-01-09", "s3://b/x/")
	_, err := c.UpdatePartition(ctx, &glue.UpdatePartitionInput{DatabaseName: aws.String("db"), TableName: aws.String("t"),
		PartitionValueList: []string{"c1", "2026-01-09"}, PartitionInput: &missing})
	if !errors.As(err, new(*types.EntityNotFoundException)) {
		t.Errorf("update of a missing partition: %v, want EntityNotFoundException", err)
	}
	_, err = c.GetPartition(ctx, &glue.GetPartitionInput{DatabaseName: aws.String("db"), TableName: aws.String("t"), PartitionValues: []string{"c1", "2026-01-09"}})
	if !errors.As(err, new(*types.EntityNotFoundException)) {
		t.Errorf("get of a missing partition: %v, want EntityNotFoundException", err)
	}

	out, err := c.BatchDeletePartition(ctx, &glue.BatchDeletePartitionInput{DatabaseName: aws.String("db"), TableName: aws.String("t"),
		PartitionsToDelete: []types.PartitionValueList{{Values: []string{"c1", "2026-01-01"}}, {Values: []string{"c1", "2026-01-09"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Errors) != 1 || aws.ToString(out.Errors[0].ErrorDetail.ErrorCode) != "EntityNotFoundException" {
		t.Errorf("errors %+v, want one EntityNotFoundException for the missing partition", out.Errors)
	}
	if n := len(g.Partitions("db", "t")); n != 0 {
		t.Errorf("%d partitions left, want none", n)
	}
	_, err = c.GetPartitions(ctx, &glue.GetPartitionsInput{DatabaseName: aws.String("db"), TableName: aws.String("nope")})
	if !errors.As(err, new(*types.EntityNotFoundException)) {
		t.Errorf("partitions of a missing table: %v, want EntityNotFoundException", err)
	}
}
