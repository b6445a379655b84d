package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// dynamoAPI is the part of the DynamoDB client the store uses. No TransactWriteItems and no TTL:
// every write is one conditional PutItem or DeleteItem, which any DynamoDB-compatible server has.
type dynamoAPI interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	CreateTable(context.Context, *dynamodb.CreateTableInput, ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
}

var _ dynamoAPI = (*dynamodb.Client)(nil)

// Item layout. Hash key pk = cluster, range key sk = table: one item per (cluster, table), and
// the cluster's lease next to them under sk = leaseSK, which no table name can be ("#" is not
// allowed in one).
const (
	attrPK       = "pk"
	attrSK       = "sk"
	attrVersion  = "version"
	attrProgress = "progress" // the Progress as JSON
	attrWater    = "watermark"
	attrOwner    = "owner"
	attrExpires  = "expires" // unix milliseconds
	leaseSK      = "#lease"
)

// DynamoOptions describe the DynamoDB table of a store.
type DynamoOptions struct {
	Table string
	// Create creates the table (on-demand billing) when it does not exist.
	Create bool
}

// Dynamo is the Store in a DynamoDB table, for exporters on several machines (Grafana replicas
// in HA, the CLI next to them). Progress writes are conditional on the version attribute, and a
// lease is an item written only when it is absent, expired or already the writer's. Lease expiry
// compares the clocks of the exporters: keep them in sync (NTP) and the lease much longer than
// their skew.
type Dynamo struct {
	client dynamoAPI
	table  string
}

// OpenDynamo checks the table, creating it when it is missing and opts.Create is set, and waits
// until it is active.
func OpenDynamo(ctx context.Context, client dynamoAPI, opts DynamoOptions) (*Dynamo, error) {
	if opts.Table == "" {
		return nil, errors.New("state: dynamodb table is required")
	}
	d := &Dynamo{client: client, table: opts.Table}
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &d.table})
	var missing *types.ResourceNotFoundException
	switch {
	case errors.As(err, &missing) && !opts.Create:
		return nil, fmt.Errorf("state: dynamodb table %s does not exist: create it (hash key %s, range key %s, both strings) or set state.dynamodb.create", d.table, attrPK, attrSK)
	case errors.As(err, &missing):
		if err := d.create(ctx); err != nil {
			return nil, err
		}
		return d, nil
	case err != nil:
		return nil, d.wrap("DescribeTable", err)
	}
	if err := checkKeySchema(d.table, out.Table.KeySchema); err != nil {
		return nil, err
	}
	if out.Table.TableStatus != types.TableStatusActive {
		return d, d.waitActive(ctx)
	}
	return d, nil
}

func checkKeySchema(table string, ks []types.KeySchemaElement) error {
	var hash, rng string
	for _, k := range ks {
		switch k.KeyType {
		case types.KeyTypeHash:
			hash = aws.ToString(k.AttributeName)
		case types.KeyTypeRange:
			rng = aws.ToString(k.AttributeName)
		}
	}
	if hash != attrPK || rng != attrSK {
		return fmt.Errorf("state: dynamodb table %s has keys (%s, %s), want hash key %s and range key %s", table, hash, rng, attrPK, attrSK)
	}
	return nil
}

func (d *Dynamo) create(ctx context.Context) error {
	_, err := d.client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: &d.table,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrPK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrSK), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrSK), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) { // another exporter created it first
		return d.wrap("CreateTable", err)
	}
	return d.waitActive(ctx)
}

func (d *Dynamo) waitActive(ctx context.Context) error {
	w := dynamodb.NewTableExistsWaiter(d.client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 200 * time.Millisecond
		o.MaxDelay = 5 * time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: &d.table}, 5*time.Minute); err != nil {
		return fmt.Errorf("state: dynamodb table %s did not become active: %w", d.table, err)
	}
	return nil
}

// wrap names the table and the operation; an access denial names the IAM action to grant.
func (d *Dynamo) wrap(op string, err error) error {
	var api smithy.APIError
	if errors.As(err, &api) && (api.ErrorCode() == "AccessDeniedException" || api.ErrorCode() == "UnrecognizedClientException") {
		return fmt.Errorf("state: dynamodb table %s: missing permission dynamodb:%s: %w", d.table, op, err)
	}
	return fmt.Errorf("state: dynamodb %s on table %s: %w", op, d.table, err)
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func itemKey(cluster, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: str(cluster), attrSK: str(sk)}
}

func getS(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func getN(item map[string]types.AttributeValue, name string) (int64, error) {
	v, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("attribute %s is missing or not a number", name)
	}
	return strconv.ParseInt(v.Value, 10, 64)
}

func decodeProgress(item map[string]types.AttributeValue) (Progress, error) {
	var p Progress
	if err := json.Unmarshal([]byte(getS(item, attrProgress)), &p); err != nil {
		return p, fmt.Errorf("decode progress of %s/%s: %w", getS(item, attrPK), getS(item, attrSK), err)
	}
	v, err := getN(item, attrVersion)
	if err != nil {
		return p, err
	}
	p.Version = v
	return p, nil
}

// Get implements Store. Reads are strongly consistent: a stale read would only lead to a
// conflict, but a fresh one avoids it.
func (d *Dynamo) Get(ctx context.Context, cluster, table string) (Progress, error) {
	out, err := d.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &d.table, Key: itemKey(cluster, table), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Progress{}, d.wrap("GetItem", err)
	}
	if out.Item == nil {
		return Progress{Cluster: cluster, Table: table}, nil
	}
	p, err := decodeProgress(out.Item)
	if err != nil {
		return Progress{}, fmt.Errorf("state: %w", err)
	}
	return p, nil
}

// Put implements Store with one PutItem conditional on the version read (or on absence).
func (d *Dynamo) Put(ctx context.Context, p *Progress) error {
	next := *p
	next.Version++
	doc, err := json.Marshal(&next)
	if err != nil {
		return fmt.Errorf("state: encode progress: %w", err)
	}
	item := itemKey(p.Cluster, p.Table)
	item[attrVersion] = num(next.Version)
	item[attrProgress] = str(string(doc))
	// The watermark on its own lets an operator read the table in the console.
	item[attrWater] = str(next.Watermark.UTC().Format(time.RFC3339Nano))
	in := &dynamodb.PutItemInput{TableName: &d.table, Item: item}
	if p.Version == 0 {
		in.ConditionExpression = aws.String("attribute_not_exists(#pk)")
		in.ExpressionAttributeNames = map[string]string{"#pk": attrPK}
	} else {
		in.ConditionExpression = aws.String("#v = :v")
		in.ExpressionAttributeNames = map[string]string{"#v": attrVersion}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":v": num(p.Version)}
	}
	_, err = d.client.PutItem(ctx, in)
	var failed *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &failed):
		// The SDK retries a PutItem whose response was lost (a timeout, a reset connection)
		// and the retry fails the condition when the first attempt was applied. The item as
		// stored tells: exactly what this call wrote, at the version it wrote, is this call's
		// own success. Anything else is another writer's.
		ours, rerr := d.holds(ctx, p.Cluster, p.Table, next.Version, string(doc))
		if rerr != nil {
			return fmt.Errorf("state: conditional write of %s/%s failed its condition, and reading it back failed: %w", p.Cluster, p.Table, rerr)
		}
		if !ours {
			return ErrConflict
		}
	case err != nil:
		return d.wrap("PutItem", err)
	}
	p.Version = next.Version
	return nil
}

// holds reports whether the stored item of (cluster, table) is at version with progress doc.
// The read is strongly consistent, so it sees a write that was acknowledged to anyone.
func (d *Dynamo) holds(ctx context.Context, cluster, table string, version int64, doc string) (bool, error) {
	out, err := d.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &d.table, Key: itemKey(cluster, table), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return false, d.wrap("GetItem", err)
	}
	if out.Item == nil {
		return false, nil
	}
	v, err := getN(out.Item, attrVersion)
	return err == nil && v == version && getS(out.Item, attrProgress) == doc, nil
}

// List implements Store. It scans the table: one item per (cluster, table) keeps it small.
func (d *Dynamo) List(ctx context.Context) ([]Progress, error) {
	var out []Progress
	p := dynamodb.NewScanPaginator(d.client, &dynamodb.ScanInput{TableName: &d.table, ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, d.wrap("Scan", err)
		}
		for _, item := range page.Items {
			if sk := getS(item, attrSK); sk == leaseSK || isDaySK(sk) {
				continue
			}
			pr, err := decodeProgress(item)
			if err != nil {
				return nil, fmt.Errorf("state: %w", err)
			}
			out = append(out, pr)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Cluster != out[j].Cluster {
			return out[i].Cluster < out[j].Cluster
		}
		return out[i].Table < out[j].Table
	})
	return out, nil
}

// Acquire implements Store: one PutItem that succeeds when the lease is absent, expired, or
// already owner's (a renewal).
func (d *Dynamo) Acquire(ctx context.Context, cluster, owner string, ttl time.Duration) (bool, Lease, error) {
	now := time.Now()
	lease := Lease{Cluster: cluster, Owner: owner, Expires: now.Add(ttl)}
	item := itemKey(cluster, leaseSK)
	item[attrOwner] = str(owner)
	item[attrExpires] = num(lease.Expires.UnixMilli())
	_, err := d.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                &d.table,
		Item:                     item,
		ConditionExpression:      aws.String("attribute_not_exists(#pk) OR #exp <= :now OR #owner = :owner"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#exp": attrExpires, "#owner": attrOwner},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now": num(now.UnixMilli()), ":owner": str(owner),
		},
	})
	var failed *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &failed):
		cur, err := d.lease(ctx, cluster)
		return false, cur, err
	case err != nil:
		return false, Lease{}, d.wrap("PutItem", err)
	}
	// Millisecond precision is what is stored; return what another reader would see.
	lease.Expires = time.UnixMilli(lease.Expires.UnixMilli())
	return true, lease, nil
}

func (d *Dynamo) lease(ctx context.Context, cluster string) (Lease, error) {
	out, err := d.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &d.table, Key: itemKey(cluster, leaseSK), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Lease{}, d.wrap("GetItem", err)
	}
	if out.Item == nil {
		return Lease{Cluster: cluster}, nil
	}
	exp, err := getN(out.Item, attrExpires)
	if err != nil {
		return Lease{}, fmt.Errorf("state: lease of %s: %w", cluster, err)
	}
	return Lease{Cluster: cluster, Owner: getS(out.Item, attrOwner), Expires: time.UnixMilli(exp)}, nil
}

// Release implements Store: it deletes the lease only while owner holds it.
func (d *Dynamo) Release(ctx context.Context, cluster, owner string) error {
	_, err := d.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 &d.table,
		Key:                       itemKey(cluster, leaseSK),
		ConditionExpression:       aws.String("#owner = :owner"),
		ExpressionAttributeNames:  map[string]string{"#owner": attrOwner},
		ExpressionAttributeValues: map[string]types.AttributeValue{":owner": str(owner)},
	})
	var failed *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &failed) {
		return d.wrap("DeleteItem", err)
	}
	return nil
}

// Close implements Store. The client holds no connection that needs closing.
func (d *Dynamo) Close() error { return nil }

// String names the store for messages.
func (d *Dynamo) String() string { return "dynamodb table " + d.table }
