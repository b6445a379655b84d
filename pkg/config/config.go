// Package config is the one configuration model of the product: the datasource's jsonData and
// secureJsonData as Grafana stores them. The plugin decodes it from instance settings; the CLI
// reads it from the same datasource provisioning YAML that Grafana reads. Validation happens once,
// here, and every error names the offending field. Secrets are kept apart and never printed.
package config

import (
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/awsx"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// PluginID is the plugin's id in plugin.json and the datasource type in provisioning files.
const PluginID = "stlarchive-redshift-datasource"

// Config is the validated configuration of one datasource.
type Config struct {
	Archive Archive
	State   State
	// AWS holds the credentials of the S3 archive and the DynamoDB state.
	AWS           AWS
	Export        Export
	Query         Query
	Clusters      []Cluster
	CustomQueries []CustomQuery
	// Presets are the operator's own diagnostics, next to the built-in ones.
	Presets []Preset
	// SSM, when set, adds the clusters kept in SSM Parameter Store under the 2018 solution's
	// parameter names. They are read when the exporter starts, not here.
	SSM *SSM
	// Compaction tunes the compaction of closed days.
	Compaction Compaction
	// Retention maps a table to how long its days are kept; a table not in it is kept forever.
	Retention map[string]time.Duration
}

// SSM is where cluster settings are read from Parameter Store: <prefix>.global.enabled_cluster_list,
// <prefix>.global.s3_prefix, and per cluster <prefix>.<cluster>.user, .password (SecureString) and
// optionally .endpoint; otherwise the endpoint comes from redshift:DescribeClusters.
type SSM struct {
	// Prefix of the parameter names; default "redshift_query_logs".
	Prefix string
	// Region of the parameters; default aws.region.
	Region string
	// SSLMode applies to the clusters read from SSM, as for clusters[].
	SSLMode string
	// Auth is how the clusters read from SSM log in, as for clusters[]: with "iam" or
	// "iam-identity" no password parameter is needed.
	Auth string
	// ClusterRegions are the regions redshift:DescribeClusters searches, in order, for the SSM
	// clusters without an endpoint parameter; default aws.region alone. A region's API lists
	// only its own clusters.
	ClusterRegions []string
}

// Archive says where the Parquet archive lives.
type Archive struct {
	// Path is the local archive root (embedded default). With S3 set it stays required: it is
	// the local folder the embedded query engine reads, and the exporter writes only to S3.
	Path string `json:"path,omitempty"`
	// S3, when set, is where the exporter writes the archive.
	S3 *S3Archive `json:"s3,omitempty"`
}

// S3Archive is an archive in an S3 bucket, on AWS or on an S3-compatible server.
type S3Archive struct {
	Bucket string `json:"bucket"`
	// Prefix goes before every key, e.g. "stl/".
	Prefix string `json:"prefix,omitempty"`
	// Region of the bucket; default aws.region.
	Region string `json:"region,omitempty"`
	// Endpoint overrides the S3 endpoint (an S3-compatible server, a VPC endpoint).
	Endpoint string `json:"endpoint,omitempty"`
	// PathStyle addresses the bucket in the path instead of the host name, as most
	// S3-compatible servers need.
	PathStyle bool `json:"pathStyle,omitempty"`
	// SSE is the server-side encryption: "" (the bucket's default), "AES256" (SSE-S3) or
	// "aws:kms" (SSE-KMS, with KMSKeyID or the AWS-managed key).
	SSE      string `json:"sse,omitempty"`
	KMSKeyID string `json:"kmsKeyId,omitempty"`
}

// State says where export progress is kept.
type State struct {
	// Path is the embedded store's file; default <archive.path>/.state/export.db unless
	// DynamoDB is set.
	Path string `json:"path,omitempty"`
	// DynamoDB, when set, keeps the state (and the leases of HA) in a DynamoDB table.
	DynamoDB *DynamoDBState `json:"dynamodb,omitempty"`
}

// DynamoDBState is the export state in a DynamoDB table.
type DynamoDBState struct {
	Table string `json:"table"`
	// Region of the table; default aws.region.
	Region string `json:"region,omitempty"`
	// Endpoint overrides the DynamoDB endpoint.
	Endpoint string `json:"endpoint,omitempty"`
	// Create creates the table when it is missing (needs dynamodb:CreateTable).
	Create bool `json:"create,omitempty"`
}

// AWS are the credentials of the AWS services, with the names of Grafana's AWS datasources
// (@grafana/aws-sdk): authType, profile, assumeRoleArn, externalId, region in jsonData, and
// accessKey, secretKey in secureJsonData.
type AWS struct {
	// AuthType is "default" (the SDK's default chain; also when empty), "keys", "credentials"
	// (alias "profile"), "ec2_iam_role" or "grafana_assume_role": Grafana's names.
	AuthType      string
	Profile       string
	AssumeRoleARN string
	ExternalID    string
	Region        string
	// AccessKey and SecretKey come from secureJsonData "accessKey" and "secretKey".
	AccessKey Secret
	SecretKey Secret
	// Endpoints override the endpoint of a service by its key in AWSServices (a VPC endpoint,
	// a test server). S3 and DynamoDB have theirs in archive.s3 and state.dynamodb.
	Endpoints map[string]string
	// Restrictions are the Grafana administrator's ([aws] allowed_auth_providers,
	// assume_role_enabled, …); nil outside Grafana when the environment sets none.
	Restrictions *awsx.Restrictions `json:"-" yaml:"-"`
	// Observe, when set, is told every AWS call's service and operation (tests of the IAM
	// policy); never set from jsonData.
	Observe func(service, operation string) `json:"-" yaml:"-"`
}

// AWSServices are the keys of AWS.Endpoints.
var AWSServices = []string{"athena", "glue", "redshift", "ssm", "sts"}

// AWSAuthTypes are the accepted AWS.AuthType values.
var AWSAuthTypes = []string{"default", "keys", "credentials", "profile", "ec2_iam_role", "grafana_assume_role"}

// SSE values of S3Archive.
const (
	SSES3  = "AES256"
	SSEKMS = "aws:kms"
)

// Export is the schedule and scope of the exporter.
type Export struct {
	// Enabled starts the exporter with the datasource instance. Default true.
	Enabled bool
	// Interval between cycles. Default 5m.
	Interval time.Duration
	// Lag keeps the newest rows out of a window: hi = now on the source − Lag. Rows that reach
	// STL later than this after their time are late rows. Default 1m.
	Lag time.Duration
	// Jitter delays each cluster's cycle by up to this much. Default 10% of Interval.
	Jitter time.Duration
	// Concurrency is how many clusters export at once. Default 4.
	Concurrency int
	// Tables to export; default all eight STL tables.
	Tables []string
	// QueryGroup tags the exporter's own queries on the source, which the export leaves out.
	// Default "stlarchive".
	QueryGroup string
	// Timeout bounds one (cluster, table) export. Default 10m.
	Timeout time.Duration
	// Lease is how long a cluster stays reserved to one exporter without renewal: the time
	// after which another exporter (a Grafana replica, the CLI) takes over a crashed one's
	// clusters. Renewed every third of it while a cycle runs. Default 2m.
	Lease time.Duration
	// Verify re-counts archived windows on the source and heals those that changed.
	Verify Verify
}

// Verify is the schedule and reach of the verification pass: every Interval, the windows of the
// last Horizon that the source still holds are re-counted on the source and compared with the
// manifest of what was archived; a window whose rows changed is re-exported when Heal is set.
type Verify struct {
	// Enabled runs the pass on its interval under the cluster's lease. Default true.
	Enabled bool
	// Horizon is how far back a pass looks. Default 24h; at most 7 days (STL retention).
	Horizon time.Duration
	// Interval between passes on one cluster. Default 1h.
	Interval time.Duration
	// Heal re-exports the windows whose source rows changed. Default true.
	Heal bool
}

// Query holds the engine and the limits of the query side.
type Query struct {
	// Engine: "duckdb" (default, embedded) or "athena".
	Engine string
	// Timeout of one query. Default 30s.
	Timeout time.Duration
	// MaxRows caps a result. Default 100000.
	MaxRows int
	// CacheSizeMB bounds the local copy of an S3 archive that the embedded engine reads
	// (archive.path). Default 10240.
	CacheSizeMB int
	// MemoryLimitMB is the memory one query of the embedded engine may take, in MiB: DuckDB's
	// memory_limit, and with a fixed overhead the OS bound of the worker process that runs it.
	// Default 1024.
	MemoryLimitMB int
	// Workers is how many queries of the embedded engine run at once, each in a worker process
	// of its own. Default 4.
	Workers int
	// Athena is the Athena engine's settings; required with engine "athena".
	Athena *Athena
}

// Athena is where Athena runs queries and where its Glue Data Catalog tables live.
type Athena struct {
	// Workgroup; default "primary".
	Workgroup string
	// OutputLocation is the s3:// folder of query results; empty uses the workgroup's.
	OutputLocation string
	// Catalog is the data catalog; default "AwsDataCatalog".
	Catalog string
	// Database is the Glue database of the archive's tables; default "stl_archive".
	Database string
	// Region of Athena and Glue; default aws.region.
	Region string
	// ResultReuse, when positive, lets Athena answer a repeated query from a result this recent.
	ResultReuse time.Duration
	// Timeout of one Athena query, queueing included; default DefaultAthenaTimeout. Athena
	// queues queries and scans S3: query.timeout (the embedded engine's) is too short for it.
	Timeout time.Duration
	// ManageCatalog creates and updates the Glue database and tables (with partition
	// projection) when the datasource starts. Default true.
	ManageCatalog bool
	// FirstDay (YYYY-MM-DD) starts the projected day partitions; days before it are invisible
	// to Athena. Best the day the archive starts: a query without a day filter makes Athena look
	// into every projected day. Default DefaultAthenaFirstDay.
	FirstDay string
}

// Cluster is one Redshift cluster (or PostgreSQL standing in for one).
type Cluster struct {
	// Name identifies the cluster in the archive (partition cluster=<Name>) and in every message.
	// Lower-case letters, digits, '-' and '_'.
	Name     string
	Host     string
	Port     int    // default 5439
	Database string // default "dev"
	User     string
	// Password comes from secureJsonData "password.<Name>". Never logged or returned.
	Password Secret
	// SSLMode: verify-full (default), verify-ca, require, or disable (local tests only).
	SSLMode string
	// SSLRootCert is a PEM file of the CAs trusted for verify-full and verify-ca instead of the
	// system roots (a private CA; Redshift's own CA is in the system roots).
	SSLRootCert string
	// Auth is "password" (default: password.<Name> in secureJsonData), "iam"
	// (redshift:GetClusterCredentials for User) or "iam-identity"
	// (redshift:GetClusterCredentialsWithIAM: the database user is the AWS identity).
	Auth string
	// ClusterID is the Redshift cluster identifier for IAM auth; default Name.
	ClusterID string
	// DBGroups the IAM user joins for the session, and AutoCreate creates the user if missing
	// (auth "iam" only).
	DBGroups   []string
	AutoCreate bool
	// Region of the cluster for the Redshift API (IAM credentials); default the region in its
	// endpoint host (<id>.<hash>.<region>.redshift.amazonaws.com), else aws.region.
	Region string
}

// APIRegion is the region whose Redshift API knows the cluster: Region, else the region in a
// Redshift endpoint host, else "" (aws.region). Redshift answers ClusterNotFound for a cluster
// of another region, so the temporary credentials must be asked for there.
func (c Cluster) APIRegion() string {
	if c.Region != "" {
		return c.Region
	}
	return RegionOfHost(c.Host)
}

// RegionOfHost reads the region out of a provisioned cluster's endpoint host,
// <id>.<hash>.<region>.redshift.amazonaws.com (.com.cn in China); "" for any other host.
func RegionOfHost(host string) string {
	if m := redshiftHostRe.FindStringSubmatch(strings.ToLower(strings.TrimSuffix(host, "."))); m != nil {
		return m[1]
	}
	return ""
}

var redshiftHostRe = regexp.MustCompile(`^[a-z0-9-]+\.[a-z0-9]+\.([a-z]{2}(?:-[a-z]+)+-[0-9])\.redshift\.amazonaws\.com(?:\.cn)?$`)

// Identifier is the Redshift cluster identifier of IAM auth: ClusterID, or else Name.
func (c Cluster) Identifier() string {
	if c.ClusterID != "" {
		return c.ClusterID
	}
	return c.Name
}

// Cluster auth values.
const (
	AuthPassword    = "password"
	AuthIAM         = "iam"
	AuthIAMIdentity = "iam-identity"
)

// ClusterAuths are the accepted Cluster.Auth values.
var ClusterAuths = []string{AuthPassword, AuthIAM, AuthIAMIdentity}

// Engines are the accepted Query.Engine values.
var Engines = []string{"duckdb", "athena"}

// CustomQuery is an operator's own query, exported with the same guarantees as an STL table.
type CustomQuery struct {
	// Name is the archive table name.
	Name string
	// SQL is one SELECT run on each cluster.
	SQL string
	// TimeColumn of the result orders rows in time.
	TimeColumn string
	// KeyColumns identify a row.
	KeyColumns []string
	// Clusters limits the query to these clusters; default all.
	Clusters []string
}

// Preset is a diagnostic query the datasource offers by id, in the same shape as the built-in
// presets: SQL per engine dialect and the role of each output column.
type Preset struct {
	ID          string
	Title       string
	Description string
	// Format: time_series, table, annotations or variable.
	Format string
	// SQL by dialect ("duckdb", "athena"), with macros.
	SQL map[string]string
	// Columns name the output columns and their roles: time, timeEnd, value, label, text, tags,
	// column.
	Columns []PresetColumn
}

// PresetColumn is one output column of a preset and what it is for.
type PresetColumn struct {
	Name string
	Role string
}

// Preset formats and column roles.
var (
	PresetFormats = []string{"time_series", "table", "annotations", "variable"}
	PresetRoles   = []string{"time", "timeEnd", "value", "label", "text", "tags", "column"}
	// PresetDialects are the keys of Preset.SQL.
	PresetDialects = []string{"duckdb", "athena"}
)

// Secret is a string that prints as "***" in every format: fmt with any verb, encoding/json,
// text encoders (YAML, slog's text handler) and slog values. Only Reveal returns the value.
type Secret string

const redacted = "***"

func (Secret) String() string               { return redacted }
func (Secret) GoString() string             { return redacted }
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"***"`), nil }
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
func (Secret) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (s Secret) Reveal() string             { return string(s) }

// Format covers the verbs String does not reach: without it, fmt.Sprintf("%d", cfg) would print
// a nested Secret's bytes in its bad-verb report.
func (Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// Cluster returns the cluster with that name.
func (c Config) Cluster(name string) (Cluster, bool) {
	for _, cl := range c.Clusters {
		if cl.Name == name {
			return cl, true
		}
	}
	return Cluster{}, false
}

// STLTables are the catalog entries of the STL tables to export, in the configured order.
func (e Export) STLTables() ([]tables.Table, error) {
	out := make([]tables.Table, 0, len(e.Tables))
	for _, name := range e.Tables {
		t, ok := tables.Lookup(name)
		if !ok {
			return nil, fmt.Errorf("unknown table %s", name)
		}
		out = append(out, t)
	}
	return out, nil
}

// Table is the catalog entry the exporter archives this query as.
func (q CustomQuery) Table() tables.Table {
	return tables.Custom(q.Name, q.SQL, q.TimeColumn, q.KeyColumns)
}

// RunsOn reports whether the query is exported from the named cluster.
func (q CustomQuery) RunsOn(cluster string) bool {
	return len(q.Clusters) == 0 || slices.Contains(q.Clusters, cluster)
}

// String describes the configuration on one line for logs and the CLI. Passwords show only
// whether they are set.
func (c Config) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "archive=%s state=%s", c.Archive.Path, c.State.Path)
	if s3 := c.Archive.S3; s3 != nil {
		fmt.Fprintf(&b, " s3=s3://%s/%s", s3.Bucket, s3.Prefix)
		if s3.SSE != "" {
			fmt.Fprintf(&b, "(sse=%s)", s3.SSE)
		}
	}
	if d := c.State.DynamoDB; d != nil {
		fmt.Fprintf(&b, " dynamodb=%s", d.Table)
	}
	if c.Archive.S3 != nil || c.State.DynamoDB != nil {
		fmt.Fprintf(&b, " aws=%s", c.AWS.AuthType)
	}
	ex := c.Export
	if ex.Enabled {
		fmt.Fprintf(&b, " export=on(interval=%s lag=%s jitter=%s concurrency=%d timeout=%s queryGroup=%s tables=%s)",
			ex.Interval, ex.Lag, ex.Jitter, ex.Concurrency, ex.Timeout, ex.QueryGroup, strings.Join(ex.Tables, ","))
	} else {
		b.WriteString(" export=off")
	}
	fmt.Fprintf(&b, " query=%s(timeout=%s maxRows=%d)", c.Query.Engine, c.Query.Timeout, c.Query.MaxRows)
	b.WriteString(" clusters=[")
	for i, cl := range c.Clusters {
		if i > 0 {
			b.WriteString(" ")
		}
		pw := "unset"
		if cl.Password != "" {
			pw = "set"
		}
		fmt.Fprintf(&b, "%s(%s@%s:%d/%s sslMode=%s password=%s)", cl.Name, cl.User, cl.Host, cl.Port, cl.Database, cl.SSLMode, pw)
	}
	b.WriteString("] customQueries=[")
	for i, q := range c.CustomQueries {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(q.Name)
		if len(q.Clusters) > 0 {
			fmt.Fprintf(&b, "(on %s)", strings.Join(q.Clusters, ","))
		}
	}
	b.WriteString("]")
	return b.String()
}

// regionRe is the shape of an AWS region name (us-east-1, eu-central-2, us-gov-west-1, cn-north-1).
var regionRe = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
