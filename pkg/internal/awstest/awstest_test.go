package awstest_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stlarchive/redshift-stl-archive/pkg/awsx"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/awstest"
)

// TestDynamoDBSurvivesClientsResetInTheMiddleOfARequest does what a SIGKILLed exporter does to
// the local DynamoDB: it sends part of a request (the headers and some of the body it announced)
// and resets the connection, several times. The server must keep serving, and must not execute
// the requests it did not receive whole.
func TestDynamoDBSurvivesClientsResetInTheMiddleOfARequest(t *testing.T) {
	d := awstest.StartDynamoDB(t)
	ctx := context.Background()
	cfg, err := awsx.Load(ctx, d.Settings())
	if err != nil {
		t.Fatal(err)
	}
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(d.Endpoint) })
	table := awstest.Table("reset")
	if _, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("k"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("k"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	}); err != nil {
		t.Fatal(err)
	}
	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, time.Second
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, time.Minute); err != nil {
		t.Fatal(err)
	}

	addr := strings.TrimPrefix(d.Endpoint, "http://")
	for i := range 5 {
		body := fmt.Sprintf(`{"TableName":%q,"Item":{"k":{"S":"half-%d"}}}`, table, i)
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("reset %d: the server no longer accepts connections: %v\n%v", i, err, d.Check())
		}
		// Headers announcing the whole body and asking to go on (Expect: 100-continue). Node
		// answers "100 Continue" as it hands the request to dynalite: once the client reads it,
		// the server is in the middle of the request, however slow the machine.
		fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-amz-json-1.0\r\n"+
			"X-Amz-Target: DynamoDB_20120810.PutItem\r\n"+
			"Authorization: AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0\r\n"+
			"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n", addr, len(body))
		if err := conn.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
			t.Fatalf("reset %d: no 100 Continue (%q, %v)\n%v", i, line, err, d.Check())
		}
		// Half of the body, then a reset (SO_LINGER 0), as the kernel does for a killed
		// process's socket.
		if _, err := io.WriteString(conn, body[:len(body)/2]); err != nil {
			t.Fatal(err)
		}
		if err := conn.(*net.TCPConn).SetLinger(0); err != nil {
			t.Fatal(err)
		}
		conn.Close()
	}

	// A real call after the resets: the server is alive and serves it, and none of the
	// incomplete writes took effect.
	if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table),
		Item: map[string]types.AttributeValue{"k": &types.AttributeValueMemberS{Value: "whole"}}}); err != nil {
		t.Fatalf("a request after the resets failed: %v\n%v", err, d.Check())
	}
	out, err := client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatalf("scan: %v\n%v", err, d.Check())
	}
	if len(out.Items) != 1 {
		t.Errorf("%d items, want the one whole write: an incomplete request was executed", len(out.Items))
	}
	if err := d.Check(); err != nil {
		t.Error(err)
	}
}
