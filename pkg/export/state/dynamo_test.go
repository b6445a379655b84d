package state_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

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

// lostResponses stands between the client and dynalite and loses the response of the first
// attempt of every PutItem of a progress item after the server has applied it, as a timeout or a
// reset connection does. The SDK retries the identical request, which then fails its condition.
type lostResponses struct {
	mu   sync.Mutex
	seen map[string]bool
	lost int
}

func (l *lostResponses) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || !strings.HasSuffix(req.Header.Get("X-Amz-Target"), ".PutItem") || strings.Contains(string(body), "#lease") {
		return resp, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen[string(body)] {
		return resp, nil
	}
	l.seen[string(body)] = true
	l.lost++
	resp.Body.Close()
	return nil, errors.New("connection reset by peer (response lost after the write)")
}

// TestDynamoRetriedWriteThatFindsItsOwnValueIsSuccess loses the response of each conditional
// write after dynalite applied it: the SDK's retry fails the condition, and the store must read
// the item back and find its own value rather than report a conflict. A write that finds
// another writer's value still is a conflict.
func TestDynamoRetriedWriteThatFindsItsOwnValueIsSuccess(t *testing.T) {
	srv := awstest.StartDynamoDB(t)
	lost := &lostResponses{seen: map[string]bool{}}
	settings := srv.Settings()
	settings.HTTPClient = &http.Client{Transport: lost}
	settings.MaxBackoff = 50 * time.Millisecond
	table := awstest.Table("state")
	ctx := context.Background()
	s, err := state.OpenDynamo(ctx, dynamoClient(t, srv.Endpoint, settings), state.DynamoOptions{Table: table, Create: true})
	if err != nil {
		t.Fatal(err)
	}
	p := state.Progress{Cluster: "c1", Table: "stl_query", Rows: 5}
	if err := s.Put(ctx, &p); err != nil {
		t.Fatalf("first write (attribute_not_exists) with its response lost: %v", err)
	}
	p.Rows = 9
	if err := s.Put(ctx, &p); err != nil {
		t.Fatalf("second write (version 1) with its response lost: %v", err)
	}
	if lost.lost != 2 {
		t.Fatalf("%d responses lost, want 2: the test did not exercise the retry", lost.lost)
	}
	got, err := s.Get(ctx, "c1", "stl_query")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || got.Rows != 9 || p.Version != 2 {
		t.Errorf("stored version %d rows %d, caller's version %d; want 2, 9, 2", got.Version, got.Rows, p.Version)
	}

	// Another writer at the version this one read: a real conflict, response lost or not.
	other, err := state.OpenDynamo(ctx, dynamoClient(t, srv.Endpoint, srv.Settings()), state.DynamoOptions{Table: table})
	if err != nil {
		t.Fatal(err)
	}
	theirs := got
	theirs.Rows = 100
	if err := other.Put(ctx, &theirs); err != nil {
		t.Fatal(err)
	}
	stale := got
	stale.Rows = 11
	if err := s.Put(ctx, &stale); !errors.Is(err, state.ErrConflict) {
		t.Errorf("write over another writer's version: %v, want ErrConflict", err)
	}
}
