package awsfake_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshift"
	"github.com/aws/aws-sdk-go-v2/service/redshift/types"
	"github.com/aws/smithy-go"

	"github.com/stlarchive/redshift-stl-archive/pkg/internal/awsfake"
)

func TestRedshiftDescribeClustersPaginatesWithMarker(t *testing.T) {
	fake := awsfake.NewRedshift(t)
	fake.PageSize = 4
	for i := range 10 {
		c := awsfake.RedshiftCluster{Identifier: fmt.Sprintf("c%02d", i), Address: fmt.Sprintf("c%02d.example.com", i), Port: 5439, DBName: "dev"}
		if i == 7 {
			c.Address, c.Status = "", "creating"
		}
		fake.AddCluster(c)
	}
	p := redshift.NewDescribeClustersPaginator(fake.Client(), &redshift.DescribeClustersInput{MaxRecords: aws.Int32(20)})
	var got []types.Cluster
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		got = append(got, out.Clusters...)
	}
	if pages != 3 || len(got) != 10 {
		t.Fatalf("%d pages, %d clusters; want 3 pages, 10 clusters", pages, len(got))
	}
	for i, c := range got {
		if id := aws.ToString(c.ClusterIdentifier); id != fmt.Sprintf("c%02d", i) {
			t.Errorf("cluster %d = %s", i, id)
		}
		if i == 7 {
			if c.Endpoint != nil || aws.ToString(c.ClusterStatus) != "creating" {
				t.Errorf("c07: endpoint %v status %s, want none while creating", c.Endpoint, aws.ToString(c.ClusterStatus))
			}
			continue
		}
		if c.Endpoint == nil || aws.ToString(c.Endpoint.Address) != fmt.Sprintf("c%02d.example.com", i) || aws.ToInt32(c.Endpoint.Port) != 5439 || aws.ToString(c.DBName) != "dev" {
			t.Errorf("cluster %d = %+v", i, c)
		}
	}
	reqs := fake.Requests()
	if reqs[0].Form.Has("Marker") || reqs[1].Form.Get("Marker") == "" {
		t.Errorf("markers: first %q, second %q", reqs[0].Form.Get("Marker"), reqs[1].Form.Get("Marker"))
	}
}

func TestRedshiftErrorsReachTheSDKAsTypedErrors(t *testing.T) {
	fake := awsfake.NewRedshift(t)
	client := fake.Client()
	ctx := context.Background()

	_, err := client.DescribeClusters(ctx, &redshift.DescribeClustersInput{ClusterIdentifier: aws.String("nope")})
	var notFound *types.ClusterNotFoundFault
	if !errors.As(err, &notFound) || !strings.Contains(err.Error(), "nope") {
		t.Errorf("DescribeClusters of a missing cluster: err = %v, want ClusterNotFoundFault", err)
	}
	_, err = client.GetClusterCredentials(ctx, &redshift.GetClusterCredentialsInput{ClusterIdentifier: aws.String("nope"), DbUser: aws.String("u")})
	if !errors.As(err, &notFound) {
		t.Errorf("GetClusterCredentials of a missing cluster: err = %v, want ClusterNotFoundFault", err)
	}

	fake.AddCluster(awsfake.RedshiftCluster{Identifier: "c1", Address: "c1.example.com", Port: 5439})
	fake.Deny("GetClusterCredentials")
	_, err = client.GetClusterCredentials(ctx, &redshift.GetClusterCredentialsInput{ClusterIdentifier: aws.String("c1"), DbUser: aws.String("u")})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "AccessDenied" || !strings.Contains(api.ErrorMessage(), "redshift:GetClusterCredentials") {
		t.Errorf("denied: err = %v, want AccessDenied naming the action", err)
	}

	_, err = client.GetClusterCredentialsWithIAM(ctx, &redshift.GetClusterCredentialsWithIAMInput{ClusterIdentifier: aws.String("c1"), DurationSeconds: aws.Int32(60)})
	if !errors.As(err, &api) || api.ErrorCode() != "InvalidParameterValue" {
		t.Errorf("60 s: err = %v, want InvalidParameterValue", err)
	}
}

func TestRedshiftIssuesCredentialsThatExpire(t *testing.T) {
	fake := awsfake.NewRedshift(t)
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	fake.Now = func() time.Time { return now }
	fake.AddCluster(awsfake.RedshiftCluster{Identifier: "c1", Address: "c1.example.com", Port: 5439})
	client := fake.Client()
	ctx := context.Background()

	out, err := client.GetClusterCredentials(ctx, &redshift.GetClusterCredentialsInput{
		ClusterIdentifier: aws.String("c1"), DbUser: aws.String("exporter"), DbName: aws.String("dev"),
		DbGroups: []string{"readers", "ops"}, AutoCreate: aws.Bool(true), DurationSeconds: aws.Int32(1200),
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.DbUser) != "IAM:exporter" || aws.ToString(out.DbPassword) == "" || !aws.ToTime(out.Expiration).Equal(now.Add(20*time.Minute)) {
		t.Errorf("credentials = %s, password set %v, expires %v", aws.ToString(out.DbUser), aws.ToString(out.DbPassword) != "", aws.ToTime(out.Expiration))
	}
	withIAM, err := client.GetClusterCredentialsWithIAM(ctx, &redshift.GetClusterCredentialsWithIAMInput{ClusterIdentifier: aws.String("c1")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(withIAM.DbUser) != "IAMR:stlarchive" || !aws.ToTime(withIAM.Expiration).Equal(now.Add(15*time.Minute)) || withIAM.NextRefreshTime == nil {
		t.Errorf("with IAM = %s, expires %v, next refresh %v", aws.ToString(withIAM.DbUser), aws.ToTime(withIAM.Expiration), withIAM.NextRefreshTime)
	}
	issued := fake.Issued()
	if len(issued) != 2 {
		t.Fatalf("issued %d credentials, want 2", len(issued))
	}
	first := issued[0]
	if first.DBName != "dev" || !first.AutoCreate || strings.Join(first.DBGroups, ",") != "readers,ops" || first.Password != aws.ToString(out.DbPassword) {
		t.Errorf("first issue = %+v", first)
	}
	if issued[1].Password == first.Password {
		t.Error("two issues share a password")
	}
}
