// Package ssmconfig reads the clusters to export from SSM Parameter Store, under the parameter
// names of AWS's 2018 "retain STL data across clusters" solution, so an existing deployment of it
// can be pointed at this product unchanged:
//
//	<prefix>.global.s3_prefix             String      s3://bucket/prefix/ of the archive
//	<prefix>.global.enabled_cluster_list  StringList  cluster identifiers, comma-separated
//	<prefix>.<cluster>.user               String      not needed with auth iam-identity
//	<prefix>.<cluster>.password           SecureString  not needed with auth iam or iam-identity
//	<prefix>.<cluster>.endpoint           String      host:port[/database], optional
//
// A cluster without an endpoint parameter is looked up with redshift:DescribeClusters. The 2018
// parameters this product has no use for (.connection, .global.tempdir, .global.role) are left
// unread.
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

var (
	_ SSMAPI      = (*ssm.Client)(nil)
	_ RedshiftAPI = (*redshift.Client)(nil)
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
// It makes 1 + ⌈3·clusters/10⌉ GetParameters calls, plus one paginated DescribeClusters listing
// when some cluster has no endpoint parameter. rs may be nil when every cluster has one.
func Load(ctx context.Context, api SSMAPI, rs RedshiftAPI, opts Options) (Settings, error) {
	prefix := opts.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	s3Name := prefix + ".global.s3_prefix"
	listName := prefix + ".global.enabled_cluster_list"
	global, err := getParameters(ctx, api, []string{s3Name, listName})
	if err != nil {
		return Settings{}, err
	}
	var st Settings
	for _, name := range []string{s3Name, listName} {
		if _, ok := global[name]; !ok {
			return Settings{}, fmt.Errorf("ssmconfig: parameter %s is missing", name)
		}
	}
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
	values, err := getParameters(ctx, api, names)
	if err != nil {
		return Settings{}, err
	}

	d := defaults(opts.Defaults)
	var lookup []int // indexes into st.Clusters of clusters without an endpoint parameter
	for _, id := range ids {
		c, needsLookup, err := cluster(prefix, id, values, d)
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
		st.Clusters = describeEndpoints(ctx, apis, prefix, st.Clusters, lookup, d, st.Problems)
	}
	return st, nil
}

// clusterNameRe is the rule of config.Cluster.Name: usable unquoted as a Hive partition value.
var clusterNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

type params struct{ user, password, endpoint string }

func clusterParams(prefix, id string) params {
	p := prefix + "." + id + "."
	return params{user: p + "user", password: p + "password", endpoint: p + "endpoint"}
}

func (p params) all() []string { return []string{p.user, p.password, p.endpoint} }

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
func cluster(prefix, id string, values map[string]types.Parameter, d config.Cluster) (c config.Cluster, needsLookup bool, err error) {
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
// cluster found in several regions takes the first.
func describeEndpoints(ctx context.Context, apis []regionAPI, prefix string, clusters []config.Cluster, lookup []int, d config.Cluster, problems map[string]error) []config.Cluster {
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
// do not exist are absent from the result.
func getParameters(ctx context.Context, api SSMAPI, names []string) (map[string]types.Parameter, error) {
	got := make(map[string]types.Parameter, len(names))
	for batch := range slices.Chunk(names, maxNamesPerCall) {
		out, err := api.GetParameters(ctx, &ssm.GetParametersInput{Names: batch, WithDecryption: aws.Bool(true)})
		if err != nil {
			return nil, fmt.Errorf("ssmconfig: ssm:GetParameters of %s: %w", strings.Join(batch, ", "), err)
		}
		for _, p := range out.Parameters {
			got[aws.ToString(p.Name)] = p
		}
	}
	return got, nil
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
