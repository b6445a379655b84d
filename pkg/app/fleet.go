package app

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/redshift"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	rs "github.com/stlarchive/redshift-stl-archive/pkg/redshift"
	"github.com/stlarchive/redshift-stl-archive/pkg/ssmconfig"
)

// ssmSubPrefix keeps this archive apart from the 2018 solution's exports when its
// global.s3_prefix becomes the archive location: the two layouts name their table folders alike.
const ssmSubPrefix = "stlarchive/"

// fleetTimeout bounds reading the clusters from SSM and Redshift.
const fleetTimeout = time.Minute

// Fleet is the configuration with the clusters SSM Parameter Store adds, and why some enabled
// clusters could not be added (by cluster name). Each such cluster fails alone.
type Fleet struct {
	Config   config.Config
	Problems map[string]error
}

// ProblemNames are the clusters with problems, sorted.
func (f Fleet) ProblemNames() []string {
	names := make([]string, 0, len(f.Problems))
	for n := range f.Problems {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ResolveFleet reads the clusters kept in SSM when the configuration has ssm set. A cluster
// named both in the datasource and in SSM keeps its datasource settings. When archive.s3 is
// not set, the 2018 global.s3_prefix (with ssmSubPrefix under it) becomes the archive.
func ResolveFleet(ctx context.Context, cfg config.Config) (Fleet, error) {
	f := Fleet{Config: cfg}
	ctx, cancel := context.WithTimeout(ctx, fleetTimeout)
	defer cancel()
	if cfg.SSM != nil {
		if err := f.addSSM(ctx); err != nil {
			return f, err
		}
	}
	if a := f.Config.Archive.S3; a != nil && a.Region == "" {
		region, err := bucketRegion(ctx, f.Config)
		if err != nil {
			return f, err
		}
		s3a := *a
		s3a.Region = region
		f.Config.Archive.S3 = &s3a
	}
	return f, nil
}

func (f *Fleet) addSSM(ctx context.Context) error {
	cfg := f.Config
	ssmCfg, err := awsConfig(ctx, cfg, cfg.SSM.Region)
	if err != nil {
		return fmt.Errorf("ssm: %w", err)
	}
	ssmClient := ssm.NewFromConfig(ssmCfg, func(o *ssm.Options) { o.BaseEndpoint = endpoint(cfg, "ssm") })
	// The 2018 solution's Glue connections live next to its parameters.
	glueClient := glue.NewFromConfig(ssmCfg, func(o *glue.Options) { o.BaseEndpoint = endpoint(cfg, "glue") })
	apis := newRedshiftAPIs(cfg)
	regions := cfg.SSM.ClusterRegions
	first := ""
	if len(regions) > 0 {
		first, regions = regions[0], regions[1:]
	}
	rsClient, err := apis.client(ctx, first)
	if err != nil {
		return err
	}
	others := make(map[string]ssmconfig.RedshiftAPI, len(regions))
	for _, region := range regions {
		if others[region], err = apis.client(ctx, region); err != nil {
			return err
		}
	}
	defaults := config.DefaultCluster()
	defaults.SSLMode, defaults.Auth = cfg.SSM.SSLMode, cfg.SSM.Auth
	s, err := ssmconfig.Load(ctx, ssmClient, rsClient, ssmconfig.Options{Prefix: cfg.SSM.Prefix, Defaults: defaults, OtherRegions: others, Glue: glueClient})
	if err != nil {
		return err
	}
	if first != "" {
		// The clusters found in the first region are in it, whatever aws.region says.
		for i := range s.Clusters {
			if s.Clusters[i].Region == "" && config.RegionOfHost(s.Clusters[i].Host) == "" {
				s.Clusters[i].Region = first
			}
		}
	}
	have := make(map[string]bool, len(cfg.Clusters))
	for _, c := range cfg.Clusters {
		have[c.Name] = true
	}
	// The datasource's entry stands in for a broken SSM entry of the same cluster: reporting it
	// would fail health for a cluster that exports, and list it twice in the Glue catalog.
	f.Problems = make(map[string]error, len(s.Problems))
	for name, err := range s.Problems {
		if !have[name] {
			f.Problems[name] = err
		}
	}
	clusters := append([]config.Cluster(nil), cfg.Clusters...)
	for _, c := range s.Clusters {
		if !have[c.Name] {
			clusters = append(clusters, c)
		}
	}
	f.Config.Clusters = clusters
	if cfg.Archive.S3 == nil && s.S3Bucket != "" {
		f.Config.Archive.S3 = &config.S3Archive{Bucket: s.S3Bucket, Prefix: s.S3Prefix + ssmSubPrefix}
	}
	return nil
}

// redshiftAPIs are the Redshift API clients of a configuration, one per region, made on first
// use. Redshift's API knows only the clusters of its own region: GetClusterCredentials for a
// cluster of another region is ClusterNotFound.
type redshiftAPIs struct {
	cfg     config.Config
	mu      sync.Mutex
	clients map[string]*redshift.Client
}

func newRedshiftAPIs(cfg config.Config) *redshiftAPIs {
	return &redshiftAPIs{cfg: cfg, clients: map[string]*redshift.Client{}}
}

// client is the client of region; "" is aws.region.
func (r *redshiftAPIs) client(ctx context.Context, region string) (*redshift.Client, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.clients[region]; ok {
		return c, nil
	}
	ac, err := awsConfig(ctx, r.cfg, region)
	if err != nil {
		if region != "" {
			return nil, fmt.Errorf("redshift api in %s: %w", region, err)
		}
		return nil, fmt.Errorf("redshift api: %w", err)
	}
	c := redshift.NewFromConfig(ac, func(o *redshift.Options) { o.BaseEndpoint = endpoint(r.cfg, "redshift") })
	r.clients[region] = c
	return c, nil
}

// Connector returns how the exporter connects to each cluster: with its password, or with
// temporary IAM credentials that are cached per cluster and renewed before they expire. IAM
// credentials are asked of the Redshift API of the cluster's region (Cluster.APIRegion).
func Connector(ctx context.Context, cfg config.Config) (func(context.Context, config.Cluster, string) (*rs.Conn, error), error) {
	apis := newRedshiftAPIs(cfg)
	var mu sync.Mutex
	opts := make(map[string]rs.Options)
	return func(ctx context.Context, c config.Cluster, queryGroup string) (*rs.Conn, error) {
		mu.Lock()
		o, ok := opts[c.Name]
		if !ok {
			var api rs.CredentialsAPI
			if c.Auth == config.AuthIAM || c.Auth == config.AuthIAMIdentity {
				client, err := apis.client(ctx, c.APIRegion())
				if err != nil {
					mu.Unlock()
					return nil, fmt.Errorf("cluster %s: %w", c.Name, err)
				}
				api = client
			}
			var err error
			if o, err = rs.OptionsFor(c, api); err != nil {
				mu.Unlock()
				return nil, err
			}
			opts[c.Name] = o
		}
		mu.Unlock()
		return rs.ConnectWith(ctx, c, queryGroup, o)
	}, nil
}

// OpenExporter resolves the fleet and opens its exporter with the connector its clusters' auth
// needs. The fleet's configuration is the one the rest of the instance should use.
//
// A local archive or state folder that cannot be created or written fails with an
// *export.PathError naming its field; OpenChecker still checks the clusters then.
func OpenExporter(ctx context.Context, cfg config.Config, opts export.Options) (*export.Exporter, Fleet, error) {
	fleet, err := resolve(ctx, cfg, &opts)
	if err != nil {
		return nil, fleet, err
	}
	exp, err := export.Open(fleet.Config, opts)
	return exp, fleet, err
}

// OpenChecker resolves the fleet and makes an exporter that can only check its clusters
// (export.NewChecker), for a check whose archive or state folder is unusable.
func OpenChecker(ctx context.Context, cfg config.Config, opts export.Options) (*export.Exporter, Fleet, error) {
	fleet, err := resolve(ctx, cfg, &opts)
	if err != nil {
		return nil, fleet, err
	}
	exp, err := export.NewChecker(fleet.Config, opts)
	return exp, fleet, err
}

func resolve(ctx context.Context, cfg config.Config, opts *export.Options) (Fleet, error) {
	fleet, err := ResolveFleet(ctx, cfg)
	if err != nil {
		return fleet, err
	}
	if opts.Connect == nil {
		if opts.Connect, err = Connector(ctx, fleet.Config); err != nil {
			return fleet, err
		}
	}
	if opts.Publisher == nil {
		if opts.Publisher, err = partitionPublisher(ctx, fleet.Config); err != nil {
			return fleet, err
		}
	}
	return fleet, nil
}
