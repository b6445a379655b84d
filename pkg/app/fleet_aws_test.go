package app_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stlarchive/redshift-stl-archive/pkg/app"
	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/awsfake"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/simtest"
)

const ssmPrefix = "redshift_query_logs"

// putSSMCluster stores a cluster's parameters as the 2018 solution does; an empty value leaves
// the parameter out.
func putSSMCluster(f *awsfake.SSM, id, user, password, endpoint string) {
	p := ssmPrefix + "." + id + "."
	if user != "" {
		f.Put(p+"user", awsfake.String, user)
	}
	if password != "" {
		f.Put(p+"password", awsfake.SecureString, password)
	}
	if endpoint != "" {
		f.Put(p+"endpoint", awsfake.String, endpoint)
	}
}

func endpointOf(c *simtest.Cluster) string {
	return c.Cfg.Host + ":" + strconv.Itoa(c.Cfg.Port) + "/" + c.Cfg.Database
}

// TestFleetFromSSMExportsTheGoodClustersAndLeavesTheMisconfiguredOneAlone reads four clusters
// from Parameter Store: alpha with an endpoint parameter, beta found by DescribeClusters, gamma
// without its password, and omicron, which the datasource also names with other settings. One
// cycle archives alpha, beta and omicron (S3 on versitygw, state on dynalite) equal to their
// sources; gamma is a problem naming its missing parameter and nothing of it is written.
func TestFleetFromSSMExportsTheGoodClustersAndLeavesTheMisconfiguredOneAlone(t *testing.T) {
	ctx := context.Background()
	d := newS3Deployment(t)
	alpha := simtest.New(t, "alpha", 0.5)
	beta := simtest.New(t, "beta", 0.5)
	omicron := simtest.New(t, "omicron", 0.5)
	var last time.Time
	for _, c := range []*simtest.Cluster{alpha, beta, omicron} {
		last = c.History(t, 20*time.Minute)
	}

	ssmFake := awsfake.NewSSM(t)
	rsFake := awsfake.NewRedshift(t)
	// The 2018 archive location is not used: archive.s3 is set.
	ssmFake.Put(ssmPrefix+".global.s3_prefix", awsfake.String, "s3://legacy-stl-bucket/stl/")
	ssmFake.Put(ssmPrefix+".global.enabled_cluster_list", awsfake.StringList, "alpha,beta,gamma,omicron")
	pw := func(c *simtest.Cluster) string { return c.Cfg.Password.Reveal() }
	putSSMCluster(ssmFake, "alpha", alpha.Cfg.User, pw(alpha), endpointOf(alpha))
	putSSMCluster(ssmFake, "beta", beta.Cfg.User, pw(beta), "")
	rsFake.AddCluster(awsfake.RedshiftCluster{Identifier: "beta", Address: beta.Cfg.Host, Port: beta.Cfg.Port, DBName: beta.Cfg.Database})
	putSSMCluster(ssmFake, "gamma", alpha.Cfg.User, "", endpointOf(alpha))
	// SSM points omicron at alpha's database: were SSM to win, omicron's archive would hold
	// alpha's rows. (The simulator seeds a workload from the name's length and last letter, so
	// the two clusters' activity differs.)
	putSSMCluster(ssmFake, "omicron", alpha.Cfg.User, pw(alpha), endpointOf(alpha))

	secure := awsKeys()
	secure[config.PasswordKey("omicron")] = pw(omicron)
	cfg := settings(t, map[string]any{
		"archive":  d.archiveJSON(t.TempDir(), d.s3.Endpoint),
		"state":    d.stateJSON(),
		"aws":      awsJSON(map[string]string{"ssm": ssmFake.URL, "redshift": rsFake.URL}),
		"ssm":      map[string]any{"sslMode": "disable"},
		"export":   map[string]any{"lag": simtest.Lag.String(), "queryGroup": simtest.QueryGroup},
		"clusters": []any{clusterJSON(omicron)},
	}, secure)

	exp, fleet, err := app.OpenExporter(ctx, cfg, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		exp.Close()
		exp.Store().Close()
	})

	if names := fleet.ProblemNames(); !slices.Equal(names, []string{"gamma"}) {
		t.Fatalf("problems %v, want only gamma: %v", names, fleet.Problems)
	}
	if msg := fleet.Problems["gamma"].Error(); !strings.Contains(msg, ssmPrefix+".gamma.password") {
		t.Errorf("gamma's problem %q does not name the missing parameter %s.gamma.password", msg, ssmPrefix)
	}
	if got := exp.Clusters(); !slices.Equal(got, []string{"omicron", "alpha", "beta"}) {
		t.Errorf("exporter clusters %v, want the datasource's omicron, then alpha and beta from SSM", got)
	}
	if c, _ := fleet.Config.Cluster("omicron"); c.Database != omicron.Cfg.Database || c.Port != omicron.Cfg.Port {
		t.Errorf("omicron resolved to database %s port %d, want the datasource's %s port %d", c.Database, c.Port, omicron.Cfg.Database, omicron.Cfg.Port)
	}
	if c, _ := fleet.Config.Cluster("beta"); c.Host != beta.Cfg.Host || c.Database != beta.Cfg.Database {
		t.Errorf("beta resolved to %s/%s, want DescribeClusters' %s/%s", c.Host, c.Database, beta.Cfg.Host, beta.Cfg.Database)
	}
	if fleet.Config.Archive.S3.Bucket != d.bucket {
		t.Errorf("archive bucket %s, want the datasource's %s", fleet.Config.Archive.S3.Bucket, d.bucket)
	}

	for _, c := range []*simtest.Cluster{alpha, beta, omicron} {
		simtest.WaitPastLag(t, c, last)
	}
	for _, r := range exp.Cycle(ctx) {
		if err := r.Failed(); err != nil {
			t.Fatalf("cycle of %s: %v", r.Cluster, err)
		}
		if r.Rows() == 0 {
			t.Errorf("cycle of %s archived no rows", r.Cluster)
		}
	}

	root := d.download(t)
	for _, c := range []*simtest.Cluster{alpha, beta, omicron} {
		simtest.AssertArchiveEqualsSource(t, root, exp.Store(), c)
	}
	for _, k := range d.keys(t) {
		if strings.Contains(k, "cluster=gamma/") {
			t.Errorf("object %s written for gamma, which has no password", k)
		}
	}
	all, err := exp.Store().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range all {
		if p.Cluster == "gamma" {
			t.Errorf("state of gamma/%s written: %+v", p.Table, p)
		}
	}
	if len(all) != 3*len(cfg.Export.Tables) {
		t.Errorf("state holds %d (cluster, table) entries, want %d", len(all), 3*len(cfg.Export.Tables))
	}
}

// TestIAMClusterExportsWithCredentialsFetchedOnceWhileTheyAreValid exports a datasource cluster
// with auth iam: the exporter logs in with the password the Redshift API issues (the fake makes
// it the user's password on PostgreSQL, as Redshift does) and asks for it once for several
// connects within its validity.
func TestIAMClusterExportsWithCredentialsFetchedOnceWhileTheyAreValid(t *testing.T) {
	ctx := context.Background()
	c := simtest.New(t, "iam-east", 0.5)
	last := c.History(t, 20*time.Minute)
	dbUser := fmt.Sprintf("exporter_%d_%d", os.Getpid(), time.Now().UnixNano())
	role := "IAM:" + dbUser

	rsFake := awsfake.NewRedshift(t)
	rsFake.AddCluster(awsfake.RedshiftCluster{Identifier: "iam-east-prod", Address: c.Cfg.Host, Port: c.Cfg.Port, DBName: c.Cfg.Database})
	rsFake.OnCredentials = func(ic awsfake.IssuedCredentials) error { return loginRole(ctx, c.Conn, ic) }
	t.Cleanup(func() {
		// Roles belong to the whole server, which other tests share.
		ident := pgx.Identifier{role}.Sanitize()
		_, _ = c.Conn.Exec(context.Background(), "DROP OWNED BY "+ident)
		_, _ = c.Conn.Exec(context.Background(), "DROP ROLE IF EXISTS "+ident)
	})

	root := t.TempDir()
	cluster := clusterJSON(c)
	cluster["auth"] = config.AuthIAM
	cluster["user"] = dbUser
	cluster["clusterIdentifier"] = "iam-east-prod"
	cfg := settings(t, map[string]any{
		"archive":  map[string]any{"path": root},
		"aws":      awsJSON(map[string]string{"redshift": rsFake.URL}),
		"export":   map[string]any{"lag": simtest.Lag.String(), "queryGroup": simtest.QueryGroup},
		"clusters": []any{cluster},
	}, awsKeys()) // no password.iam-east: IAM needs none

	exp, _, err := app.OpenExporter(ctx, cfg, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		exp.Close()
		exp.Store().Close()
	})
	simtest.WaitPastLag(t, c, last)

	// Three connects: the first cycle's, the health check's own, and the second cycle's after
	// the kept connection is closed.
	cycle := func() {
		t.Helper()
		for _, r := range exp.Cycle(ctx) {
			if err := r.Failed(); err != nil {
				t.Fatalf("cycle: %v", err)
			}
		}
	}
	cycle()
	first := sessionOf(t, c.Conn, role)
	exp.Close()
	if h := exp.CheckCluster(ctx, c.Cfg.Name); !h.Reachable || h.Visibility == nil || h.Visibility.User != role {
		t.Errorf("health check %+v, want reachable as %s", h, role)
	}
	cycle()
	if second := sessionOf(t, c.Conn, role); second == first {
		t.Errorf("the second cycle used session %d again: it did not connect anew", second)
	}

	var calls int
	for _, r := range rsFake.Requests() {
		if r.Action == "GetClusterCredentials" {
			calls++
		}
	}
	if calls != 1 {
		t.Errorf("%d GetClusterCredentials calls for three connects within the validity, want 1", calls)
	}
	issued := rsFake.Issued()
	if len(issued) != 1 || issued[0].Cluster != "iam-east-prod" || issued[0].DBUser != role || issued[0].DBName != c.Cfg.Database {
		t.Errorf("issued %+v, want credentials of %s on cluster iam-east-prod for database %s", issued, role, c.Cfg.Database)
	}
	simtest.AssertArchiveEqualsSource(t, root, exp.Store(), c)
}

// loginRole does on PostgreSQL what GetClusterCredentials does on Redshift: the user logs in with
// the issued password. It may read the STL tables, as a user with SYSLOG ACCESS may.
func loginRole(ctx context.Context, admin *pgx.Conn, ic awsfake.IssuedCredentials) error {
	ident := pgx.Identifier{ic.DBUser}.Sanitize()
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)", ic.DBUser).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		if _, err := admin.Exec(ctx, "CREATE ROLE "+ident+" LOGIN"); err != nil {
			return err
		}
	}
	// ALTER ROLE takes no parameters; the fake's passwords are letters and digits.
	if _, err := admin.Exec(ctx, "ALTER ROLE "+ident+" PASSWORD '"+ic.Password+"'"); err != nil {
		return err
	}
	_, err := admin.Exec(ctx, "GRANT SELECT ON ALL TABLES IN SCHEMA public TO "+ident)
	return err
}

// sessionOf returns the backend pid of the one session the role has open. A closed
// connection's backend leaves pg_stat_activity a little after the client has gone, so sessions
// closed just before are waited out.
func sessionOf(t *testing.T, admin *pgx.Conn, role string) int {
	t.Helper()
	var pids []int
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		rows, err := admin.Query(context.Background(), "SELECT pid FROM pg_stat_activity WHERE usename = $1 AND datname = current_database()", role)
		if err != nil {
			t.Fatal(err)
		}
		if pids, err = pgx.CollectRows(rows, pgx.RowTo[int]); err != nil {
			t.Fatal(err)
		}
		if len(pids) == 1 {
			return pids[0]
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s has sessions %v, want the exporter's one", role, pids)
	return 0
}

// TestAClusterTheDatasourceNamesIsNoSSMProblem names gamma both in the datasource and in a
// Parameter Store entry that lacks its password: the datasource's settings stand, so gamma is
// configured, and neither health nor the Glue cluster list may report it as a broken SSM entry.
func TestAClusterTheDatasourceNamesIsNoSSMProblem(t *testing.T) {
	ssmFake := awsfake.NewSSM(t)
	ssmFake.Put(ssmPrefix+".global.s3_prefix", awsfake.String, "s3://legacy-stl-bucket/stl/")
	ssmFake.Put(ssmPrefix+".global.enabled_cluster_list", awsfake.StringList, "alpha,gamma,omega")
	putSSMCluster(ssmFake, "alpha", "exporter", "alpha-secret", "alpha.example.internal:5439/dev")
	putSSMCluster(ssmFake, "gamma", "exporter", "", "gamma.example.internal:5439/dev")
	putSSMCluster(ssmFake, "omega", "exporter", "", "omega.example.internal:5439/dev")

	secure := awsKeys()
	secure[config.PasswordKey("gamma")] = "gamma-secret"
	cfg := settings(t, map[string]any{
		"archive": map[string]any{"path": t.TempDir()},
		"aws":     awsJSON(map[string]string{"ssm": ssmFake.URL}),
		"ssm":     map[string]any{},
		"clusters": []any{map[string]any{"name": "gamma", "host": "gamma.datasource.internal", "user": "grafana",
			"database": "prod"}},
	}, secure)

	fleet, err := app.ResolveFleet(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if names := fleet.ProblemNames(); !slices.Equal(names, []string{"omega"}) {
		t.Errorf("problems %v, want only omega, which no datasource entry stands in for", names)
	}
	var names []string
	for _, c := range fleet.Config.Clusters {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{"gamma", "alpha"}) {
		t.Errorf("clusters %v, want the datasource's gamma and SSM's alpha", names)
	}
	if c, _ := fleet.Config.Cluster("gamma"); c.Host != "gamma.datasource.internal" || c.Password.Reveal() != "gamma-secret" {
		t.Errorf("gamma resolved to host %s, want the datasource's gamma.datasource.internal with its password", c.Host)
	}
}
