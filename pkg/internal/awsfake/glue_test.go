package awsfake_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/aws/smithy-go"

	"github.com/stlarchive/redshift-stl-archive/pkg/internal/awsfake"
)

func glueTableInput(name, colType string) *types.TableInput {
	return &types.TableInput{
		Name:       aws.String(name),
		TableType:  aws.String("EXTERNAL_TABLE"),
		Parameters: map[string]string{"classification": "parquet"},
		StorageDescriptor: &types.StorageDescriptor{
			Columns:  []types.Column{{Name: aws.String("query"), Type: aws.String(colType)}},
			Location: aws.String("s3://bucket/" + name + "/"),
		},
		PartitionKeys: []types.Column{{Name: aws.String("day"), Type: aws.String("date")}},
	}
}

func TestGlueFakeKeepsTablesAndAddsWhatGlueAdds(t *testing.T) {
	ctx := context.Background()
	g := awsfake.NewGlue(t)
	c := g.Client()
	if _, err := c.CreateDatabase(ctx, &glue.CreateDatabaseInput{DatabaseInput: &types.DatabaseInput{Name: aws.String("Archive")}}); err != nil {
		t.Fatal(err)
	}
	db, err := c.GetDatabase(ctx, &glue.GetDatabaseInput{Name: aws.String("archive")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(db.Database.Name); got != "archive" {
		t.Errorf("database name %q, want it stored in lower case", got)
	}
	if _, err := c.CreateTable(ctx, &glue.CreateTableInput{DatabaseName: aws.String("archive"), TableInput: glueTableInput("t1", "int")}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetTable(ctx, &glue.GetTableInput{DatabaseName: aws.String("archive"), Name: aws.String("t1")})
	if err != nil {
		t.Fatal(err)
	}
	tb := got.Table
	if aws.ToString(tb.VersionId) != "0" || aws.ToString(tb.DatabaseName) != "archive" || aws.ToString(tb.CatalogId) != awsfake.GlueAccount ||
		tb.CreateTime == nil || tb.UpdateTime == nil || aws.ToString(tb.CreatedBy) == "" {
		t.Errorf("table lacks the fields Glue fills in: version %q, database %q, catalog %q, created %v, updated %v, by %q",
			aws.ToString(tb.VersionId), aws.ToString(tb.DatabaseName), aws.ToString(tb.CatalogId), tb.CreateTime, tb.UpdateTime, aws.ToString(tb.CreatedBy))
	}
	if tb.Parameters["classification"] != "parquet" || aws.ToString(tb.StorageDescriptor.Columns[0].Type) != "int" ||
		aws.ToString(tb.PartitionKeys[0].Name) != "day" {
		t.Errorf("table does not hold what was sent: %+v", tb)
	}
	if tb.StorageDescriptor.SortColumns == nil || tb.StorageDescriptor.BucketColumns == nil {
		t.Errorf("storage descriptor lacks Glue's empty sort and bucket columns")
	}

	if _, err := c.UpdateTable(ctx, &glue.UpdateTableInput{DatabaseName: aws.String("archive"), TableInput: glueTableInput("t1", "bigint"), VersionId: aws.String("0")}); err != nil {
		t.Fatal(err)
	}
	got, err = c.GetTable(ctx, &glue.GetTableInput{DatabaseName: aws.String("archive"), Name: aws.String("t1")})
	if err != nil {
		t.Fatal(err)
	}
	if v, typ := aws.ToString(got.Table.VersionId), aws.ToString(got.Table.StorageDescriptor.Columns[0].Type); v != "1" || typ != "bigint" {
		t.Errorf("after update: version %q, column type %q; want 1, bigint", v, typ)
	}
	if !got.Table.UpdateTime.After(*got.Table.CreateTime) || !got.Table.CreateTime.Equal(*tb.CreateTime) {
		t.Errorf("update time %v should pass create time %v, which stays %v", got.Table.UpdateTime, got.Table.CreateTime, tb.CreateTime)
	}
}

func TestGlueFakeAnswersWithGlueErrorTypes(t *testing.T) {
	ctx := context.Background()
	g := awsfake.NewGlue(t)
	c := g.Client()
	if _, err := c.CreateDatabase(ctx, &glue.CreateDatabaseInput{DatabaseInput: &types.DatabaseInput{Name: aws.String("db")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateTable(ctx, &glue.CreateTableInput{DatabaseName: aws.String("db"), TableInput: glueTableInput("t1", "int")}); err != nil {
		t.Fatal(err)
	}
	longComment := glueTableInput("t2", "int")
	longComment.StorageDescriptor.Columns[0].Comment = aws.String(strings.Repeat("x", 256))

	tests := []struct {
		name string
		call func() error
		code string
	}{
		{"missing database", func() error {
			_, err := c.GetDatabase(ctx, &glue.GetDatabaseInput{Name: aws.String("nope")})
			return err
		}, "EntityNotFoundException"},
		{"existing database", func() error {
			_, err := c.CreateDatabase(ctx, &glue.CreateDatabaseInput{DatabaseInput: &types.DatabaseInput{Name: aws.String("DB")}})
			return err
		}, "AlreadyExistsException"},
		{"missing table", func() error {
			_, err := c.GetTable(ctx, &glue.GetTableInput{DatabaseName: aws.String("db"), Name: aws.String("nope")})
			return err
		}, "EntityNotFoundException"},
		{"table of a missing database", func() error {
			_, err := c.CreateTable(ctx, &glue.CreateTableInput{DatabaseName: aws.String("nope"), TableInput: glueTableInput("t1", "int")})
			return err
		}, "EntityNotFoundException"},
		{"existing table", func() error {
			_, err := c.CreateTable(ctx, &glue.CreateTableInput{DatabaseName: aws.String("db"), TableInput: glueTableInput("t1", "int")})
			return err
		}, "AlreadyExistsException"},
		{"update of a missing table", func() error {
			_, err := c.UpdateTable(ctx, &glue.UpdateTableInput{DatabaseName: aws.String("db"), TableInput: glueTableInput("nope", "int")})
			return err
		}, "EntityNotFoundException"},
		{"update of a stale version", func() error {
			_, err := c.UpdateTable(ctx, &glue.UpdateTableInput{DatabaseName: aws.String("db"), TableInput: glueTableInput("t1", "int"), VersionId: aws.String("7")})
			return err
		}, "ConcurrentModificationException"},
		{"comment over 255 characters", func() error {
			_, err := c.CreateTable(ctx, &glue.CreateTableInput{DatabaseName: aws.String("db"), TableInput: longComment})
			return err
		}, "InvalidInputException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tt.code {
				t.Fatalf("error %v, want %s", err, tt.code)
			}
		})
	}
	// The SDK decodes the types it models into typed errors, as callers match them.
	_, err := c.GetTable(ctx, &glue.GetTableInput{DatabaseName: aws.String("db"), Name: aws.String("nope")})
	var nf *types.EntityNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("missing table: %T %v, want *types.EntityNotFoundException", err, err)
	}
}

func TestGlueFakeDeniesAnActionWithAccessDenied(t *testing.T) {
	ctx := context.Background()
	g := awsfake.NewGlue(t)
	c := g.Client()
	g.Deny("CreateDatabase")
	_, err := c.CreateDatabase(ctx, &glue.CreateDatabaseInput{DatabaseInput: &types.DatabaseInput{Name: aws.String("db")}})
	var ad *types.AccessDeniedException
	if !errors.As(err, &ad) {
		t.Fatalf("error %v, want AccessDeniedException", err)
	}
	if msg := ad.ErrorMessage(); !strings.Contains(msg, "glue:CreateDatabase") || !strings.Contains(msg, "database/db") {
		t.Errorf("message %q does not name the action and the resource", msg)
	}
	if _, err := c.GetDatabase(ctx, &glue.GetDatabaseInput{Name: aws.String("db")}); !errors.As(err, new(*types.EntityNotFoundException)) {
		t.Errorf("denied create left a database behind, or another action was denied: %v", err)
	}
}

func TestGlueFakeRecordsCallsAndCountsMutations(t *testing.T) {
	ctx := context.Background()
	g := awsfake.NewGlue(t)
	c := g.Client()
	_, _ = c.GetDatabase(ctx, &glue.GetDatabaseInput{Name: aws.String("db")})
	_, _ = c.CreateDatabase(ctx, &glue.CreateDatabaseInput{DatabaseInput: &types.DatabaseInput{Name: aws.String("db")}})
	_, _ = c.CreateDatabase(ctx, &glue.CreateDatabaseInput{DatabaseInput: &types.DatabaseInput{Name: aws.String("db")}}) // fails, still counts
	_, _ = c.GetTable(ctx, &glue.GetTableInput{DatabaseName: aws.String("db"), Name: aws.String("t")})

	want := []string{"GetDatabase", "CreateDatabase", "CreateDatabase", "GetTable"}
	if got := g.Actions(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("actions %v, want %v", got, want)
	}
	if n := g.Mutations(); n != 2 {
		t.Errorf("mutations %d, want 2", n)
	}
	if body := string(g.Calls()[3].Body); !strings.Contains(body, `"DatabaseName":"db"`) || !strings.Contains(body, `"Name":"t"`) {
		t.Errorf("recorded body %s lacks the request's fields", body)
	}
}

func TestGlueFakeRunsBeforeHookOnceAheadOfTheAction(t *testing.T) {
	ctx := context.Background()
	g := awsfake.NewGlue(t)
	c := g.Client()
	runs := 0
	// A second writer creates the database between this caller's read and its create.
	g.Before("CreateDatabase", func() {
		runs++
		if _, err := c.CreateDatabase(ctx, &glue.CreateDatabaseInput{DatabaseInput: &types.DatabaseInput{Name: aws.String("db")}}); err != nil {
			t.Error(err)
		}
	})
	_, err := c.CreateDatabase(ctx, &glue.CreateDatabaseInput{DatabaseInput: &types.DatabaseInput{Name: aws.String("db")}})
	if !errors.As(err, new(*types.AlreadyExistsException)) {
		t.Errorf("create after the hook's create: %v, want AlreadyExistsException", err)
	}
	if runs != 1 {
		t.Errorf("hook ran %d times, want once", runs)
	}
}

func TestGlueFakeRefusesUnknownActions(t *testing.T) {
	g := awsfake.NewGlue(t)
	_, err := g.Client().DeleteTable(context.Background(), &glue.DeleteTableInput{DatabaseName: aws.String("db"), Name: aws.String("t")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "UnknownOperationException" {
		t.Errorf("error %v, want UnknownOperationException", err)
	}
}
