package state

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Day records live next to the progress of their table: pk = cluster,
// sk = table + daySK + day + "#" + segment.
// "#" is not allowed in a table name, so no progress item can have such a key.
const (
	daySK   = "#day#"
	attrDay = "day" // the Day as JSON
)

// dynamoQuery is the one more client method day records need.
type dynamoQuery interface {
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

var _ dynamoQuery = (*dynamodb.Client)(nil)

// isDaySK tells day records apart from progress items in a scan.
func isDaySK(sk string) bool { return strings.Contains(sk, daySK) }

// PutDay implements Store with one unconditional PutItem: a record written again holds the same
// entries, so the last write wins harmlessly.
func (d *Dynamo) PutDay(ctx context.Context, day Day) error {
	doc, err := json.Marshal(&day)
	if err != nil {
		return fmt.Errorf("state: encode day: %w", err)
	}
	item := itemKey(day.Cluster, day.Table+daySK+day.Day+"#"+day.Segment)
	item[attrDay] = str(string(doc))
	if _, err := d.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &d.table, Item: item}); err != nil {
		return d.wrap("PutItem", err)
	}
	return nil
}

// Days implements Store with a Query on the cluster's items whose sort key starts with the
// table's day prefix.
func (d *Dynamo) Days(ctx context.Context, cluster, table string) ([]Day, error) {
	q, ok := d.client.(dynamoQuery)
	if !ok {
		return nil, fmt.Errorf("state: dynamodb client cannot query")
	}
	var out []Day
	p := dynamodb.NewQueryPaginator(q, &dynamodb.QueryInput{
		TableName:                 &d.table,
		ConsistentRead:            aws.Bool(true),
		KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#sk": attrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(cluster), ":prefix": str(table + daySK)},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, d.wrap("Query", err)
		}
		for _, item := range page.Items {
			var day Day
			if err := json.Unmarshal([]byte(getS(item, attrDay)), &day); err != nil {
				return nil, fmt.Errorf("state: decode day %s/%s: %w", cluster, getS(item, attrSK), err)
			}
			out = append(out, day)
		}
	}
	sortDays(out)
	return out, nil
}

func sortDays(ds []Day) {
	sort.Slice(ds, func(i, j int) bool {
		if ds[i].Day != ds[j].Day {
			return ds[i].Day < ds[j].Day
		}
		return ds[i].Segment < ds[j].Segment
	})
}
