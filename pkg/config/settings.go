package config

import (
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/awsx"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// Defaults of the fields a datasource may leave out.
const (
	DefaultInterval    = 5 * time.Minute
	DefaultLag         = time.Minute
	DefaultConcurrency = 4
	DefaultTimeout     = 10 * time.Minute
	DefaultLease       = 2 * time.Minute
	DefaultQueryGroup  = "stlarchive"

	DefaultVerifyHorizon  = 24 * time.Hour
	DefaultVerifyInterval = time.Hour
	MaxVerifyHorizon      = 7 * 24 * time.Hour

	DefaultEngine       = "duckdb"
	DefaultQueryTimeout = 30 * time.Second
	DefaultMaxRows      = 100000
	DefaultCacheSizeMB  = 10240
	DefaultMemoryMB     = 1024
	DefaultWorkers      = 4

	DefaultSSMPrefix       = "redshift_query_logs"
	DefaultAthenaWorkgroup = "primary"
	DefaultAthenaCatalog   = "AwsDataCatalog"
	DefaultAthenaDatabase  = "stl_archive"
	DefaultAthenaFirstDay  = "2025-01-01"
	// DefaultAthenaTimeout bounds one Athena query, queueing included.
	DefaultAthenaTimeout = 5 * time.Minute

	DefaultPort     = 5439
	DefaultDatabase = "dev"
	DefaultSSLMode  = "verify-full"
)

// secureJsonData keys of the AWS static keys, as @grafana/aws-sdk stores them.
const (
	AccessKeyKey = "accessKey"
	SecretKeyKey = "secretKey"
)

// passwordKey is the secureJsonData key prefix of a cluster's password: password.<cluster name>.
const passwordKey = "password."

// PasswordKey is the secureJsonData key that holds the password of the named cluster.
func PasswordKey(cluster string) string { return passwordKey + cluster }

// FromSettings decodes a datasource's jsonData and decrypted secureJsonData, applies the
// defaults and validates the result. Unknown fields are errors. Every problem found is reported,
// joined with errors.Join, each as a *FieldError naming the field by its full path
// (jsonData.clusters[1].port). Secret values never appear in an error.
//
// Relative archive and state paths are kept as they are, that is relative to the working
// directory of the process; LoadProvisioning resolves them against the provisioning file instead.
func FromSettings(jsonData []byte, secure map[string]string) (Config, error) {
	return FromSettingsIn(jsonData, secure, nil)
}

// FromSettingsIn is FromSettings under the AWS restrictions of the Grafana that runs the
// datasource: an auth type or a role assumption the administrator does not allow is a problem
// of the field that asks for it.
func FromSettingsIn(jsonData []byte, secure map[string]string, restrictions *awsx.Restrictions) (Config, error) {
	var probs problems
	root := parseObject(&probs, "jsonData", jsonData)
	if root == nil {
		// Unreadable JSON: every field would be reported missing, which says nothing more.
		return Config{}, probs.err()
	}
	cfg := decode(root)
	root.done()
	validate(&probs, &cfg)
	attachPasswords(&probs, &cfg, secure)
	cfg.AWS.Restrictions = restrictions
	validateAWS(&probs, &cfg)
	if err := probs.err(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Defaults returns the configuration of a datasource that sets nothing: no archive, no cluster,
// every other field at its default. Code that builds a Config by hand starts from it.
func Defaults() Config {
	return Config{
		Export: Export{
			Enabled:     true,
			Interval:    DefaultInterval,
			Lag:         DefaultLag,
			Jitter:      DefaultInterval / 10,
			Concurrency: DefaultConcurrency,
			Tables:      tables.Names(),
			QueryGroup:  DefaultQueryGroup,
			Timeout:     DefaultTimeout,
			Lease:       DefaultLease,
			Verify:      DefaultVerify(),
		},
		Query: Query{Engine: DefaultEngine, Timeout: DefaultQueryTimeout, MaxRows: DefaultMaxRows, CacheSizeMB: DefaultCacheSizeMB,
			MemoryLimitMB: DefaultMemoryMB, Workers: DefaultWorkers},
	}
}

// DefaultVerify returns the verification settings of an export that sets none.
func DefaultVerify() Verify {
	return Verify{Enabled: true, Horizon: DefaultVerifyHorizon, Interval: DefaultVerifyInterval, Heal: true}
}

// DefaultAthena returns the Athena settings of an athena engine that sets none.
func DefaultAthena() *Athena {
	return &Athena{Workgroup: DefaultAthenaWorkgroup, Catalog: DefaultAthenaCatalog, Database: DefaultAthenaDatabase,
		ManageCatalog: true, FirstDay: DefaultAthenaFirstDay, Timeout: DefaultAthenaTimeout}
}

// DefaultCluster returns a cluster with the default port, database and sslMode.
func DefaultCluster() Cluster {
	return Cluster{Port: DefaultPort, Database: DefaultDatabase, SSLMode: DefaultSSLMode, Auth: AuthPassword}
}

// decode reads every known field over the defaults.
func decode(root *object) Config {
	cfg := Defaults()

	archive := root.object("archive")
	archive.str("path", &cfg.Archive.Path)
	if s3, ok := archive.optionalObject("s3"); ok {
		a := &S3Archive{}
		s3.str("bucket", &a.Bucket)
		s3.str("prefix", &a.Prefix)
		s3.str("region", &a.Region)
		s3.str("endpoint", &a.Endpoint)
		s3.boolean("pathStyle", &a.PathStyle)
		s3.str("sse", &a.SSE)
		s3.str("kmsKeyId", &a.KMSKeyID)
		s3.done()
		cfg.Archive.S3 = a
	}
	archive.done()

	state := root.object("state")
	state.str("path", &cfg.State.Path)
	if dyn, ok := state.optionalObject("dynamodb"); ok {
		d := &DynamoDBState{}
		dyn.str("table", &d.Table)
		dyn.str("region", &d.Region)
		dyn.str("endpoint", &d.Endpoint)
		dyn.boolean("create", &d.Create)
		dyn.done()
		cfg.State.DynamoDB = d
	}
	state.done()

	aws := root.object("aws")
	aws.str("authType", &cfg.AWS.AuthType)
	aws.str("profile", &cfg.AWS.Profile)
	aws.str("assumeRoleArn", &cfg.AWS.AssumeRoleARN)
	aws.str("externalId", &cfg.AWS.ExternalID)
	aws.str("region", &cfg.AWS.Region)
	// Grafana's AWS datasources keep the same settings at the top of jsonData (region as
	// defaultRegion, the service endpoint as endpoint), so a block copied from the Athena
	// datasource works here. jsonData.aws is this product's own place; a setting given in both
	// places must agree.
	var endpoint string
	grafanaStyle(root, aws, "authType", "authType", &cfg.AWS.AuthType)
	grafanaStyle(root, aws, "profile", "profile", &cfg.AWS.Profile)
	grafanaStyle(root, aws, "assumeRoleArn", "assumeRoleArn", &cfg.AWS.AssumeRoleARN)
	grafanaStyle(root, aws, "externalId", "externalId", &cfg.AWS.ExternalID)
	grafanaStyle(root, aws, "defaultRegion", "region", &cfg.AWS.Region)
	root.str("endpoint", &endpoint)
	if eps, ok := aws.optionalObject("endpoints"); ok {
		cfg.AWS.Endpoints = map[string]string{}
		for _, svc := range AWSServices {
			var e string
			if eps.str(svc, &e) {
				cfg.AWS.Endpoints[svc] = e
			}
		}
		eps.done()
	}
	if endpoint != "" {
		// The Athena datasource's endpoint is Athena's.
		switch cur := cfg.AWS.Endpoints["athena"]; {
		case cur == "":
			if cfg.AWS.Endpoints == nil {
				cfg.AWS.Endpoints = map[string]string{}
			}
			cfg.AWS.Endpoints["athena"] = endpoint
		case cur != endpoint:
			root.probs.add("jsonData.endpoint", "is Athena's endpoint and disagrees with jsonData.aws.endpoints.athena (%q): set one", cur)
		}
	}
	aws.done()

	if s, ok := root.optionalObject("ssm"); ok {
		cfg.SSM = &SSM{Prefix: DefaultSSMPrefix, SSLMode: DefaultSSLMode, Auth: AuthPassword}
		s.str("prefix", &cfg.SSM.Prefix)
		s.str("region", &cfg.SSM.Region)
		s.str("sslMode", &cfg.SSM.SSLMode)
		s.str("auth", &cfg.SSM.Auth)
		s.stringList("clusterRegions", &cfg.SSM.ClusterRegions)
		s.done()
	}

	if cfg.State.Path == "" && cfg.Archive.Path != "" && cfg.State.DynamoDB == nil {
		cfg.State.Path = filepath.Join(cfg.Archive.Path, ".state", "export.db")
	}

	ex := root.object("export")
	ex.boolean("enabled", &cfg.Export.Enabled)
	ex.duration("interval", &cfg.Export.Interval)
	ex.duration("lag", &cfg.Export.Lag)
	if !ex.duration("jitter", &cfg.Export.Jitter) {
		cfg.Export.Jitter = cfg.Export.Interval / 10
	}
	ex.integer("concurrency", &cfg.Export.Concurrency)
	ex.duration("timeout", &cfg.Export.Timeout)
	ex.duration("lease", &cfg.Export.Lease)
	ex.stringList("tables", &cfg.Export.Tables)
	ex.str("queryGroup", &cfg.Export.QueryGroup)
	if v, ok := ex.optionalObject("verify"); ok {
		v.boolean("enabled", &cfg.Export.Verify.Enabled)
		v.duration("horizon", &cfg.Export.Verify.Horizon)
		v.duration("interval", &cfg.Export.Verify.Interval)
		v.boolean("heal", &cfg.Export.Verify.Heal)
		v.done()
	}
	ex.done()

	decodeCompaction(root, &cfg)

	q := root.object("query")
	q.str("engine", &cfg.Query.Engine)
	q.duration("timeout", &cfg.Query.Timeout)
	q.integer("maxRows", &cfg.Query.MaxRows)
	q.integer("cacheSizeMB", &cfg.Query.CacheSizeMB)
	q.integer("memoryLimitMB", &cfg.Query.MemoryLimitMB)
	q.integer("workers", &cfg.Query.Workers)
	a, hasAthena := q.optionalObject("athena")
	if !hasAthena {
		a = asObject(root.probs, q.field("athena"), nil)
	}
	at := DefaultAthena()
	a.str("workgroup", &at.Workgroup)
	a.str("outputLocation", &at.OutputLocation)
	a.str("catalog", &at.Catalog)
	a.str("database", &at.Database)
	a.str("region", &at.Region)
	a.duration("resultReuse", &at.ResultReuse)
	a.duration("timeout", &at.Timeout)
	a.boolean("manageCatalog", &at.ManageCatalog)
	a.str("firstDay", &at.FirstDay)
	a.done()
	// Grafana's Athena datasource keeps these at the top of jsonData; like the AWS settings
	// above, they fill query.athena and must agree with it where both are set.
	for _, k := range []struct {
		key string
		dst *string
	}{{"catalog", &at.Catalog}, {"database", &at.Database}, {"workgroup", &at.Workgroup}, {"outputLocation", &at.OutputLocation}} {
		if grafanaStyle(root, a, k.key, k.key, k.dst) {
			hasAthena = true
		}
	}
	if hasAthena {
		cfg.Query.Athena = at
	}
	q.done()

	for _, c := range root.objects("clusters") {
		cl := DefaultCluster()
		c.str("name", &cl.Name)
		c.str("host", &cl.Host)
		c.integer("port", &cl.Port)
		c.str("database", &cl.Database)
		c.str("user", &cl.User)
		c.str("sslMode", &cl.SSLMode)
		c.str("sslRootCert", &cl.SSLRootCert)
		c.str("auth", &cl.Auth)
		c.str("clusterIdentifier", &cl.ClusterID)
		c.stringList("dbGroups", &cl.DBGroups)
		c.boolean("autoCreate", &cl.AutoCreate)
		c.str("region", &cl.Region)
		c.done()
		cfg.Clusters = append(cfg.Clusters, cl)
	}

	for _, c := range root.objects("customQueries") {
		var cq CustomQuery
		c.str("name", &cq.Name)
		c.str("sql", &cq.SQL)
		c.str("timeColumn", &cq.TimeColumn)
		c.stringList("keyColumns", &cq.KeyColumns)
		c.stringList("clusters", &cq.Clusters)
		c.done()
		cfg.CustomQueries = append(cfg.CustomQueries, cq)
	}

	for _, p := range root.objects("presets") {
		var pr Preset
		p.str("id", &pr.ID)
		p.str("title", &pr.Title)
		p.str("description", &pr.Description)
		p.str("format", &pr.Format)
		if sql := p.object("sql"); sql != nil {
			pr.SQL = map[string]string{}
			for _, d := range PresetDialects {
				var text string
				if sql.str(d, &text) {
					pr.SQL[d] = text
				}
			}
			sql.done()
		}
		for _, c := range p.objects("columns") {
			var col PresetColumn
			c.str("name", &col.Name)
			c.str("role", &col.Role)
			c.done()
			pr.Columns = append(pr.Columns, col)
		}
		p.done()
		cfg.Presets = append(cfg.Presets, pr)
	}
	return cfg
}

// attachPasswords moves each cluster's password out of secureJsonData and reports keys that
// belong to no cluster: a password stored under a misspelt name would otherwise be ignored while
// the cluster it was meant for fails to log in.
func attachPasswords(probs *problems, cfg *Config, secure map[string]string) {
	known := make(map[string]bool, len(cfg.Clusters))
	for _, c := range cfg.Clusters {
		known[c.Name] = true
	}
	keys := make([]string, 0, len(secure))
	for k := range secure {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		field := "secureJsonData." + k
		switch k {
		case AccessKeyKey:
			cfg.AWS.AccessKey = Secret(secure[k])
			continue
		case SecretKeyKey:
			cfg.AWS.SecretKey = Secret(secure[k])
			continue
		}
		name, isPassword := strings.CutPrefix(k, passwordKey)
		if !isPassword {
			probs.add(field, "unknown key (cluster passwords are stored as %s<cluster name>, AWS keys as %s and %s)", passwordKey, AccessKeyKey, SecretKeyKey)
			continue
		}
		if !known[name] && secure[k] != "" {
			// Grafana cannot delete a stored secret, only blank it: an empty password of a
			// removed or renamed cluster is a leftover, not a typo.
			probs.add(field, "no cluster named %q in jsonData.clusters%s", name, knownNames(cfg.Clusters))
		}
	}
	for i := range cfg.Clusters {
		c := &cfg.Clusters[i]
		if !clusterNameRe.MatchString(c.Name) {
			continue // the name is reported by validate; a password key for it would be noise
		}
		pw, ok := secure[PasswordKey(c.Name)]
		if !ok {
			if c.Auth == AuthPassword {
				probs.add("secureJsonData."+PasswordKey(c.Name), "missing")
			}
			continue
		}
		c.Password = Secret(pw)
	}
}

func knownNames(cs []Cluster) string {
	if len(cs) == 0 {
		return " (there are none)"
	}
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	return " (known: " + strings.Join(names, ", ") + ")"
}

// grafanaStyle reads a top-level jsonData key of Grafana's AWS datasources into dst, which
// <in>.<ours> (jsonData.aws.region, jsonData.query.athena.workgroup) may already have set: the
// two must then agree. It reports whether the top-level key gave a value.
func grafanaStyle(root, in *object, key, ours string, dst *string) bool {
	cur := *dst
	var v string
	if !root.str(key, &v) || v == "" {
		return false
	}
	switch {
	case cur == "" || !in.has(ours):
		*dst = v
	case cur != v:
		root.probs.add(root.field(key), "is %q but %s is %q: set one, or make them agree", v, in.field(ours), cur)
	}
	return true
}
