package awsfake_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/athena/types"

	"github.com/stlarchive/redshift-stl-archive/pkg/internal/awsfake"
)

func sp(s string) *string { return &s }

func startAthena(t *testing.T, f *awsfake.Athena, query string) (*athena.Client, string) {
	t.Helper()
	c := f.Client()
	out, err := c.StartQueryExecution(context.Background(), &athena.StartQueryExecutionInput{QueryString: aws.String(query)})
	if err != nil {
		t.Fatal(err)
	}
	return c, *out.QueryExecutionId
}

func state(t *testing.T, c *athena.Client, id string) types.QueryExecutionState {
	t.Helper()
	out, err := c.GetQueryExecution(context.Background(), &athena.GetQueryExecutionInput{QueryExecutionId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	return out.QueryExecution.Status.State
}

func TestAthenaFakeMovesOneStatePerPollAndStopCancels(t *testing.T) {
	f := awsfake.NewAthena(t)
	f.On("SELECT 1", awsfake.AthenaScript{States: []string{"QUEUED", "RUNNING"}})
	c, id := startAthena(t, f, "SELECT 1")
	for _, want := range []types.QueryExecutionState{"QUEUED", "RUNNING", "RUNNING"} {
		if got := state(t, c, id); got != want {
			t.Fatalf("state %s, want %s", got, want)
		}
	}
	if _, err := c.StopQueryExecution(context.Background(), &athena.StopQueryExecutionInput{QueryExecutionId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	if got := state(t, c, id); got != types.QueryExecutionStateCancelled {
		t.Errorf("state after stop %s, want CANCELLED", got)
	}
}

func TestAthenaFakeStopAfterTheEndChangesNothing(t *testing.T) {
	f := awsfake.NewAthena(t)
	f.On("SELECT 1", awsfake.AthenaScript{})
	c, id := startAthena(t, f, "SELECT 1")
	if got := state(t, c, id); got != types.QueryExecutionStateSucceeded {
		t.Fatalf("state %s, want SUCCEEDED", got)
	}
	if _, err := c.StopQueryExecution(context.Background(), &athena.StopQueryExecutionInput{QueryExecutionId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	if got := state(t, c, id); got != types.QueryExecutionStateSucceeded {
		t.Errorf("state after a late stop %s, want SUCCEEDED", got)
	}
}

func TestAthenaFakeRefusesWhatAthenaRefuses(t *testing.T) {
	f := awsfake.NewAthena(t)
	f.On("SELECT slow", awsfake.AthenaScript{States: []string{"RUNNING"}})
	f.On("SELECT n", awsfake.AthenaScript{Columns: []awsfake.AthenaColumn{{Name: "n", Type: "integer"}},
		Rows: [][]*string{{sp("1")}, {sp("2")}, {sp("3")}}})
	ctx := context.Background()
	c, slow := startAthena(t, f, "SELECT slow")
	_, done := startAthena(t, f, "SELECT n")
	state(t, c, slow)
	state(t, c, done)
	first, err := c.GetQueryResults(ctx, &athena.GetQueryResultsInput{QueryExecutionId: aws.String(done), MaxResults: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		call func() error
	}{
		{"unknown query", func() error {
			_, err := c.StartQueryExecution(ctx, &athena.StartQueryExecutionInput{QueryString: aws.String("SELECT unscripted")})
			return err
		}},
		{"results of a running query", func() error {
			_, err := c.GetQueryResults(ctx, &athena.GetQueryResultsInput{QueryExecutionId: aws.String(slow)})
			return err
		}},
		{"a page over 1000 rows", func() error {
			_, err := c.GetQueryResults(ctx, &athena.GetQueryResultsInput{QueryExecutionId: aws.String(done), MaxResults: aws.Int32(1001)})
			return err
		}},
		{"a token of another query", func() error {
			_, err := c.GetQueryResults(ctx, &athena.GetQueryResultsInput{QueryExecutionId: aws.String(slow), NextToken: first.NextToken})
			return err
		}},
		{"an unknown execution", func() error {
			_, err := c.GetQueryExecution(ctx, &athena.GetQueryExecutionInput{QueryExecutionId: aws.String("00000000-0000-0000-0000-000000000000")})
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ire *types.InvalidRequestException
			if err := tc.call(); !errors.As(err, &ire) {
				t.Errorf("error %v, want InvalidRequestException", err)
			}
		})
	}
}

func TestAthenaFakeRefusesUnsignedRequests(t *testing.T) {
	f := awsfake.NewAthena(t)
	req, err := http.NewRequest(http.MethodPost, f.URL+"/", strings.NewReader(`{"QueryString":"SELECT 1"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonAthena.StartQueryExecution")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("status %d, want 403", resp.StatusCode)
	}
}

func TestAthenaFakePagesStartWithTheHeaderOfDMLResults(t *testing.T) {
	cases := []struct {
		stmt  string
		pages [][]string
	}{
		{"DML", [][]string{{"n", "1"}, {"2", "3"}}},
		{"UTILITY", [][]string{{"1", "2"}, {"3"}}},
	}
	for _, tc := range cases {
		t.Run(tc.stmt, func(t *testing.T) {
			f := awsfake.NewAthena(t)
			f.On("SELECT n", awsfake.AthenaScript{StatementType: tc.stmt, Columns: []awsfake.AthenaColumn{{Name: "n", Type: "integer"}},
				Rows: [][]*string{{sp("1")}, {sp("2")}, {sp("3")}}})
			c, id := startAthena(t, f, "SELECT n")
			state(t, c, id)
			var token *string
			for i, want := range tc.pages {
				out, err := c.GetQueryResults(context.Background(), &athena.GetQueryResultsInput{
					QueryExecutionId: aws.String(id), MaxResults: aws.Int32(2), NextToken: token})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, r := range out.ResultSet.Rows {
					got = append(got, *r.Data[0].VarCharValue)
				}
				if strings.Join(got, ",") != strings.Join(want, ",") {
					t.Errorf("page %d: %v, want %v", i, got, want)
				}
				if ci := out.ResultSet.ResultSetMetadata.ColumnInfo; len(ci) != 1 || *ci[0].Type != "integer" {
					t.Errorf("page %d: column info %+v", i, ci)
				}
				token = out.NextToken
				if (token == nil) != (i == len(tc.pages)-1) {
					t.Errorf("page %d: next token %v", i, token)
				}
			}
		})
	}
}

func TestAthenaFakeReportsFailuresWithAthenaError(t *testing.T) {
	f := awsfake.NewAthena(t)
	f.On("SELECT x", awsfake.AthenaScript{States: []string{"FAILED"}, StateChangeReason: "COLUMN_NOT_FOUND: x",
		Error: &awsfake.AthenaQueryError{Category: 2, Type: 1006, Message: "COLUMN_NOT_FOUND: x"}})
	c, id := startAthena(t, f, "SELECT x")
	out, err := c.GetQueryExecution(context.Background(), &athena.GetQueryExecutionInput{QueryExecutionId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	s := out.QueryExecution.Status
	if s.State != types.QueryExecutionStateFailed || aws.ToString(s.StateChangeReason) != "COLUMN_NOT_FOUND: x" ||
		s.AthenaError == nil || aws.ToInt32(s.AthenaError.ErrorCategory) != 2 || aws.ToInt32(s.AthenaError.ErrorType) != 1006 {
		t.Errorf("status %+v, want FAILED with the USER AthenaError", s)
	}
}

// The fake's client sends thousands of calls without one failing: the tests that use it count
// requests and run without retries, so a connection closed under a response (a race between the
// SDK closing a request body and net/http still reading it) would fail them at random.
func TestAthenaFakeClientCompletesThousandsOfCallsWithoutRetries(t *testing.T) {
	f := awsfake.NewAthena(t)
	f.On("SELECT 1", awsfake.AthenaScript{States: []string{"RUNNING"}})
	c, id := startAthena(t, f, "SELECT 1")
	for i := range 3000 {
		if _, err := c.GetQueryExecution(context.Background(), &athena.GetQueryExecutionInput{QueryExecutionId: aws.String(id)}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
}
