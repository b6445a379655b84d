package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/stlarchive/redshift-stl-archive/pkg/awsx"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// clusterNameRe keeps cluster names usable unquoted as a Hive partition value (cluster=<name>),
// in file paths and in SQL literals.
var clusterNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// maxQueryGroup is the width of the label column of stl_query (character(320)), where Redshift
// records the query group.
const maxQueryGroup = 320

const maxConcurrency = 64

// sslModes are the accepted cluster sslMode values, strictest first.
var sslModes = []string{"verify-full", "verify-ca", "require", "disable"}

func validate(probs *problems, cfg *Config) {
	validatePaths(probs, cfg)
	validateExport(probs, &cfg.Export)
	validateQuery(probs, cfg)
	validateSSM(probs, cfg.SSM)
	clusters := validateClusters(probs, cfg)
	validateCustomQueries(probs, cfg.CustomQueries, clusters)
	validatePresets(probs, cfg.Presets)
	validateCompaction(probs, cfg)
	if cfg.Export.Enabled && len(cfg.Export.Tables) == 0 && len(cfg.CustomQueries) == 0 {
		probs.add("jsonData.export.tables", "empty, and there are no customQueries: nothing to export (leave tables out for all STL tables)")
	}
}

func validatePaths(probs *problems, cfg *Config) {
	p := cfg.Archive.Path
	switch {
	case strings.TrimSpace(p) == "":
		probs.add("jsonData.archive.path", "required")
	case strings.Contains(p, "://"):
		probs.add("jsonData.archive.path", "must be a local directory, got %q (a bucket goes in archive.s3)", p)
	}
	if strings.Contains(cfg.State.Path, "://") {
		probs.add("jsonData.state.path", "must be a local file, got %q", cfg.State.Path)
	}
	if s3 := cfg.Archive.S3; s3 != nil {
		const path = "jsonData.archive.s3."
		switch {
		case s3.Bucket == "":
			probs.add(path+"bucket", "required")
		case !bucketRe.MatchString(s3.Bucket):
			probs.add(path+"bucket", "must be 3 to 63 lower-case letters, digits, '.' or '-', got %q", s3.Bucket)
		}
		if strings.HasPrefix(s3.Prefix, "/") || strings.Contains(s3.Prefix, "//") || strings.Contains(s3.Prefix, "..") {
			probs.add(path+"prefix", "must be a relative key prefix such as \"stl/\", got %q", s3.Prefix)
		}
		if msg := endpointProblem(s3.Endpoint); msg != "" {
			probs.add(path+"endpoint", "%s", msg)
		}
		switch s3.SSE {
		case "", SSES3:
			if s3.KMSKeyID != "" {
				probs.add(path+"kmsKeyId", "needs sse %q, got sse %q", SSEKMS, s3.SSE)
			}
		case SSEKMS:
		default:
			probs.add(path+"sse", "must be %q (SSE-S3) or %q (SSE-KMS), got %q", SSES3, SSEKMS, s3.SSE)
		}
	}
	if d := cfg.State.DynamoDB; d != nil {
		const path = "jsonData.state.dynamodb."
		switch {
		case d.Table == "":
			probs.add(path+"table", "required")
		case !dynamoTableRe.MatchString(d.Table):
			probs.add(path+"table", "must be 3 to 255 letters, digits, '_', '-' or '.', got %q", d.Table)
		}
		if msg := endpointProblem(d.Endpoint); msg != "" {
			probs.add(path+"endpoint", "%s", msg)
		}
		if cfg.State.Path != "" {
			probs.add("jsonData.state.path", "must be empty when state.dynamodb is set: the state is in one place")
		}
	}
}

var (
	glueNameRe    = regexp.MustCompile(`^[a-z0-9_]{1,255}$`)
	ssmPrefixRe   = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,500}$`)
	bucketRe      = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	dynamoTableRe = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)
)

func endpointProblem(e string) string {
	if e == "" {
		return ""
	}
	u, err := url.Parse(e)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Sprintf("must be an http or https URL, got %q", e)
	}
	return ""
}

func validateSSM(probs *problems, s *SSM) {
	if s == nil {
		return
	}
	if !ssmPrefixRe.MatchString(s.Prefix) {
		probs.add("jsonData.ssm.prefix", "must be letters, digits, '_', '.' or '-', got %q", s.Prefix)
	}
	if !slices.Contains(ClusterAuths, s.Auth) {
		probs.add("jsonData.ssm.auth", "must be one of %s, got %q", strings.Join(ClusterAuths, ", "), s.Auth)
	}
	for i, r := range s.ClusterRegions {
		if !regionRe.MatchString(r) {
			probs.add(fmt.Sprintf("jsonData.ssm.clusterRegions[%d]", i), "must be an AWS region such as us-west-2, got %q", r)
		}
	}
	if !slices.Contains(sslModes, s.SSLMode) {
		probs.add("jsonData.ssm.sslMode", "must be one of %s, got %q", strings.Join(sslModes, ", "), s.SSLMode)
	}
}

// UsesAWS reports whether any part of the configuration calls an AWS service.
func (c Config) UsesAWS() bool {
	if c.Archive.S3 != nil || c.State.DynamoDB != nil || c.SSM != nil || c.Query.Engine == "athena" {
		return true
	}
	for _, cl := range c.Clusters {
		if cl.Auth != AuthPassword {
			return true
		}
	}
	return false
}

// validateAWS checks the credentials once the secrets are attached. AWS settings are checked only
// when a service needs them: a local deployment may leave them at their defaults.
func validateAWS(probs *problems, cfg *Config) {
	a := cfg.AWS
	const path = "jsonData.aws."
	for _, svc := range AWSServices {
		if msg := endpointProblem(a.Endpoints[svc]); msg != "" {
			probs.add(path+"endpoints."+svc, "%s", msg)
		}
	}
	if !cfg.UsesAWS() {
		return
	}
	if a.AuthType != "" && !slices.Contains(AWSAuthTypes, a.AuthType) {
		probs.add(path+"authType", "must be one of %s, got %q", strings.Join(AWSAuthTypes, ", "), a.AuthType)
	}
	if a.AuthType == "keys" {
		if a.AccessKey == "" {
			probs.add("secureJsonData."+AccessKeyKey, "required when aws.authType is keys")
		}
		if a.SecretKey == "" {
			probs.add("secureJsonData."+SecretKeyKey, "required when aws.authType is keys")
		}
	}
	if a.AssumeRoleARN != "" && !strings.HasPrefix(a.AssumeRoleARN, "arn:") {
		probs.add(path+"assumeRoleArn", "must be a role ARN (arn:aws:iam::<account>:role/<name>), got %q", a.AssumeRoleARN)
	}
	if a.ExternalID != "" && a.AssumeRoleARN == "" {
		probs.add(path+"externalId", "is used only with assumeRoleArn, which is empty")
	}
	if a.AuthType == string(awsx.AuthGrafanaAssumeRole) && a.AssumeRoleARN == "" {
		probs.add(path+"assumeRoleArn", "required with authType grafana_assume_role: the role Grafana assumes")
	}
	r := a.Restrictions
	if r == nil {
		return
	}
	// The Grafana administrator's restrictions, as Grafana's own AWS datasources apply them.
	if p := awsx.AuthType(a.AuthType).Provider(); !slices.Contains(r.AllowedAuthProviders, p) {
		probs.add(path+"authType", "%s is not allowed by this Grafana: its [aws] allowed_auth_providers are %s", p, strings.Join(r.AllowedAuthProviders, ", "))
	}
	if a.AssumeRoleARN != "" && a.AuthType != string(awsx.AuthGrafanaAssumeRole) && !r.AssumeRoleEnabled {
		probs.add(path+"assumeRoleArn", "is set, but this Grafana does not allow assuming a role ([aws] assume_role_enabled = false)")
	}
	if a.AuthType == string(awsx.AuthGrafanaAssumeRole) && r.ExternalID == "" {
		probs.add(path+"authType", "grafana_assume_role needs the external id Grafana provides (%s), and this Grafana sets none", awsx.EnvExternalID)
	}
}

func validateExport(probs *problems, ex *Export) {
	const path = "jsonData.export."
	if ex.Interval < time.Second {
		probs.add(path+"interval", "must be at least 1s, got %s", ex.Interval)
	}
	if ex.Lag < 0 || ex.Lag >= 24*time.Hour {
		probs.add(path+"lag", "must be at least 0 and less than 24h, got %s", ex.Lag)
	}
	if ex.Jitter < 0 || ex.Jitter >= ex.Interval {
		probs.add(path+"jitter", "must be at least 0 and less than the interval (%s), got %s", ex.Interval, ex.Jitter)
	}
	if ex.Concurrency < 1 || ex.Concurrency > maxConcurrency {
		probs.add(path+"concurrency", "must be between 1 and %d, got %d", maxConcurrency, ex.Concurrency)
	}
	if ex.Timeout <= 0 {
		probs.add(path+"timeout", "must be positive, got %s", ex.Timeout)
	}
	if ex.Lease < time.Second {
		probs.add(path+"lease", "must be at least 1s, got %s", ex.Lease)
	}
	seen := make(map[string]int, len(ex.Tables))
	for i, t := range ex.Tables {
		field := fmt.Sprintf("%stables[%d]", path, i)
		if _, ok := tables.Lookup(t); !ok {
			probs.add(field, "unknown table %q (known: %s)", t, strings.Join(tables.Names(), ", "))
			continue
		}
		if first, dup := seen[t]; dup {
			probs.add(field, "duplicate of tables[%d] %q", first, t)
			continue
		}
		seen[t] = i
	}
	if msg := queryGroupProblem(ex.QueryGroup); msg != "" {
		probs.add(path+"queryGroup", "%s", msg)
	}
	validateVerify(probs, &ex.Verify, ex.Lag)
}

func validateVerify(probs *problems, v *Verify, lag time.Duration) {
	const path = "jsonData.export.verify."
	if v.Horizon <= lag || v.Horizon > MaxVerifyHorizon {
		probs.add(path+"horizon", "must be longer than the lag (%s) and at most %s (STL keeps 2 to 7 days), got %s", lag, MaxVerifyHorizon, v.Horizon)
	}
	if v.Interval < time.Minute {
		probs.add(path+"interval", "must be at least 1m, got %s", v.Interval)
	}
}

// queryGroupProblem checks a value for SET query_group TO '<value>', which takes no parameter:
// the exporter must be able to write it as a literal without any escaping.
func queryGroupProblem(g string) string {
	switch {
	case g == "":
		return "must not be empty"
	case len(g) > maxQueryGroup:
		return fmt.Sprintf("must be at most %d characters, got %d", maxQueryGroup, len(g))
	case strings.ContainsAny(g, `'"\`):
		return fmt.Sprintf("must not contain quotes or backslashes, got %q", g)
	case strings.IndexFunc(g, unicode.IsControl) >= 0:
		return fmt.Sprintf("must not contain control characters, got %q", g)
	case strings.TrimSpace(g) != g:
		// label is character(320): Redshift drops trailing blanks, so the filter would not match.
		return fmt.Sprintf("must not start or end with blanks, got %q", g)
	}
	return ""
}

func validateQuery(probs *problems, cfg *Config) {
	q := &cfg.Query
	if !slices.Contains(Engines, q.Engine) {
		probs.add("jsonData.query.engine", "must be one of %s, got %q", strings.Join(Engines, ", "), q.Engine)
	}
	if q.CacheSizeMB < 1 {
		probs.add("jsonData.query.cacheSizeMB", "must be at least 1, got %d", q.CacheSizeMB)
	}
	if q.Engine == "athena" {
		if q.Athena == nil {
			q.Athena = DefaultAthena()
		}
		if cfg.Archive.S3 == nil {
			probs.add("jsonData.archive.s3", "required with query.engine athena: Athena reads the archive from S3")
		}
	}
	if a := q.Athena; a != nil {
		const path = "jsonData.query.athena."
		if strings.TrimSpace(a.Workgroup) == "" {
			probs.add(path+"workgroup", "must not be empty")
		}
		if a.OutputLocation != "" && !strings.HasPrefix(a.OutputLocation, "s3://") {
			probs.add(path+"outputLocation", "must be an s3:// URL, got %q", a.OutputLocation)
		}
		if strings.TrimSpace(a.Catalog) == "" {
			probs.add(path+"catalog", "must not be empty")
		}
		if !glueNameRe.MatchString(a.Database) {
			probs.add(path+"database", "must be 1 to 255 lower-case letters, digits or '_', got %q", a.Database)
		}
		if _, err := time.Parse(time.DateOnly, a.FirstDay); err != nil {
			probs.add(path+"firstDay", "must be a day as YYYY-MM-DD, got %q", a.FirstDay)
		}
		// Athena reuses results up to 7 days old.
		if a.Timeout < time.Second || a.Timeout > time.Hour {
			probs.add(path+"timeout", "must be between 1s and 1h, got %s", a.Timeout)
		}
		if a.ResultReuse < 0 || a.ResultReuse > 7*24*time.Hour {
			probs.add(path+"resultReuse", "must be between 0 and 168h, got %s", a.ResultReuse)
		}
	}
	if q.Timeout <= 0 {
		probs.add("jsonData.query.timeout", "must be positive, got %s", q.Timeout)
	}
	if q.MaxRows < 1 {
		probs.add("jsonData.query.maxRows", "must be at least 1, got %d", q.MaxRows)
	}
	if q.MemoryLimitMB < 64 {
		probs.add("jsonData.query.memoryLimitMB", "must be at least 64, got %d", q.MemoryLimitMB)
	}
	if q.Workers < 1 || q.Workers > 64 {
		probs.add("jsonData.query.workers", "must be between 1 and 64, got %d", q.Workers)
	}
}

// validateClusters returns the set of valid cluster names, for custom queries to refer to.
func validateClusters(probs *problems, cfg *Config) map[string]bool {
	if cfg.Export.Enabled && len(cfg.Clusters) == 0 && cfg.SSM == nil {
		probs.add("jsonData.clusters", "at least one cluster is required when export is enabled (or ssm, to read them from Parameter Store)")
	}
	names := make(map[string]bool, len(cfg.Clusters))
	firstAt := make(map[string]int, len(cfg.Clusters))
	for i, c := range cfg.Clusters {
		path := fmt.Sprintf("jsonData.clusters[%d].", i)
		switch {
		case c.Name == "":
			probs.add(path+"name", "required")
		case !clusterNameRe.MatchString(c.Name):
			probs.add(path+"name", "must be 1 to 63 lower-case letters, digits, '-' or '_', starting with a letter or digit, got %q", c.Name)
		default:
			if first, dup := firstAt[c.Name]; dup {
				probs.add(path+"name", "duplicate of clusters[%d] %q", first, c.Name)
			} else {
				firstAt[c.Name] = i
				names[c.Name] = true
			}
		}
		if msg := hostProblem(c.Host); msg != "" {
			probs.add(path+"host", "%s", msg)
		}
		if c.Port < 1 || c.Port > 65535 {
			probs.add(path+"port", "must be between 1 and 65535, got %d", c.Port)
		}
		if strings.TrimSpace(c.Database) == "" {
			probs.add(path+"database", "required")
		}
		if !slices.Contains(ClusterAuths, c.Auth) {
			probs.add(path+"auth", "must be one of %s, got %q", strings.Join(ClusterAuths, ", "), c.Auth)
		}
		if strings.TrimSpace(c.User) == "" && c.Auth != AuthIAMIdentity {
			probs.add(path+"user", "required")
		}
		if c.Auth != AuthIAM && (len(c.DBGroups) > 0 || c.AutoCreate) {
			probs.add(path+"auth", "dbGroups and autoCreate need auth %q, got %q", AuthIAM, c.Auth)
		}
		if !slices.Contains(sslModes, c.SSLMode) {
			probs.add(path+"sslMode", "must be one of %s, got %q", strings.Join(sslModes, ", "), c.SSLMode)
		}
		if c.Region != "" && !regionRe.MatchString(c.Region) {
			probs.add(path+"region", "must be an AWS region such as us-west-2, got %q", c.Region)
		}
		if c.SSLRootCert != "" && c.SSLMode != "verify-full" && c.SSLMode != "verify-ca" {
			probs.add(path+"sslRootCert", "is used only with sslMode verify-full or verify-ca, got sslMode %q", c.SSLMode)
		}
	}
	return names
}

// hostProblem accepts a DNS name or an IP address; the port has its own field.
func hostProblem(h string) string {
	switch {
	case h == "":
		return "required"
	case strings.Contains(h, "://"):
		return fmt.Sprintf("must be a host name without a scheme, got %q", h)
	case strings.Contains(h, "/"):
		return fmt.Sprintf("must be a host name without a path, got %q", h)
	case strings.IndexFunc(h, unicode.IsSpace) >= 0:
		return fmt.Sprintf("must not contain spaces, got %q", h)
	case strings.Contains(h, ":") && net.ParseIP(h) == nil:
		return fmt.Sprintf("must be a host name without a port (use port), got %q", h)
	}
	return ""
}

func validateCustomQueries(probs *problems, cqs []CustomQuery, clusters map[string]bool) {
	firstAt := make(map[string]int, len(cqs))
	for i, cq := range cqs {
		path := fmt.Sprintf("jsonData.customQueries[%d].", i)
		switch _, stl := tables.Lookup(cq.Name); {
		case cq.Name == "":
			probs.add(path+"name", "required")
		case !tables.ValidName(cq.Name):
			probs.add(path+"name", "must be lower-case letters, digits and '_', starting with a letter or '_', got %q", cq.Name)
		case stl:
			probs.add(path+"name", "%q is an STL table; choose another name", cq.Name)
		default:
			if first, dup := firstAt[cq.Name]; dup {
				probs.add(path+"name", "duplicate of customQueries[%d] %q", first, cq.Name)
			} else {
				firstAt[cq.Name] = i
			}
		}
		if msg := statementProblem(cq.SQL); msg != "" {
			probs.add(path+"sql", "%s", msg)
		}
		switch {
		case cq.TimeColumn == "":
			probs.add(path+"timeColumn", "required")
		case !tables.ValidName(cq.TimeColumn):
			probs.add(path+"timeColumn", "%s", columnProblem(cq.TimeColumn))
		}
		seenKey := make(map[string]bool, len(cq.KeyColumns))
		for j, k := range cq.KeyColumns {
			field := fmt.Sprintf("%skeyColumns[%d]", path, j)
			switch {
			case !tables.ValidName(k):
				probs.add(field, "%s", columnProblem(k))
			case seenKey[k]:
				probs.add(field, "duplicate %q", k)
			}
			seenKey[k] = true
		}
		seenCluster := make(map[string]bool, len(cq.Clusters))
		for j, c := range cq.Clusters {
			field := fmt.Sprintf("%sclusters[%d]", path, j)
			switch {
			case !clusters[c]:
				probs.add(field, "no cluster named %q in jsonData.clusters", c)
			case seenCluster[c]:
				probs.add(field, "duplicate %q", c)
			}
			seenCluster[c] = true
		}
	}
}

// columnProblem explains the rule for result column names: the exporter quotes them, and
// Redshift returns unquoted column names in lower case, so only a lower-case name can match.
func columnProblem(c string) string {
	return fmt.Sprintf("must be a lower-case column name of the result (letters, digits, '_'), got %q", c)
}

// presetIDRe keeps preset ids usable in URLs, query models and alert rules as they are.
var presetIDRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// validatePresets checks the operator's presets. Whether an id collides with a built-in preset is
// for the query side to say: the configuration does not know the built-in ones.
func validatePresets(probs *problems, presets []Preset) {
	firstAt := make(map[string]int, len(presets))
	for i, p := range presets {
		path := fmt.Sprintf("jsonData.presets[%d].", i)
		switch {
		case p.ID == "":
			probs.add(path+"id", "required")
		case !presetIDRe.MatchString(p.ID):
			probs.add(path+"id", "must be lower-case letters, digits and '_', starting with a letter, got %q", p.ID)
		default:
			if first, dup := firstAt[p.ID]; dup {
				probs.add(path+"id", "duplicate of presets[%d] %q", first, p.ID)
			} else {
				firstAt[p.ID] = i
			}
		}
		if !slices.Contains(PresetFormats, p.Format) {
			probs.add(path+"format", "must be one of %s, got %q", strings.Join(PresetFormats, ", "), p.Format)
		}
		if strings.TrimSpace(p.SQL["duckdb"]) == "" && strings.TrimSpace(p.SQL["athena"]) == "" {
			probs.add(path+"sql", "needs the SQL of at least one dialect (%s)", strings.Join(PresetDialects, ", "))
		}
		seen := make(map[string]bool, len(p.Columns))
		for j, c := range p.Columns {
			field := fmt.Sprintf("%scolumns[%d]", path, j)
			switch {
			case c.Name == "":
				probs.add(field+".name", "required")
			case seen[c.Name]:
				probs.add(field+".name", "duplicate %q", c.Name)
			}
			seen[c.Name] = true
			if !slices.Contains(PresetRoles, c.Role) {
				probs.add(field+".role", "must be one of %s, got %q", strings.Join(PresetRoles, ", "), c.Role)
			}
		}
	}
}
