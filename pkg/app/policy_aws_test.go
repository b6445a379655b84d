package app_test

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stlarchive/redshift-stl-archive/pkg/app"
	"github.com/stlarchive/redshift-stl-archive/pkg/awsx/iampolicy"
	"github.com/stlarchive/redshift-stl-archive/pkg/catalog"
	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/storage"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/awsfake"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/simtest"
	"github.com/stlarchive/redshift-stl-archive/pkg/query"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// calls records the AWS calls of every client a configuration makes.
type calls struct {
	mu  sync.Mutex
	ops map[string]bool
}

func (c *calls) observe(service, operation string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops[service+"."+operation] = true
}

func (c *calls) sorted() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for op := range c.ops {
		out = append(out, op)
	}
	slices.Sort(out)
	return out
}

// TestIAMPolicyCoversEveryAWSCallTheCodeMakes runs the AWS paths of the product against the local
// servers and fakes, recording the service and operation of every call: clusters from SSM (one
// found by DescribeClusters, one through its 2018 Glue connection) with IAM logins, one cluster
// with iam-identity, an export cycle to S3 and DynamoDB with the health check's writability test
// and the status, the embedded engine over the S3 archive, and Athena with its health check and
// the Glue catalog. Every call must need a permission of pkg/awsx/iampolicy, from which the
// documented policy is generated.
func TestIAMPolicyCoversEveryAWSCallTheCodeMakes(t *testing.T) {
	ctx := context.Background()
	rec := &calls{ops: map[string]bool{}}
	d := newS3Deployment(t)
	c := simtest.New(t, "policy", 0.5)
	last := c.History(t, 20*time.Minute)

	rsFake := awsfake.NewRedshift(t)
	rsFake.IAMIdentity = "stl-policy-test"
	var roles []string
	var rolesMu sync.Mutex
	rsFake.OnCredentials = func(ic awsfake.IssuedCredentials) error {
		rolesMu.Lock()
		roles = append(roles, ic.DBUser)
		rolesMu.Unlock()
		return loginRole(ctx, c.Conn, ic)
	}
	t.Cleanup(func() {
		for _, r := range roles {
			ident := pgx.Identifier{r}.Sanitize()
			_, _ = c.Conn.Exec(context.Background(), "DROP OWNED BY "+ident)
			_, _ = c.Conn.Exec(context.Background(), "DROP ROLE IF EXISTS "+ident)
		}
	})
	for _, id := range []string{"pol-listed", "pol-glue", "pol-identity"} {
		addr := c.Cfg.Host
		if id == "pol-glue" {
			addr = "" // not yet available in DescribeClusters: the Glue connection has the endpoint
		}
		rsFake.AddCluster(awsfake.RedshiftCluster{Identifier: id, Address: addr, Port: c.Cfg.Port, DBName: c.Cfg.Database, Status: map[bool]string{true: "creating"}[addr == ""]})
	}
	ssmFake := awsfake.NewSSM(t)
	ssmFake.Put(ssmPrefix+".global.s3_prefix", awsfake.String, "s3://legacy-stl-bucket/stl/")
	ssmFake.Put(ssmPrefix+".global.enabled_cluster_list", awsfake.StringList, "pol-listed,pol-glue")
	user := "policy_" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "_")
	// One user per cluster: both clusters are the same PostgreSQL here, where a second issue of
	// credentials for the same user would replace the first one's password mid-cycle.
	putSSMCluster(ssmFake, "pol-listed", user+"_l", "", "")
	putSSMCluster(ssmFake, "pol-glue", user+"_g", "", "")
	ssmFake.Put(ssmPrefix+".pol-glue.connection", awsfake.String, "stl-pol-glue")
	glueFake := awsfake.NewGlue(t)
	glueFake.AddConnection("stl-pol-glue", map[string]string{"JDBC_CONNECTION_URL": "jdbc:redshift://" + endpointOf(c)})

	identity := clusterJSON(c)
	identity["name"], identity["auth"], identity["user"] = "pol-identity", config.AuthIAMIdentity, ""
	archive := d.archiveJSON(t.TempDir(), d.s3.Endpoint)
	cfg := settings(t, map[string]any{
		"archive":  archive,
		"state":    d.stateJSON(),
		"aws":      awsJSON(map[string]string{"ssm": ssmFake.URL, "redshift": rsFake.URL, "glue": glueFake.URL}),
		"ssm":      map[string]any{"auth": config.AuthIAM, "sslMode": "disable"},
		"export":   map[string]any{"lag": simtest.Lag.String(), "queryGroup": simtest.QueryGroup},
		"clusters": []any{identity},
	}, awsKeys())
	cfg.AWS.Observe = rec.observe

	exp, fleet, err := app.OpenExporter(ctx, cfg, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		exp.Close()
		exp.Store().Close()
	})
	if len(fleet.Problems) != 0 {
		t.Fatalf("fleet problems: %v", fleet.Problems)
	}
	simtest.WaitPastLag(t, c, last)
	for _, r := range exp.Cycle(ctx) {
		if err := r.Failed(); err != nil {
			t.Fatalf("cycle of %s: %v", r.Cluster, err)
		}
	}
	if err := exp.Archive().CheckWritable(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := export.Status(ctx, exp.Store(), time.Now()); err != nil {
		t.Fatal(err)
	}

	// The embedded engine over the S3 archive.
	q, err := app.OpenQueries(ctx, fleet.Config, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	if _, err := q.Service.Run(ctx, query.Request{Model: query.Model{RefID: "A", QueryType: query.TypeSQL,
		RawSQL: "SELECT count(*) AS n FROM stl_query WHERE $__dayFilter()"}, From: last.Add(-time.Hour), To: last}); err != nil {
		t.Fatal(err)
	}

	// Athena, its health check and the Glue catalog.
	athenaFake := awsfake.NewAthena(t)
	acfg := settings(t, athenaJSON(t, athenaFake.URL, glueFake.URL), awsKeys())
	acfg.AWS.Observe = rec.observe
	aq, err := app.OpenQueries(ctx, acfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := aq.Check(ctx); err != nil {
		t.Fatal(err)
	}
	athenaFake.On("SELECT 1", awsfake.AthenaScript{Columns: []awsfake.AthenaColumn{{Name: "n", Type: "integer"}}})
	if _, err := aq.Service.Run(ctx, query.Request{Model: query.Model{RefID: "A", QueryType: query.TypeSQL, RawSQL: "SELECT 1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := app.EnsureCatalog(ctx, acfg, []string{"pol-listed"}); err != nil {
		t.Fatal(err)
	}
	// With compaction on, the same tables switch to registered partitions of the S3 archive's
	// days (docs/compaction.md).
	rjson := athenaJSON(t, athenaFake.URL, glueFake.URL)
	rjson["archive"] = archive
	delete(rjson, "compaction")
	rcfg := settings(t, rjson, awsKeys())
	rcfg.AWS.Observe = rec.observe
	rep, err := app.EnsureCatalog(ctx, rcfg, []string{"pol-identity"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Names(catalog.Updated)) == 0 || len(glueFake.Partitions("stl_history", "stl_query")) == 0 {
		t.Errorf("the switch to registered partitions updated %v and registered %v", rep.Names(catalog.Updated), glueFake.Partitions("stl_history", "stl_query"))
	}

	// Compaction and retention on the S3 archive with Athena's registered partitions: a day long
	// past (copies of an exported object) is published, compacted, retired, and its objects
	// deleted once their grace has passed.
	var exported string
	for _, k := range d.keys(t) {
		if strings.Contains(k, "stl_query/cluster=pol-identity/day=") && strings.HasSuffix(k, ".parquet") {
			exported = strings.TrimPrefix(k, archivePrefix)
			break
		}
	}
	if exported == "" {
		t.Fatalf("no stl_query object of pol-identity in %v", d.keys(t))
	}
	// Two windows in each of two days: one past the retention (retired), one inside it
	// (compacted, its partition moved to the compacted generation).
	inside := time.Now().UTC().AddDate(0, 0, -10)
	for _, day := range []time.Time{time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), inside} {
		for h := range 2 {
			lo, hi := day.Truncate(24*time.Hour).Add(time.Duration(h)*time.Hour), day.Truncate(24*time.Hour).Add(time.Duration(h+1)*time.Hour)
			key := fmt.Sprintf("stl_query/cluster=pol-identity/day=%s/%s_%s.parquet", lo.Format(tables.DayFormat),
				lo.Format("20060102T150405.000000"), hi.Format("20060102T150405.000000"))
			copyObject(ctx, t, exp.Archive(), exported, key)
		}
	}
	mjson := athenaJSON(t, athenaFake.URL, glueFake.URL)
	mjson["archive"], mjson["state"], mjson["clusters"] = archive, d.stateJSON(), []any{identity}
	mjson["aws"] = awsJSON(map[string]string{"athena": athenaFake.URL, "glue": glueFake.URL, "redshift": rsFake.URL})
	mjson["query"].(map[string]any)["timeout"] = "1s"
	mjson["query"].(map[string]any)["athena"].(map[string]any)["timeout"] = "1s"
	mjson["compaction"] = map[string]any{"grace": "2s"}
	mjson["retention"] = map[string]any{"stl_query": "30d"}
	mcfg := settings(t, mjson, awsKeys())
	mcfg.AWS.Observe = rec.observe
	deadline := time.Now().Add(time.Minute)
	for {
		ms, err := app.Maintain(ctx, mcfg, app.MaintainOptions{Compact: true, Retain: true, Clusters: []string{"pol-identity"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 1 || ms[0].Error != "" || ms[0].Skipped != "" {
			t.Fatalf("maintenance: %+v", ms)
		}
		if !slices.ContainsFunc(d.keys(t), func(k string) bool { return strings.Contains(k, "/day=2020-01-01/") }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the retired day's objects are still there: %v", d.keys(t))
		}
		time.Sleep(500 * time.Millisecond)
	}
	parts := glueFake.Partitions("stl_history", "stl_query")
	if _, ok := parts["pol-identity/2020-01-01"]; ok {
		t.Error("the retired day still has a partition")
	}
	if loc := parts["pol-identity/"+inside.Format(tables.DayFormat)]; !strings.Contains(loc, "/compacted/") {
		t.Errorf("the compacted day's partition is at %q", loc)
	}

	got := rec.sorted()
	t.Logf("AWS calls made: %v", got)
	for _, op := range got {
		if !iampolicy.Covers(op) {
			t.Errorf("the code calls %s, which no permission of pkg/awsx/iampolicy lists", op)
		}
	}
	// The run must have reached every service, or the check above proves little.
	for _, op := range []string{"SSM.GetParameters", "Redshift.DescribeClusters", "Redshift.GetClusterCredentials",
		"Redshift.GetClusterCredentialsWithIAM", "Glue.GetConnection", "S3.HeadBucket", "S3.PutObject", "S3.CreateMultipartUpload",
		"S3.ListObjectsV2", "S3.GetObject", "DynamoDB.PutItem", "DynamoDB.Scan", "Athena.StartQueryExecution",
		"Athena.GetWorkGroup", "Glue.CreateTable", "Glue.GetPartitions", "Glue.BatchCreatePartition", "Glue.UpdatePartition",
		"Glue.BatchDeletePartition", "S3.DeleteObject"} {
		if !slices.Contains(got, op) {
			t.Errorf("the run made no %s call", op)
		}
	}
}

// copyObject copies one archive object to another key.
func copyObject(ctx context.Context, t *testing.T, a storage.Archive, from, to string) {
	t.Helper()
	objs, ok := a.(storage.Objects)
	if !ok {
		t.Fatalf("%s cannot be read", a)
	}
	r, err := objs.Open(ctx, from)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w, err := a.Create(ctx, to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, r); err != nil {
		_ = w.Abort()
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}
