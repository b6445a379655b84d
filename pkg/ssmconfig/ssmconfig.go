// Package ssmconfig reads the clusters to export from SSM Parameter Store, under the parameter
// names of AWS's 2018 "retain STL data across clusters" solution, so an existing deployment of it
// can be pointed at this product unchanged:
//
//	<prefix>.global.s3_prefix             String      s3://bucket/prefix/ of the archive
//	<prefix>.global.enabled_cluster_list  StringList  cluster identifiers, comma-separated
//	<prefix>.<cluster>.user               String      not needed with auth iam-identity
//	<prefix>.<cluster>.password           SecureString  not needed with auth iam or iam-identity
//	<prefix>.<cluster>.endpoint           String      host:port[/database], optional
//	<prefix>.<cluster>.connection         String      a Glue connection's name, optional
//
// A cluster's endpoint is its endpoint parameter; else what redshift:DescribeClusters lists;
// else the JDBC_CONNECTION_URL of the Glue connection its connection parameter names
// (glue:GetConnection), where the 2018 solution keeps it. The 2018 parameters this product has no use for
// (.global.tempdir, .global.role) are left unread.
//
// GetParameters fails as a whole when one of its names may not be read or its SecureString not
// be decrypted; such a batch is read again name by name, so the error lands on the cluster
// whose parameter it is.
//
// The package owns reading and checking those parameters. It does not connect to clusters, and it
// never puts a password in an error or a log line.
package ssmconfig

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/redshift"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/stlarchive/redshift-stl-archive/pkg/config"
)

// DefaultPrefix is the first label of the 2018 solution's parameter names.
const DefaultPrefix = "redshift_query_logs"

// Defaults of the cluster fields that neither SSM nor DescribeClusters supply.
const (
	DefaultPort     = 5439
	DefaultDatabase = "dev"
	DefaultSSLMode  = "verify-full"
)

// maxNamesPerCall is GetParameters' limit: more names per call are a ValidationException.
const maxNamesPerCall = 10

// SSMAPI is the part of the SSM API that Load calls.
type SSMAPI interface {
	GetParameters(ctx context.Context, in *ssm.GetParametersInput, opts ...func(*ssm.Options)) (*ssm.GetParametersOutput, error)
}

// RedshiftAPI is the part of the Redshift API that Load calls.
type RedshiftAPI interface {
	DescribeClusters(ctx context.Context, in *redshift.DescribeClustersInput, opts ...func(*redshift.Options)) (*redshift.DescribeClustersOutput, error)
}

// GlueAPI is the part of the Glue API that Load calls.
type GlueAPI interface {
	GetConnection(ctx context.Context, in *glue.GetConnectionInput, opts ...func(*glue.Options)) (*glue.GetConnectionOutput, error)
}

var (
	_ SSMAPI      = (*ssm.Client)(nil)
	_ RedshiftAPI = (*redshift.Client)(nil)
	_ GlueAPI     = (*glue.Client)(nil)
)

// Options say where the parameters are and what the clusters get when nothing says otherwise.
type Options struct {
	// Prefix of the parameter names; default DefaultPrefix.
	Prefix string
	// Defaults is the starting point of every cluster: the parameters set Name, Host, User and
	// Password, and Port and Database when the endpoint says them; the other fields (SSLMode, a
	// private CA, Auth, …) are taken as they are. With Auth "iam" the password parameter is
	// not needed (nor read into the cluster); with "iam-identity" neither is the user. A zero Port, Database or SSLMode takes DefaultPort,
	// DefaultDatabase or DefaultSSLMode.
	Defaults config.Cluster
	// OtherRegions are the Redshift APIs of more regions, by region name. A cluster without an
	// endpoint parameter that the rs of Load does not list is looked for in them, in the order
	// of the region names, and gets the Region it is found in: a region's API lists only its
	// own clusters.
	OtherRegions map[string]RedshiftAPI
	// Glue reads the connections that connection parameters name; nil makes such a cluster
	// (without an endpoint parameter) a problem.
	Glue GlueAPI
}

// Settings are what the parameters configure.
type Settings struct {
	// S3Bucket and S3Prefix come from <prefix>.global.s3_prefix. S3Prefix is empty or ends in "/".
	S3Bucket string
	S3Prefix string
	// Clusters are the enabled clusters that are fully configured, in the list's order. Name is
	// the identifier in lower case; Password holds the decrypted SecureString.
	Clusters []config.Cluster
	// Problems holds, by cluster name (or by the list entry as written when it is no valid
	// name), why an enabled cluster is not in Clusters. One misconfigured cluster fails alone.
	Problems map[string]error
}

// Load reads the settings. It fails as a whole only when the global parameters cannot be read
// or are invalid; a cluster's own problems go to Settings.Problems.
//
// It makes 1 + ⌈4·clusters/10⌉ GetParameters calls (plus one per name of a batch that fails),
// one GetConnection per cluster whose endpoint comes from a Glue connection, and one paginated
// DescribeClusters listing per region when some cluster has neither. rs may be nil when every
// cluster has an endpoint.
func Load(ctx context.Context, api SSMAPI, rs RedshiftAPI, opts Options) (Settings, error) {
	prefix := opts.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	s3Name := prefix + ".global.s3_prefix"
	listName := prefix + ".global.enabled_cluster_list"
	// Without the globals nothing can be done: their batch is not read again name by name.
	global := map[string]types.Parameter{}
	if err := readBatch(ctx, api, []string{s3Name, listName}, global); err != nil {
		return Settings{}, err
	}
	var st Settings
	for _, name := range []string{s3Name, listName} {
		if _, ok := global[name]; !ok {
			return Settings{}, fmt.Errorf("ssmconfig: parameter %s is missing", name)
		}
	}
	var err error
	if st.S3Bucket, st.S3Prefix, err = parseS3Prefix(aws.ToString(global[s3Name].Value)); err != nil {
		return Settings{}, fmt.Errorf("ssmconfig: parameter %s: %w", s3Name, err)
	}

	st.Problems = map[string]error{}
	var ids []string // identifiers as written: the per-cluster parameter names use them
	seen := map[string]bool{}
	for _, entry := range strings.Split(aws.ToString(global[listName].Value), ",") {
		id := strings.TrimSpace(entry)
		name := strings.ToLower(id)
		switch {
		case id == "" || seen[name]:
			continue
		case !clusterNameRe.MatchString(name):
			st.Problems[id] = fmt.Errorf("ssmconfig: parameter %s: %q is not a valid cluster name (1 to 63 letters, digits, '-' or '_', starting with a letter or digit)", listName, id)
			continue
		}
		seen[name] = true
		ids = append(ids, id)
	}
	if len(ids) == 0 && len(st.Problems) == 0 {
		return Settings{}, fmt.Errorf("ssmconfig: parameter %s lists no cluster", listName)
	}

	var names []string
	for _, id := range ids {
		names = append(names, clusterParams(prefix, id).all()...)
	}
	values, failed := getParameters(ctx, api, names)

	d := defaults(opts.Defaults)
	var lookup []int // indexes into st.Clusters of clusters without an endpoint parameter
	for _, id := range ids {
		c, needsLookup, err := cluster(prefix, id, values, failed, d)
		if err != nil {
			st.Problems[c.Name] = err
			continue
		}
		if needsLookup {
			lookup = append(lookup, len(st.Clusters))
		}
		st.Clusters = append(st.Clusters, c)
	}
	if len(lookup) > 0 {
		apis := []regionAPI{{api: rs}}
		for _, region := range slices.Sorted(maps.Keys(opts.OtherRegions)) {
			apis = append(apis, regionAPI{region: region, api: opts.OtherRegions[region]})
		}
		fallback := func(c *config.Cluster) (bool, error) {
			param := clusterParams(prefix, c.Name).connection
			conn, ok := values[param]
			if !ok {
				return false, nil
			}
			return true, connectionEndpoint(ctx, opts.Glue, param, strings.TrimSpace(aws.ToString(conn.Value)), c)
		}
		st.Clusters = describeEndpoints(ctx, apis, prefix, st.Clusters, lookup, d, fallback, st.Problems)
	}
	return st, nil
}

// clusterNameRe is the rule of config.Cluster.Name: usable unquoted as a Hive partition value.
var clusterNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

type params struct{ user, password, endpoint, connection string }

func clusterParams(prefix, id string) params {
	p := prefix + "." + id + "."
	return params{user: p + "user", password: p + "password", endpoint: p + "endpoint", connection: p + "connection"}
}

func (p params) all() []string { return []string{p.user, p.password, p.endpoint, p.connection} }

func defaults(d config.Cluster) config.Cluster {
	if d.Port == 0 {
		d.Port = DefaultPort
	}
	if d.Database == "" {
		d.Database = DefaultDatabase
	}
	if d.SSLMode == "" {
		d.SSLMode = DefaultSSLMode
	}
	return d
}

// cluster builds one cluster from its parameters. needsLookup says it has no endpoint parameter.
func cluster(prefix, id string, values map[string]types.Parameter, failed map[string]error, d config.Cluster) (c config.Cluster, needsLookup bool, err error) {
	p := clusterParams(prefix, id)
	c = d
	c.Name, c.Host, c.User, c.Password = strings.ToLower(id), "", "", ""
	// The identifier in the list is the cluster's, whatever the defaults say.
	c.ClusterID = ""
	c.DBGroups = slices.Clone(d.DBGroups)
	// IAM logins need no stored password; the AWS identity's login needs no user either.
	required := []string{p.user, p.password}
	switch d.Auth {
	case config.AuthIAM:
		required = required[:1]
	case config.AuthIAMIdentity:
		required = nil
	}
	var unreadable []error
	for _, name := range p.all() {
		if e := failed[name]; e != nil && (name != p.password || slices.Contains(required, name)) {
			unreadable = append(unreadable, e)
		}
	}
	if len(unreadable) > 0 {
		return c, false, fmt.Errorf("ssmconfig: cluster %s: %w", c.Name, errors.Join(unreadable...))
	}
	var missing []string
	for _, name := range required {
		if _, ok := values[name]; !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return c, false, fmt.Errorf("ssmconfig: cluster %s: parameter %s missing", c.Name, plural(missing))
	}
	c.User = strings.TrimSpace(aws.ToString(values[p.user].Value))
	if slices.Contains(required, p.password) {
		c.Password = config.Secret(aws.ToString(values[p.password].Value))
	}
	ep, ok := values[p.endpoint]
	if !ok {
		return c, true, nil
	}
	if c.Host, c.Port, c.Database, err = parseEndpoint(aws.ToString(ep.Value), c.Port, c.Database); err != nil {
		return c, false, fmt.Errorf("ssmconfig: cluster %s: parameter %s: %w", c.Name, p.endpoint, err)
	}
	return c, false, nil
}

func plural(names []string) string {
	if len(names) == 1 {
		return names[0] + " is"
	}
	return strings.Join(names, " and ") + " are"
}

// regionAPI is the Redshift API of one region; region "" is the default one.
type regionAPI struct {
	region string
	api    RedshiftAPI
}

// describeEndpoints fills in the endpoints of the clusters at the lookup indexes from one
// DescribeClusters listing per region, and moves the clusters it cannot find to problems. A
// cluster found in several regions takes the first. A cluster DescribeClusters gives no endpoint
// for is given to fallback (the Glue connection of the 2018 solution), which says whether it
// applied and, if so, its error.
func describeEndpoints(ctx context.Context, apis []regionAPI, prefix string, clusters []config.Cluster, lookup []int, d config.Cluster,
	fallback func(*config.Cluster) (bool, error), problems map[string]error) []config.Cluster {
	found := map[string]described{}
	var listErrs []error
	for _, ra := range apis {
		if ra.api == nil {
			listErrs = append(listErrs, errors.New("no Redshift API client to call redshift:DescribeClusters"))
			continue
		}
		got, err := describeClusters(ctx, ra.api)
		if err != nil {
			if ra.region != "" {
				err = fmt.Errorf("in %s: %w", ra.region, err)
			}
			listErrs = append(listErrs, err)
			continue
		}
		for id, dc := range got {
			if _, ok := found[id]; !ok {
				dc.region = ra.region
				found[id] = dc
			}
		}
	}
	listErr := errors.Join(listErrs...)
	searched := "redshift:DescribeClusters does not list"
	if len(apis) > 1 {
		regions := make([]string, 0, len(apis))
		for _, ra := range apis {
			regions = append(regions, cmp.Or(ra.region, "the default region"))
		}
		searched = "redshift:DescribeClusters in " + strings.Join(regions, ", ") + " does not list"
	}
	drop := map[int]bool{}
	for _, i := range lookup {
		c := &clusters[i]
		ep := clusterParams(prefix, c.Name).endpoint
		dc, ok := found[c.Name]
		switch {
		case !ok && listErr != nil:
			problems[c.Name] = fmt.Errorf("ssmconfig: cluster %s: no endpoint: parameter %s is missing and %w", c.Name, ep, listErr)
		case !ok:
			problems[c.Name] = fmt.Errorf("ssmconfig: cluster %s: no endpoint: parameter %s is missing and %s cluster %s", c.Name, ep, searched, c.Name)
		case dc.host == "":
			problems[c.Name] = fmt.Errorf("ssmconfig: cluster %s: no endpoint: parameter %s is missing and redshift:DescribeClusters lists cluster %s without an endpoint (status %s)", c.Name, ep, c.Name, dc.status)
		default:
			c.Host, c.Port = dc.host, dc.port
			if c.Port == 0 {
				c.Port = d.Port
			}
			if dc.database != "" {
				c.Database = dc.database
			}
			if dc.region != "" {
				c.Region = dc.region
			}
			continue
		}
		if applied, err := fallback(c); applied {
			if err == nil {
				delete(problems, c.Name)
				continue
			}
			problems[c.Name] = errors.Join(problems[c.Name], err)
		}
		drop[i] = true
	}
	kept := clusters[:0]
	for i, c := range clusters {
		if !drop[i] {
			kept = append(kept, c)
		}
	}
	return kept
}

type described struct {
	host, database, status, region string
	port                           int
}

// describeClusters lists every cluster the caller may see, following Marker across pages.
func describeClusters(ctx context.Context, rs RedshiftAPI) (map[string]described, error) {
	found := map[string]described{}
	in := &redshift.DescribeClustersInput{MaxRecords: aws.Int32(100)}
	for {
		out, err := rs.DescribeClusters(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("redshift:DescribeClusters failed: %w", err)
		}
		for _, c := range out.Clusters {
			d := described{database: aws.ToString(c.DBName), status: aws.ToString(c.ClusterStatus)}
			if c.Endpoint != nil {
				d.host = aws.ToString(c.Endpoint.Address)
				d.port = int(aws.ToInt32(c.Endpoint.Port))
			}
			found[strings.ToLower(aws.ToString(c.ClusterIdentifier))] = d
		}
		if aws.ToString(out.Marker) == "" {
			return found, nil
		}
		in.Marker = out.Marker
	}
}

// getParameters reads names in batches of the API's limit, decrypting SecureStrings. Names that
// do not exist are absent from the result. A batch that fails is read again name by name, since
// one unreadable name (AccessDenied, a KMS key that refuses to decrypt) fails the whole call:
// failed holds the error of each name that could not be read.
func getParameters(ctx context.Context, api SSMAPI, names []string) (got map[string]types.Parameter, failed map[string]error) {
	got = make(map[string]types.Parameter, len(names))
	failed = map[string]error{}
	read := func(batch []string) error { return readBatch(ctx, api, batch, got) }
	for batch := range slices.Chunk(names, maxNamesPerCall) {
		err := read(batch)
		if err == nil {
			continue
		}
		if len(batch) == 1 || ctx.Err() != nil {
			for _, n := range batch {
				failed[n] = err
			}
			continue
		}
		for _, n := range batch {
			if err := read([]string{n}); err != nil {
				failed[n] = err
			}
		}
	}
	return got, failed
}

// readBatch reads up to maxNamesPerCall names into got.
func readBatch(ctx context.Context, api SSMAPI, batch []string, got map[string]types.Parameter) error {
	out, err := api.GetParameters(ctx, &ssm.GetParametersInput{Names: batch, WithDecryption: aws.Bool(true)})
	if err != nil {
		return fmt.Errorf("ssmconfig: ssm:GetParameters of %s: %w", strings.Join(batch, ", "), err)
	}
	for _, p := range out.Parameters {
		got[aws.ToString(p.Name)] = p
	}
	return nil
}

// connectionEndpoint sets the cluster's endpoint from the JDBC URL of the Glue connection that
// parameter param names.
func connectionEndpoint(ctx context.Context, g GlueAPI, param, name string, c *config.Cluster) error {
	prob := func(format string, args ...any) error {
		return fmt.Errorf("ssmconfig: cluster %s: no endpoint: parameter %s names Glue connection %q, but "+format,
			append([]any{c.Name, param, name}, args...)...)
	}
	if g == nil {
		return prob("there is no Glue client to call glue:GetConnection")
	}
	if name == "" {
		return fmt.Errorf("ssmconfig: cluster %s: parameter %s is empty", c.Name, param)
	}
	out, err := g.GetConnection(ctx, &glue.GetConnectionInput{Name: aws.String(name), HidePassword: true})
	if err != nil {
		return prob("glue:GetConnection failed: %w", err)
	}
	var props map[string]string
	if out.Connection != nil {
		props = out.Connection.ConnectionProperties
	}
	jdbc := props["JDBC_CONNECTION_URL"]
	if jdbc == "" {
		return prob("it has no JDBC_CONNECTION_URL")
	}
	host, port, database, err := parseJDBC(jdbc, c.Port, c.Database)
	if err != nil {
		return prob("its JDBC_CONNECTION_URL: %w", err)
	}
	c.Host, c.Port, c.Database = host, port, database
	return nil
}

// parseJDBC reads jdbc:redshift://host[:port][/database][?options] (also jdbc:postgresql:).
func parseJDBC(v string, port int, database string) (string, int, string, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(v), "jdbc:")
	u, err := url.Parse(rest)
	if !ok || err != nil || (u.Scheme != "redshift" && u.Scheme != "postgresql") || u.Host == "" {
		return "", 0, "", fmt.Errorf("want jdbc:redshift://host:port/database, got %q", v)
	}
	ep := u.Host
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		ep += "/" + db
	}
	return parseEndpoint(ep, port, database)
}

// parseS3Prefix splits s3://bucket/some/prefix/ into the bucket and a prefix that is empty or
// ends in "/".
func parseS3Prefix(v string) (bucket, prefix string, err error) {
	u, err := url.Parse(strings.TrimSpace(v))
	if err != nil || u.Scheme != "s3" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", "", fmt.Errorf("want s3://bucket/prefix/, got %q", v)
	}
	if !bucketRe.MatchString(u.Host) {
		return "", "", fmt.Errorf("%q is not a valid S3 bucket name", u.Host)
	}
	prefix = strings.TrimPrefix(u.Path, "/")
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return u.Host, prefix, nil
}

var bucketRe = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// parseEndpoint reads host[:port][/database]; the port and database default to the given ones.
func parseEndpoint(v string, port int, database string) (string, int, string, error) {
	v = strings.TrimSpace(v)
	hostPort, db, hasDB := strings.Cut(v, "/")
	if hasDB {
		if db == "" || strings.ContainsAny(db, "/?# ") {
			return "", 0, "", fmt.Errorf("want host:port[/database], got %q", v)
		}
		database = db
	}
	host := hostPort
	if h, p, err := net.SplitHostPort(hostPort); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return "", 0, "", fmt.Errorf("want host:port[/database] with a port from 1 to 65535, got %q", v)
		}
		host, port = h, n
	}
	if h, ok := strings.CutPrefix(host, "["); ok && strings.HasSuffix(h, "]") {
		host = strings.TrimSuffix(h, "]") // an IPv6 address without a port
	}
	bad := host == "" || strings.ContainsAny(host, "@[] ") || strings.Contains(v, "://")
	if bad || (strings.Contains(host, ":") && net.ParseIP(host) == nil) {
		return "", 0, "", fmt.Errorf("want host:port[/database], got %q", v)
	}
	return host, port, database, nil
}
