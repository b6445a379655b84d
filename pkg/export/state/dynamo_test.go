package state_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stlarchive/redshift-stl-archive/pkg/awsx"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/state"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/state/storetest"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/awstest"
)

func dynamoClient(t *testing.T, endpoint string, s awsx.Settings) *dynamodb.Client {
	t.Helper()
	cfg, err := awsx.Load(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) })
}

func TestDynamoBehavesAsAStore(t *testing.T) {
	srv := awstest.StartDynamoDB(t)
	client := dynamoClient(t, srv.Endpoint, srv.Settings())
	storetest.Run(t, func(t *testing.T) state.Store {
		s, err := state.OpenDynamo(context.Background(), client, state.DynamoOptions{Table: awstest.Table("state"), Create: true})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestDynamoOpensATableItCreatedBefore(t *testing.T) {
	srv := awstest.StartDynamoDB(t)
	client := dynamoClient(t, srv.Endpoint, srv.Settings())
	table := awstest.Table("state")
	ctx := context.Background()
	first, err := state.OpenDynamo(ctx, client, state.DynamoOptions{Table: table, Create: true})
	if err != nil {
		t.Fatal(err)
	}
	p := state.Progress{Cluster: "c1", Table: "stl_query", Rows: 9}
	if err := first.Put(ctx, &p); err != nil {
		t.Fatal(err)
	}
	// A second process opens the same table without the right to create it.
	second, err := state.OpenDynamo(ctx, client, state.DynamoOptions{Table: table})
	if err != nil {
		t.Fatal(err)
	}
	got, err := second.Get(ctx, "c1", "stl_query")
	if err != nil || got.Rows != 9 || got.Version != 1 {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestDynamoMissingTableWithoutCreateSaysHowToFixIt(t *testing.T) {
	srv := awstest.StartDynamoDB(t)
	client := dynamoClient(t, srv.Endpoint, srv.Settings())
	_, err := state.OpenDynamo(context.Background(), client, state.DynamoOptions{Table: "absent"})
	if err == nil || !strings.Contains(err.Error(), "absent does not exist") || !strings.Contains(err.Error(), "create") {
		t.Fatalf("error %v", err)
	}
}

func TestDynamoTableWithOtherKeysIsRefused(t *testing.T) {
	srv := awstest.StartDynamoDB(t)
	client := dynamoClient(t, srv.Endpoint, srv.Settings())
	ctx := context.Background()
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String("rs_querylogs_last_processed_ts"),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("table_name"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("table_name"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = state.OpenDynamo(ctx, client, state.DynamoOptions{Table: "rs_querylogs_last_processed_ts", Create: true})
	if err == nil || !strings.Contains(err.Error(), "has keys (table_name, )") {
		t.Fatalf("error %v, want one naming the table's keys", err)
	}
}

// TestDynamoAccessDeniedNamesTheMissingPermission answers as DynamoDB does (JSON 1.0) to a role
// that may describe the table but not create it, or may do nothing at all.
func TestDynamoAccessDeniedNamesTheMissingPermission(t *testing.T) {
	cases := []struct {
		name    string
		allowed map[string]bool
		want    string
	}{
		{"no permission at all", map[string]bool{}, "missing permission dynamodb:DescribeTable"},
		{"may describe but not create", map[string]bool{"DescribeTable": true}, "missing permission dynamodb:CreateTable"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_20120810.")
				w.Header().Set("Content-Type", "application/x-amz-json-1.0")
				w.WriteHeader(http.StatusBadRequest)
				if !c.allowed[op] {
					json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.dynamodb.v20120810#AccessDeniedException",
						"message": "User: arn:aws:sts::123456789012:assumed-role/grafana/x is not authorized to perform: dynamodb:" + op})
					return
				}
				json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
					"message": "Requested resource not found"})
			}))
			defer srv.Close()
			client := dynamoClient(t, srv.URL, awsx.Settings{AuthType: awsx.AuthKeys, AccessKey: "AKID", SecretKey: "s", Region: "us-east-1", MaxAttempts: 1})
			_, err := state.OpenDynamo(context.Background(), client, state.DynamoOptions{Table: "stlarchive_state", Create: true})
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "stlarchive_state") {
				t.Fatalf("error %v, want one naming the table and %q", err, c.want)
			}
		})
	}
}
