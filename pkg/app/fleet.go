package app

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

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
	if cfg.SSM == nil {
		return f, nil
	}
	ctx, cancel := context.WithTimeout(ctx, fleetTimeout)
	defer cancel()
	ssmCfg, err := awsConfig(ctx, cfg, cfg.SSM.Region)
	if err != nil {
		return f, fmt.Errorf("ssm: %w", err)
	}
	ssmClient := ssm.NewFromConfig(ssmCfg, func(o *ssm.Options) { o.BaseEndpoint = endpoint(cfg, "ssm") })
	rsClient, err := redshiftClient(ctx, cfg)
	if err != nil {
		return f, err
	}
	defaults := config.DefaultCluster()
	defaults.SSLMode, defaults.Auth = cfg.SSM.SSLMode, cfg.SSM.Auth
	s, err := ssmconfig.Load(ctx, ssmClient, rsClient, ssmconfig.Options{Prefix: cfg.SSM.Prefix, Defaults: defaults})
	if err != nil {
		return f, err
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
	return f, nil
}

func redshiftClient(ctx context.Context, cfg config.Config) (*redshift.Client, error) {
	ac, err := awsConfig(ctx, cfg, "")
	if err != nil {
		return nil, fmt.Errorf("redshift api: %w", err)
	}
	return redshift.NewFromConfig(ac, func(o *redshift.Options) { o.BaseEndpoint = endpoint(cfg, "redshift") }), nil
}

// Connector returns how the exporter connects to each cluster: with its password, or with
// temporary IAM credentials that are cached per cluster and renewed before they expire.
func Connector(ctx context.Context, cfg config.Config) (func(context.Context, config.Cluster, string) (*rs.Conn, error), error) {
	var api rs.CredentialsAPI
	for _, c := range cfg.Clusters {
		if c.Auth == config.AuthIAM || c.Auth == config.AuthIAMIdentity {
			client, err := redshiftClient(ctx, cfg)
			if err != nil {
				return nil, err
			}
			api = client
			break
		}
	}
	var mu sync.Mutex
	opts := make(map[string]rs.Options)
	return func(ctx context.Context, c config.Cluster, queryGroup string) (*rs.Conn, error) {
		mu.Lock()
		o, ok := opts[c.Name]
		if !ok {
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
	return fleet, nil
}
