package app_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stlarchive/redshift-stl-archive/pkg/app"
	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/awsfake"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/awstest"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/simtest"
)

// TestIAMCredentialsAreAskedOfTheClustersRegion logs in to a us-west-2 cluster while aws.region
// is us-east-1: Redshift's API in us-east-1 does not know the cluster (the fake answers
// ClusterNotFound to requests signed for another region), so the credentials must be asked of
// us-west-2, the cluster's region field.
func TestIAMCredentialsAreAskedOfTheClustersRegion(t *testing.T) {
	ctx := context.Background()
	c := simtest.New(t, "iam-west", 0.5)
	rsFake := awsfake.NewRedshift(t)
	rsFake.AddCluster(awsfake.RedshiftCluster{Identifier: "iam-west", Address: c.Cfg.Host, Port: c.Cfg.Port, DBName: c.Cfg.Database, Region: "us-west-2"})
	rsFake.OnCredentials = func(ic awsfake.IssuedCredentials) error { return loginRole(ctx, c.Conn, ic) }
	dbUser := "exporter_west_" + strings.ToLower(strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "_"))
	t.Cleanup(func() {
		ident := pgx.Identifier{"IAM:" + dbUser}.Sanitize()
		_, _ = c.Conn.Exec(context.Background(), "DROP OWNED BY "+ident)
		_, _ = c.Conn.Exec(context.Background(), "DROP ROLE IF EXISTS "+ident)
	})
	cluster := clusterJSON(c)
	cluster["auth"] = config.AuthIAM
	cluster["user"] = dbUser
	cluster["region"] = "us-west-2"
	cfg := settings(t, map[string]any{
		"archive":  map[string]any{"path": t.TempDir()},
		"aws":      awsJSON(map[string]string{"redshift": rsFake.URL}),
		"clusters": []any{cluster},
	}, awsKeys())
	if cfg.AWS.Region != "us-east-1" {
		t.Fatalf("aws.region %s, the test needs another region than the cluster's", cfg.AWS.Region)
	}
	connect, err := app.Connector(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := connect(ctx, cfg.Clusters[0], simtest.QueryGroup)
	if err != nil {
		t.Fatalf("connect to the us-west-2 cluster: %v", err)
	}
	conn.Close(ctx)
	issued := rsFake.Issued()
	if len(issued) != 1 || issued[0].Region != "us-west-2" {
		t.Errorf("issued %+v, want one set of credentials from us-west-2", issued)
	}
}

func TestClusterRegionComesFromItsEndpointHost(t *testing.T) {
	for host, want := range map[string]string{
		"prod-west.abc123xyz.us-west-2.redshift.amazonaws.com":        "us-west-2",
		"PROD.c1.eu-central-1.redshift.amazonaws.com.":                "eu-central-1",
		"a.b.cn-north-1.redshift.amazonaws.com.cn":                    "cn-north-1",
		"a.b.us-gov-west-1.redshift.amazonaws.com":                    "us-gov-west-1",
		"wg.123456789012.us-east-1.redshift-serverless.amazonaws.com": "",
		"10.0.0.12":                     "",
		"redshift.internal.example.com": "",
	} {
		if got := config.RegionOfHost(host); got != want {
			t.Errorf("RegionOfHost(%q) = %q, want %q", host, got, want)
		}
	}
	c := config.Cluster{Host: "a.b.us-west-2.redshift.amazonaws.com", Region: "eu-west-1"}
	if got := c.APIRegion(); got != "eu-west-1" {
		t.Errorf("APIRegion %q, want the region field's eu-west-1 over the host's", got)
	}
}

// TestSSMClusterOfAnotherRegionIsFoundInTheRegionsListed looks up an SSM cluster without an
// endpoint parameter that lives in us-west-2: DescribeClusters in aws.region does not list it;
// with ssm.clusterRegions naming us-west-2 it is found there and keeps that region for its IAM
// credentials.
func TestSSMClusterOfAnotherRegionIsFoundInTheRegionsListed(t *testing.T) {
	ssmFake := awsfake.NewSSM(t)
	rsFake := awsfake.NewRedshift(t)
	ssmFake.Put(ssmPrefix+".global.s3_prefix", awsfake.String, "s3://legacy-stl-bucket/stl/")
	ssmFake.Put(ssmPrefix+".global.enabled_cluster_list", awsfake.StringList, "west")
	putSSMCluster(ssmFake, "west", "exporter", "", "")
	rsFake.AddCluster(awsfake.RedshiftCluster{Identifier: "west", Address: "west.internal", Port: 5439, DBName: "dev", Region: "us-west-2"})
	s3 := awstest.StartS3(t)
	resolve := func(ssm map[string]any) app.Fleet {
		t.Helper()
		cfg := settings(t, map[string]any{
			"archive": map[string]any{"path": t.TempDir(), "s3": map[string]any{"bucket": s3.Bucket(t), "endpoint": s3.Endpoint, "pathStyle": true}},
			"aws":     awsJSON(map[string]string{"ssm": ssmFake.URL, "redshift": rsFake.URL}),
			"ssm":     ssm,
		}, awsKeys())
		f, err := app.ResolveFleet(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	f := resolve(map[string]any{"auth": "iam"})
	if err := f.Problems["west"]; err == nil || !strings.Contains(err.Error(), "does not list cluster west") {
		t.Errorf("without clusterRegions: problem %v, want west not listed in aws.region", err)
	}
	f = resolve(map[string]any{"auth": "iam", "clusterRegions": []string{"us-east-1", "us-west-2"}})
	c, ok := f.Config.Cluster("west")
	if !ok || c.Host != "west.internal" || c.APIRegion() != "us-west-2" {
		t.Errorf("with clusterRegions: west %+v (found %v, problems %v), want host west.internal in us-west-2", c, ok, f.Problems)
	}
	var regions []string
	for _, r := range rsFake.Requests() {
		regions = append(regions, r.Region)
	}
	if strings.Join(regions, ",") != "us-east-1,us-east-1,us-west-2" {
		t.Errorf("DescribeClusters signed for %v, want us-east-1 (first resolve), then us-east-1 and us-west-2", regions)
	}
}

// TestArchiveBucketRegionIsAskedOfS3 resolves an archive.s3 without a region. S3 answers a
// HeadBucket sent to the wrong region with 301 and x-amz-bucket-region, which the SDK does not
// follow: the fake here answers that way for any region but eu-west-1. versitygw answers HeadBucket
// with its own region on success.
func TestArchiveBucketRegionIsAskedOfS3(t *testing.T) {
	var signedFor []string
	wrongRegion := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		region := awsfake.SigningRegion(r)
		signedFor = append(signedFor, r.Method+" "+region)
		w.Header().Set("x-amz-bucket-region", "eu-west-1")
		if r.Method != http.MethodHead || r.URL.Path != "/stl-in-ireland" || region != "eu-west-1" {
			w.WriteHeader(http.StatusMovedPermanently)
		}
	}))
	t.Cleanup(wrongRegion.Close)
	resolve := func(endpoint, bucket string) string {
		t.Helper()
		cfg := settings(t, map[string]any{
			"archive": map[string]any{"path": t.TempDir(), "s3": map[string]any{"bucket": bucket, "endpoint": endpoint, "pathStyle": true}},
			"aws":     awsJSON(nil),
			"export":  map[string]any{"enabled": false},
		}, awsKeys())
		f, err := app.ResolveFleet(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return f.Config.Archive.S3.Region
	}
	if got := resolve(wrongRegion.URL, "stl-in-ireland"); got != "eu-west-1" {
		t.Errorf("archive region %q after a 301, want eu-west-1 from x-amz-bucket-region", got)
	}
	if len(signedFor) != 1 || signedFor[0] != "HEAD us-east-1" {
		t.Errorf("requests %v, want one HeadBucket signed for aws.region", signedFor)
	}
	s3 := awstest.StartS3(t)
	if got := resolve(s3.Endpoint, s3.Bucket(t)); got != awstest.Region {
		t.Errorf("archive region %q on versitygw, want its region %s", got, awstest.Region)
	}
}
