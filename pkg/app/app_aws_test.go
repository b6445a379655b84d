package app_test

import (
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/awstest"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/simtest"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// archivePrefix is the key prefix of the archive in the test buckets.
const archivePrefix = "stl/"

// settings builds the configuration from jsonData and secureJsonData as Grafana hands them to
// the plugin, so that every test goes through the same decoding and validation as a deployment.
func settings(t *testing.T, jsonData map[string]any, secure map[string]string) config.Config {
	t.Helper()
	raw, err := json.Marshal(jsonData)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.FromSettings(raw, secure)
	if err != nil {
		t.Fatalf("settings refused: %v\njsonData: %s", err, raw)
	}
	return cfg
}

// awsKeys are the secureJsonData AWS keys of the local S3 server's root user; the fakes and
// dynalite check only that requests are signed.
func awsKeys() map[string]string {
	return map[string]string{config.AccessKeyKey: awstest.AccessKey, config.SecretKeyKey: awstest.SecretKey}
}

// awsJSON is the aws block of jsonData: static keys, and the given services' endpoints.
func awsJSON(endpoints map[string]string) map[string]any {
	return map[string]any{"authType": "keys", "region": awstest.Region, "endpoints": endpoints}
}

// s3Deployment is an archive bucket on versitygw and a state table on dynalite.
type s3Deployment struct {
	s3     *awstest.S3Server
	dyn    *awstest.DynamoDBServer
	bucket string
	table  string
}

func newS3Deployment(t *testing.T) *s3Deployment {
	t.Helper()
	s := awstest.StartS3(t)
	d := awstest.StartDynamoDB(t)
	return &s3Deployment{s3: s, dyn: d, bucket: s.Bucket(t), table: awstest.Table("stlarchive_app")}
}

// archiveJSON is the archive block of jsonData: the bucket, reached at s3Endpoint, and the local
// folder path.
func (d *s3Deployment) archiveJSON(path, s3Endpoint string) map[string]any {
	return map[string]any{"path": path, "s3": map[string]any{
		"bucket": d.bucket, "prefix": archivePrefix, "endpoint": s3Endpoint, "pathStyle": true}}
}

func (d *s3Deployment) stateJSON() map[string]any {
	return map[string]any{"dynamodb": map[string]any{"table": d.table, "endpoint": d.dyn.Endpoint, "create": true}}
}

// keys lists the object keys of the bucket.
func (d *s3Deployment) keys(t *testing.T) []string {
	t.Helper()
	return d.s3.Keys(t, d.bucket)
}

// download copies the archive out of the bucket into a new folder with the archive layout.
func (d *s3Deployment) download(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	d.s3.DownloadArchive(t, d.bucket, archivePrefix, root)
	return root
}

// objectReads stands between a client and an S3 server and counts the GetObject requests that
// reach it: downloads, as opposed to listings.
type objectReads struct {
	endpoint string
	n        atomic.Int64 // archive objects
	layouts  atomic.Int64 // layout records
}

func countObjectReads(t *testing.T, endpoint string) *objectReads {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	r := &objectReads{}
	proxy := &httputil.ReverseProxy{
		// The Host header passes unchanged: the request is signed for the proxy's address.
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
		},
		ErrorLog: log.New(io.Discard, "", 0),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		// Path-style: /<bucket>/<key> reads an object, /<bucket>?list-type=2 lists.
		_, key, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/"), "/")
		switch {
		case req.Method != http.MethodGet || key == "":
		case strings.HasSuffix(key, "/"+tables.LayoutName):
			// A layout record (compaction's): read before each table is listed.
			r.layouts.Add(1)
		default:
			r.n.Add(1)
		}
		proxy.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.endpoint = srv.URL
	return r
}

// clusterJSON is a datasource cluster entry for a simulated cluster (no TLS on the local server).
func clusterJSON(c *simtest.Cluster) map[string]any {
	return map[string]any{"name": c.Cfg.Name, "host": c.Cfg.Host, "port": c.Cfg.Port,
		"database": c.Cfg.Database, "user": c.Cfg.User, "sslMode": "disable"}
}
