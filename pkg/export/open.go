package export

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stlarchive/redshift-stl-archive/pkg/awsx"
	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/state"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/storage"
	"github.com/stlarchive/redshift-stl-archive/pkg/redshift"
)

// Open makes the exporter a configuration describes, with its state store and archive. A local
// archive or state folder that cannot be created or written is a *PathError.
func Open(cfg config.Config, opts Options) (*Exporter, error) {
	if err := CheckPaths(cfg); err != nil {
		return nil, err
	}
	store, err := OpenStore(cfg)
	if err != nil {
		return nil, err
	}
	archive, err := OpenArchive(cfg)
	if err != nil {
		store.Close()
		return nil, err
	}
	return New(cfg, store, archive, opts)
}

// openTimeout bounds what opening a store or an archive may wait for: loading AWS settings and,
// for DynamoDB, describing or creating the table until it is active.
const openTimeout = 2 * time.Minute

// OpenStore opens the state store a configuration describes: DynamoDB when state.dynamodb is
// set, else the embedded bbolt file.
func OpenStore(cfg config.Config) (state.Store, error) {
	if d := cfg.State.DynamoDB; d != nil {
		ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
		defer cancel()
		awsCfg, err := awsx.Load(ctx, AWSSettings(cfg.AWS, d.Region))
		if err != nil {
			return nil, fmt.Errorf("export: open state: %w", err)
		}
		client := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
			if d.Endpoint != "" {
				o.BaseEndpoint = aws.String(d.Endpoint)
			}
		})
		store, err := state.OpenDynamo(ctx, client, state.DynamoOptions{Table: d.Table, Create: d.Create})
		if err != nil {
			return nil, fmt.Errorf("export: open state: %w", err)
		}
		return store, nil
	}
	if err := checkFolder(stateField(cfg), filepath.Dir(cfg.State.Path)); err != nil {
		return nil, err
	}
	store, err := state.OpenBolt(cfg.State.Path)
	if err != nil {
		return nil, fmt.Errorf("export: open state: %w", err)
	}
	return store, nil
}

// PathError is a local folder of the configuration (the archive, or the state file's) that
// cannot be created or written: a configuration error, named by its field.
type PathError struct {
	Field string // e.g. jsonData.archive.path
	Path  string
	Err   error
}

func (e *PathError) Error() string {
	return fmt.Sprintf("%s: cannot create or write the folder %q: %v", e.Field, e.Path, e.Err)
}

func (e *PathError) Unwrap() error { return e.Err }

// CheckPaths proves that the local archive folder and the folder of the bbolt state file exist
// or can be created, and accept a new file, by creating and removing one. Write permission bits
// alone would not do: root ignores them, and /proc or a read-only mount refuse files anyway.
func CheckPaths(cfg config.Config) error {
	if cfg.Archive.S3 == nil {
		if err := checkFolder("jsonData.archive.path", cfg.Archive.Path); err != nil {
			return err
		}
	}
	if cfg.State.DynamoDB == nil && cfg.State.Path != "" {
		return checkFolder(stateField(cfg), filepath.Dir(cfg.State.Path))
	}
	return nil
}

// stateField names the setting the state file's folder comes from: by default it lies under the
// archive folder.
func stateField(cfg config.Config) string {
	if cfg.Archive.Path != "" && cfg.State.Path == filepath.Join(cfg.Archive.Path, ".state", "export.db") {
		return "jsonData.archive.path"
	}
	return "jsonData.state.path"
}

func checkFolder(field, dir string) error {
	fail := func(err error) error {
		// The operating system's reason alone: the path is named once, by the PathError.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return &PathError{Field: field, Path: dir, Err: err}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(err)
	}
	f, err := os.CreateTemp(dir, ".stlarchive-writable-*")
	if err != nil {
		return fail(err)
	}
	name := f.Name()
	werr := f.Close()
	if err := os.Remove(name); werr == nil {
		werr = err
	}
	if werr != nil {
		return fail(werr)
	}
	return nil
}

// OpenArchive opens the archive the exporter writes: the S3 bucket when archive.s3 is set, else
// the local folder.
func OpenArchive(cfg config.Config) (storage.Archive, error) {
	s := cfg.Archive.S3
	if s == nil {
		return storage.Local{Root: cfg.Archive.Path}, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	awsCfg, err := awsx.Load(ctx, AWSSettings(cfg.AWS, s.Region))
	if err != nil {
		return nil, fmt.Errorf("export: open archive: %w", err)
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if s.Endpoint != "" {
			o.BaseEndpoint = aws.String(s.Endpoint)
		}
		o.UsePathStyle = s.PathStyle
	})
	archive, err := storage.NewS3(client, storage.S3Options{Bucket: s.Bucket, Prefix: s.Prefix, SSE: s.SSE, KMSKeyID: s.KMSKeyID})
	if err != nil {
		return nil, fmt.Errorf("export: open archive: %w", err)
	}
	return archive, nil
}

// AWSSettings maps the configuration's AWS credentials onto awsx; a service's own region wins
// over the shared one.
func AWSSettings(a config.AWS, region string) awsx.Settings {
	if region == "" {
		region = a.Region
	}
	return awsx.Settings{
		AuthType:      awsx.AuthType(a.AuthType),
		Profile:       a.Profile,
		AccessKey:     a.AccessKey.Reveal(),
		SecretKey:     a.SecretKey.Reveal(),
		AssumeRoleARN: a.AssumeRoleARN,
		ExternalID:    a.ExternalID,
		Region:        region,
		STSEndpoint:   a.Endpoints["sts"],
	}
}

// NewChecker makes an exporter that can only check clusters (CheckCluster): it has no state
// store and no archive, for a health check whose archive or state folder is unusable.
func NewChecker(cfg config.Config, opts Options) (*Exporter, error) {
	return New(cfg, nil, nil, opts)
}

// Store is the exporter's state store.
func (e *Exporter) Store() state.Store { return e.store }

// Archive is the exporter's archive.
func (e *Exporter) Archive() storage.Archive { return e.archive }

// ClusterHealth is what a health check learns of one cluster.
type ClusterHealth struct {
	Cluster    string               `json:"cluster"`
	Reachable  bool                 `json:"reachable"`
	Error      string               `json:"error,omitempty"`
	Visibility *redshift.Visibility `json:"visibility,omitempty"`
	// LagSeconds is the largest export lag among the cluster's tables; -1 before the first export.
	LagSeconds float64 `json:"lagSeconds"`
	// ExportError is the most recent export error of one of its tables.
	ExportError string `json:"exportError,omitempty"`
	Gaps        int    `json:"gaps"`
}

// CheckCluster connects to a cluster on a fresh connection, reads what its user may see in STL
// and summarises its export state.
func (e *Exporter) CheckCluster(ctx context.Context, name string) ClusterHealth {
	h := ClusterHealth{Cluster: name, LagSeconds: -1}
	c, ok := e.cluster(name)
	if !ok {
		h.Error = "not configured"
		return h
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	conn, err := e.opts.Connect(ctx, c, e.cfg.QueryGroup)
	if err != nil {
		h.Error = err.Error()
	} else {
		defer conn.Close(context.WithoutCancel(ctx))
		h.Reachable = true
		v, err := conn.Visibility(ctx)
		if err != nil {
			h.Error = err.Error()
		} else {
			h.Visibility = &v
		}
	}
	if e.store == nil {
		// A checker (NewChecker): there is no export state to summarise.
		return h
	}
	status, err := Status(ctx, e.store, time.Now())
	if err != nil {
		h.ExportError = err.Error()
		return h
	}
	for _, s := range status {
		if s.Cluster != name {
			continue
		}
		h.LagSeconds = max(h.LagSeconds, s.LagSeconds)
		h.Gaps += len(s.Gaps)
		if s.LastError != "" && h.ExportError == "" {
			h.ExportError = s.LastError
		}
	}
	return h
}

// Summary is a one-line account of the cluster's health, and whether it is healthy.
func (h ClusterHealth) Summary() (string, bool) {
	if !h.Reachable {
		return fmt.Sprintf("cluster %s: unreachable: %s", h.Cluster, strings.TrimPrefix(h.Error, "cluster "+h.Cluster+": ")), false
	}
	var parts []string
	healthy := true
	parts = append(parts, "reachable")
	switch {
	case h.Visibility == nil:
		parts = append(parts, "visibility unknown: "+h.Error)
	case h.Visibility.Unrestricted:
		parts = append(parts, fmt.Sprintf("user %s sees all users' STL rows", h.Visibility.User))
	default:
		parts = append(parts, fmt.Sprintf("user %s sees only its own STL rows (grant SYSLOG ACCESS UNRESTRICTED to archive everyone's)", h.Visibility.User))
	}
	if h.LagSeconds < 0 {
		parts = append(parts, "not exported yet")
	} else {
		parts = append(parts, "export lag "+(time.Duration(h.LagSeconds)*time.Second).String())
	}
	if h.Gaps > 0 {
		parts = append(parts, fmt.Sprintf("%d gap(s) in history", h.Gaps))
	}
	if h.ExportError != "" {
		healthy = false
		parts = append(parts, "last export failed: "+h.ExportError)
	}
	return fmt.Sprintf("cluster %s: %s", h.Cluster, strings.Join(parts, "; ")), healthy
}
