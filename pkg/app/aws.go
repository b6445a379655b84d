package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stlarchive/redshift-stl-archive/pkg/awsx"
	"github.com/stlarchive/redshift-stl-archive/pkg/catalog"
	"github.com/stlarchive/redshift-stl-archive/pkg/compact"
	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/storage"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// awsConfig loads the AWS configuration of one service: its own region when it has one, else
// aws.region.
func awsConfig(ctx context.Context, cfg config.Config, region string) (aws.Config, error) {
	return awsx.Load(ctx, export.AWSSettings(cfg.AWS, region))
}

// endpoint returns the client option that points a service at its configured endpoint.
func endpoint(cfg config.Config, service string) *string {
	if e := cfg.AWS.Endpoints[service]; e != "" {
		return aws.String(e)
	}
	return nil
}

func athenaClient(ctx context.Context, cfg config.Config) (*athena.Client, error) {
	ac, err := awsConfig(ctx, cfg, cfg.Query.Athena.Region)
	if err != nil {
		return nil, err
	}
	return athena.NewFromConfig(ac, func(o *athena.Options) { o.BaseEndpoint = endpoint(cfg, "athena") }), nil
}

func glueClient(ctx context.Context, cfg config.Config) (*glue.Client, error) {
	ac, err := awsConfig(ctx, cfg, cfg.Query.Athena.Region)
	if err != nil {
		return nil, err
	}
	return glue.NewFromConfig(ac, func(o *glue.Options) { o.BaseEndpoint = endpoint(cfg, "glue") }), nil
}

func s3Client(ctx context.Context, cfg config.Config) (*s3.Client, error) {
	a := cfg.Archive.S3
	ac, err := awsConfig(ctx, cfg, a.Region)
	if err != nil {
		return nil, err
	}
	return s3.NewFromConfig(ac, func(o *s3.Options) {
		if a.Endpoint != "" {
			o.BaseEndpoint = aws.String(a.Endpoint)
		}
		o.UsePathStyle = a.PathStyle
	}), nil
}

// bucketRegion asks S3 which region the archive bucket is in, for an archive.s3 without a
// region (the bucket of SSM's global.s3_prefix has none). HeadBucket sent to any region answers
// with x-amz-bucket-region, on success and on the 301 of a bucket elsewhere alike; the SDK does
// not follow that redirect, so every later call must go to that region. When S3 does not say
// (an S3-compatible server, a denied HeadBucket), the bucket is taken to be in aws.region.
func bucketRegion(ctx context.Context, cfg config.Config) (string, error) {
	client, err := s3Client(ctx, cfg)
	if err != nil {
		return "", fmt.Errorf("archive: %w", err)
	}
	// One attempt, briefly: the answer is a hint, and its absence is not an error.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(cfg.Archive.S3.Bucket)},
		func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	if err == nil {
		return aws.ToString(out.BucketRegion), nil
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		if r := re.Response.Header.Get("x-amz-bucket-region"); r != "" {
			return r, nil
		}
	}
	return "", nil
}

// ArchiveLocation is the s3:// URL of the archive root in S3.
func ArchiveLocation(a *config.S3Archive) string {
	prefix := a.Prefix
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return "s3://" + a.Bucket + "/" + prefix
}

// catalogTimeout bounds the Glue calls of one EnsureCatalog: about two per table.
const catalogTimeout = 2 * time.Minute

// EnsureCatalog creates or updates the Glue database and tables that Athena reads the archive
// through, with partition projection over the given clusters, or, with compaction on, with
// registered partitions, added for every day of the archive before projection is taken off. A second call with the same
// settings changes nothing.
func EnsureCatalog(ctx context.Context, cfg config.Config, clusters []string) (catalog.Report, error) {
	a := cfg.Query.Athena
	if a == nil || cfg.Archive.S3 == nil {
		return catalog.Report{}, fmt.Errorf("catalog: needs query.athena and archive.s3")
	}
	ctx, cancel := context.WithTimeout(ctx, catalogTimeout)
	defer cancel()
	client, err := glueClient(ctx, cfg)
	if err != nil {
		return catalog.Report{}, fmt.Errorf("catalog: %w", err)
	}
	opts := catalog.Options{
		Database:   a.Database,
		Location:   ArchiveLocation(cfg.Archive.S3),
		Tables:     archivedTables(cfg),
		Clusters:   clusters,
		FirstDay:   a.FirstDay,
		Registered: cfg.RegisteredPartitions(),
	}
	if opts.Registered {
		opened, err := export.OpenArchive(cfg)
		if err != nil {
			return catalog.Report{}, fmt.Errorf("catalog: %w", err)
		}
		archive, ok := opened.(storage.Objects)
		if !ok {
			return catalog.Report{}, fmt.Errorf("catalog: %s cannot be listed for its partitions", opened)
		}
		parts := catalog.Partitions{API: client, Database: a.Database, Location: opts.Location}
		// Without the clusters' leases: only missing partitions are added (Partitions.Add); the
		// maintenance, under the lease, moves and deletes.
		opts.Publish = func(ctx context.Context, table string) error {
			for _, cl := range clusters {
				want, err := compact.WantedPartitions(ctx, archive, table, cl, time.Now())
				if err != nil {
					return fmt.Errorf("partitions of %s on %s: %w", table, cl, err)
				}
				if _, err := parts.Add(ctx, table, cl, want); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return catalog.Ensure(ctx, client, opts)
}

// partitionPublisher is the compactor's Publisher when Athena reads registered partitions
// (config.RegisteredPartitions), else nil: the embedded engine makes no Glue call.
func partitionPublisher(ctx context.Context, cfg config.Config) (compact.Publisher, error) {
	a := cfg.Query.Athena
	if !cfg.RegisteredPartitions() || a == nil || cfg.Archive.S3 == nil {
		return nil, nil
	}
	client, err := glueClient(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("glue client for the partitions of compacted days: %w", err)
	}
	return catalog.Partitions{API: client, Database: a.Database, Location: ArchiveLocation(cfg.Archive.S3)}, nil
}

// archivedTables are the STL tables the configuration exports, plus its custom queries (which
// the catalog skips: their columns are known only from their results).
func archivedTables(cfg config.Config) []tables.Table {
	out, _ := cfg.Export.STLTables() // validated: every name is known
	for _, q := range cfg.CustomQueries {
		out = append(out, q.Table())
	}
	return out
}
