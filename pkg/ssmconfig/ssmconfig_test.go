package ssmconfig_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/awsfake"
	"github.com/stlarchive/redshift-stl-archive/pkg/ssmconfig"
)

const p = ssmconfig.DefaultPrefix

// fixture is a 2018 deployment: the global parameters plus, per cluster, user and password.
type fixture struct {
	ssm *awsfake.SSM
	rs  *awsfake.Redshift
}

func newFixture(t *testing.T, clusters ...string) fixture {
	f := fixture{ssm: awsfake.NewSSM(t), rs: awsfake.NewRedshift(t)}
	f.ssm.Put(p+".global.s3_prefix", awsfake.String, "s3://stl-logs/extract_rs_logs/data/")
	f.ssm.Put(p+".global.enabled_cluster_list", awsfake.StringList, strings.Join(clusters, ","))
	// The 2018 solution's parameters this product does not need.
	f.ssm.Put(p+".global.tempdir", awsfake.String, "s3://stl-logs/extract_rs_logs/temp/")
	f.ssm.Put(p+".global.role", awsfake.String, "rs-stl-export")
	for _, c := range clusters {
		f.ssm.Put(p+"."+c+".user", awsfake.String, "exporter")
		f.ssm.Put(p+"."+c+".password", awsfake.SecureString, "pw-"+c)
		f.ssm.Put(p+"."+c+".connection", awsfake.String, "glue-"+c)
	}
	return f
}

func (f fixture) load(t *testing.T, opts ssmconfig.Options) ssmconfig.Settings {
	t.Helper()
	st, err := ssmconfig.Load(context.Background(), f.ssm.Client(), f.rs.Client(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestLoadReadsThe2018Parameters(t *testing.T) {
	f := newFixture(t, "product-warehouse", "category_management")
	f.ssm.Put(p+".product-warehouse.endpoint", awsfake.String, "pw.abc123.us-east-1.redshift.amazonaws.com:5440/analytics")
	f.rs.AddCluster(awsfake.RedshiftCluster{Identifier: "category_management", Address: "cm.abc123.us-east-1.redshift.amazonaws.com", Port: 5439, DBName: "prod"})

	st := f.load(t, ssmconfig.Options{Defaults: config.Cluster{SSLMode: "verify-ca"}})

	if st.S3Bucket != "stl-logs" || st.S3Prefix != "extract_rs_logs/data/" {
		t.Errorf("s3 = %q %q", st.S3Bucket, st.S3Prefix)
	}
	if len(st.Problems) != 0 {
		t.Errorf("problems = %v", st.Problems)
	}
	want := []config.Cluster{
		{Name: "product-warehouse", Host: "pw.abc123.us-east-1.redshift.amazonaws.com", Port: 5440, Database: "analytics", User: "exporter", Password: "pw-product-warehouse", SSLMode: "verify-ca"},
		{Name: "category_management", Host: "cm.abc123.us-east-1.redshift.amazonaws.com", Port: 5439, Database: "prod", User: "exporter", Password: "pw-category_management", SSLMode: "verify-ca"},
	}
	if !slices.Equal(reveal(st.Clusters), reveal(want)) {
		t.Errorf("clusters =\n%#v\nwant\n%#v", reveal(st.Clusters), reveal(want))
	}
	for _, r := range f.ssm.Requests() {
		if !r.WithDecryption {
			t.Errorf("%s of %v without decryption", r.Action, r.Names)
		}
		for _, n := range r.Names {
			if strings.HasSuffix(n, ".tempdir") || strings.HasSuffix(n, ".role") {
				t.Errorf("read unused parameter %s", n)
			}
		}
	}
}

func TestLoadBatchesGetParametersAndPaginatesDescribeClusters(t *testing.T) {
	var ids []string
	for i := range 25 {
		ids = append(ids, fmt.Sprintf("c%02d", i))
	}
	f := newFixture(t, ids...)
	f.rs.PageSize = 10
	for i := range 30 { // five more clusters than enabled: they are listed, not configured
		f.rs.AddCluster(awsfake.RedshiftCluster{Identifier: fmt.Sprintf("c%02d", i), Address: fmt.Sprintf("c%02d.example.com", i), Port: 5439, DBName: "dev"})
	}

	st := f.load(t, ssmconfig.Options{})

	if len(st.Clusters) != 25 || len(st.Problems) != 0 {
		t.Fatalf("%d clusters, problems %v; want 25 and none", len(st.Clusters), st.Problems)
	}
	for i, c := range st.Clusters {
		if c.Name != ids[i] || c.Host != ids[i]+".example.com" || c.Password.Reveal() != "pw-"+ids[i] || c.SSLMode != "verify-full" {
			t.Errorf("cluster %d = %#v", i, reveal([]config.Cluster{c}))
		}
	}
	reqs := f.ssm.Requests()
	// One call for the globals, then 25 clusters × 4 names in calls of at most 10.
	if len(reqs) != 1+10 {
		t.Errorf("%d GetParameters calls, want 11", len(reqs))
	}
	asked := map[string]int{}
	for _, r := range reqs {
		if r.Action != "GetParameters" || len(r.Names) > 10 {
			t.Errorf("request %s with %d names", r.Action, len(r.Names))
		}
		for _, n := range r.Names {
			asked[n]++
		}
	}
	for _, id := range ids {
		for _, suffix := range []string{"user", "password", "endpoint"} {
			if n := asked[p+"."+id+"."+suffix]; n != 1 {
				t.Errorf("%s.%s asked %d times, want once", id, suffix, n)
			}
		}
	}
	if n := len(f.rs.Requests()); n != 3 {
		t.Errorf("%d DescribeClusters calls for 30 clusters in pages of 10, want 3", n)
	}
}

func TestLoadNeedsNoDescribeClustersWhenEveryEndpointIsGiven(t *testing.T) {
	f := newFixture(t, "a", "b")
	f.ssm.Put(p+".a.endpoint", awsfake.String, "a.example.com:5439")
	f.ssm.Put(p+".b.endpoint", awsfake.String, "b.example.com")
	st, err := ssmconfig.Load(context.Background(), f.ssm.Client(), nil, ssmconfig.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Clusters) != 2 || st.Clusters[1].Port != 5439 || st.Clusters[1].Database != "dev" {
		t.Errorf("clusters = %#v", reveal(st.Clusters))
	}
}

func TestLoadUsesPrefixAndLowerCasesIdentifiers(t *testing.T) {
	s := awsfake.NewSSM(t)
	s.Put("ops.global.s3_prefix", awsfake.String, "s3://bucket")
	s.Put("ops.global.enabled_cluster_list", awsfake.StringList, " Prod-A , prod-a,,")
	s.Put("ops.Prod-A.user", awsfake.String, "u")
	s.Put("ops.Prod-A.password", awsfake.SecureString, "pw")
	s.Put("ops.Prod-A.endpoint", awsfake.String, "[fd00::1]:5439/db")
	st, err := ssmconfig.Load(context.Background(), s.Client(), nil, ssmconfig.Options{Prefix: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	want := []config.Cluster{{Name: "prod-a", Host: "fd00::1", Port: 5439, Database: "db", User: "u", Password: "pw", SSLMode: "verify-full"}}
	if st.S3Bucket != "bucket" || st.S3Prefix != "" || !slices.Equal(reveal(st.Clusters), reveal(want)) || len(st.Problems) != 0 {
		t.Errorf("settings = %q %q %#v %v", st.S3Bucket, st.S3Prefix, reveal(st.Clusters), st.Problems)
	}
}

func TestOneMisconfiguredClusterFailsAlone(t *testing.T) {
	f := newFixture(t, "good", "nouser", "nopassword", "badendpoint", "unlisted", "creating", "bad.name")
	f.ssm.Delete(p + ".nouser.user")
	f.ssm.Delete(p + ".nopassword.password")
	f.ssm.Put(p+".badendpoint.endpoint", awsfake.String, "postgres://h:5439/db")
	f.rs.AddCluster(awsfake.RedshiftCluster{Identifier: "good", Address: "good.example.com", Port: 5439})
	f.rs.AddCluster(awsfake.RedshiftCluster{Identifier: "creating", Status: "creating"})

	st := f.load(t, ssmconfig.Options{})

	if len(st.Clusters) != 1 || st.Clusters[0].Name != "good" {
		t.Errorf("clusters = %#v, want good alone", reveal(st.Clusters))
	}
	want := map[string][]string{
		"nouser":      {"cluster nouser", p + ".nouser.user is missing"},
		"nopassword":  {"cluster nopassword", p + ".nopassword.password is missing"},
		"badendpoint": {"cluster badendpoint", "parameter " + p + ".badendpoint.endpoint", "host:port[/database]"},
		"unlisted":    {"parameter " + p + ".unlisted.endpoint is missing", "redshift:DescribeClusters does not list cluster unlisted"},
		"creating":    {"parameter " + p + ".creating.endpoint is missing", "without an endpoint (status creating)"},
		"bad.name":    {"parameter " + p + ".global.enabled_cluster_list", `"bad.name" is not a valid cluster name`},
	}
	if got := slices.Sorted(maps.Keys(st.Problems)); !slices.Equal(got, slices.Sorted(maps.Keys(want))) {
		t.Fatalf("problems for %v, want %v", got, slices.Sorted(maps.Keys(want)))
	}
	for name, parts := range want {
		for _, part := range parts {
			if msg := st.Problems[name].Error(); !strings.Contains(msg, part) {
				t.Errorf("%s: %q lacks %q", name, msg, part)
			}
		}
	}
}

func TestDescribeClustersDeniedFailsOnlyClustersWithoutEndpoint(t *testing.T) {
	f := newFixture(t, "given", "looked-up")
	f.ssm.Put(p+".given.endpoint", awsfake.String, "given.example.com:5439/dev")
	f.rs.Deny("DescribeClusters")

	st := f.load(t, ssmconfig.Options{})

	if len(st.Clusters) != 1 || st.Clusters[0].Name != "given" {
		t.Errorf("clusters = %#v, want given alone", reveal(st.Clusters))
	}
	err := st.Problems["looked-up"]
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "AccessDenied" {
		t.Fatalf("problem = %v, want the AccessDenied", err)
	}
	for _, part := range []string{p + ".looked-up.endpoint is missing", "redshift:DescribeClusters failed"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("%q lacks %q", err, part)
		}
	}
}

func TestGlobalParameterErrorsNameTheParameter(t *testing.T) {
	cases := []struct {
		name  string
		setup func(s *awsfake.SSM)
		want  []string
	}{
		{"s3 prefix missing", func(s *awsfake.SSM) { s.Delete(p + ".global.s3_prefix") }, []string{p + ".global.s3_prefix is missing"}},
		{"cluster list missing", func(s *awsfake.SSM) { s.Delete(p + ".global.enabled_cluster_list") }, []string{p + ".global.enabled_cluster_list is missing"}},
		{"s3 prefix not s3", func(s *awsfake.SSM) { s.Put(p+".global.s3_prefix", awsfake.String, "https://stl-logs/data/") },
			[]string{"parameter " + p + ".global.s3_prefix", "want s3://bucket/prefix/"}},
		{"s3 prefix without bucket", func(s *awsfake.SSM) { s.Put(p+".global.s3_prefix", awsfake.String, "s3:///data/") },
			[]string{"parameter " + p + ".global.s3_prefix"}},
		{"s3 bucket invalid", func(s *awsfake.SSM) { s.Put(p+".global.s3_prefix", awsfake.String, "s3://Bad_Bucket/data/") },
			[]string{"parameter " + p + ".global.s3_prefix", `"Bad_Bucket" is not a valid S3 bucket name`}},
		{"empty cluster list", func(s *awsfake.SSM) { s.Put(p+".global.enabled_cluster_list", awsfake.StringList, " , ") },
			[]string{p + ".global.enabled_cluster_list lists no cluster"}},
		{"access denied", func(s *awsfake.SSM) {
			s.Fail("GetParameters", "AccessDeniedException", "not authorized to perform: ssm:GetParameters")
		},
			[]string{"ssm:GetParameters of " + p + ".global.s3_prefix, " + p + ".global.enabled_cluster_list", "AccessDeniedException"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "c1")
			tc.setup(f.ssm)
			_, err := ssmconfig.Load(context.Background(), f.ssm.Client(), f.rs.Client(), ssmconfig.Options{})
			if err == nil {
				t.Fatal("no error")
			}
			for _, part := range tc.want {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("%q lacks %q", err, part)
				}
			}
		})
	}
}

func TestEndpointParameterForms(t *testing.T) {
	cases := []struct {
		value       string
		host        string
		port        int
		database    string
		wantProblem bool
	}{
		{value: "h.example.com:5440/analytics", host: "h.example.com", port: 5440, database: "analytics"},
		{value: "h.example.com:5440", host: "h.example.com", port: 5440, database: "dev"},
		{value: "h.example.com", host: "h.example.com", port: 5439, database: "dev"},
		{value: " 10.0.0.7:5439/dev ", host: "10.0.0.7", port: 5439, database: "dev"},
		{value: "[fd00::1]", host: "fd00::1", port: 5439, database: "dev"},
		{value: ":5439", wantProblem: true},
		{value: "h:0", wantProblem: true},
		{value: "h:99999", wantProblem: true},
		{value: "h:port", wantProblem: true},
		{value: "h:5439/", wantProblem: true},
		{value: "h:5439/a/b", wantProblem: true},
		{value: "user@h:5439", wantProblem: true},
		{value: "postgres://h:5439/db", wantProblem: true},
	}
	for _, tc := range cases {
		t.Run(tc.value, func(t *testing.T) {
			f := newFixture(t, "c1")
			f.ssm.Put(p+".c1.endpoint", awsfake.String, tc.value)
			st := f.load(t, ssmconfig.Options{})
			if tc.wantProblem {
				if err := st.Problems["c1"]; err == nil || !strings.Contains(err.Error(), p+".c1.endpoint") {
					t.Errorf("problem = %v, want one naming the endpoint parameter", err)
				}
				return
			}
			if len(st.Clusters) != 1 {
				t.Fatalf("problems = %v", st.Problems)
			}
			c := st.Clusters[0]
			if c.Host != tc.host || c.Port != tc.port || c.Database != tc.database {
				t.Errorf("endpoint = %s:%d/%s, want %s:%d/%s", c.Host, c.Port, c.Database, tc.host, tc.port, tc.database)
			}
		})
	}
}

func TestPasswordsStayOutOfErrorsAndPrints(t *testing.T) {
	f := newFixture(t, "good", "nouser", "badendpoint", "unlisted")
	f.ssm.Delete(p + ".nouser.user")
	f.ssm.Put(p+".badendpoint.endpoint", awsfake.String, "h:port")
	f.ssm.Put(p+".good.endpoint", awsfake.String, "good.example.com")

	st := f.load(t, ssmconfig.Options{})

	var out strings.Builder
	fmt.Fprintf(&out, "%v %+v %#v", st, st, st)
	for _, err := range st.Problems {
		out.WriteString(err.Error())
	}
	for _, c := range []string{"good", "nouser", "badendpoint", "unlisted"} {
		if strings.Contains(out.String(), "pw-"+c) {
			t.Errorf("password of %s printed: %s", c, out.String())
		}
	}
	if len(st.Clusters) != 1 || st.Clusters[0].Password.Reveal() != "pw-good" || len(st.Problems) != 3 {
		t.Errorf("clusters %d, problems %v", len(st.Clusters), st.Problems)
	}
}

// reveal shows clusters with their passwords, for failure messages of tests only.
func reveal(cs []config.Cluster) []string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%s %s:%d/%s user=%s password=%s sslmode=%s", c.Name, c.Host, c.Port, c.Database, c.User, c.Password.Reveal(), c.SSLMode))
	}
	return out
}

func TestIAMClustersNeedNoPasswordParameter(t *testing.T) {
	cases := []struct {
		auth        string
		deleteUser  bool
		wantUser    string
		wantProblem string
	}{
		{auth: config.AuthPassword, wantProblem: p + ".c1.password is missing"},
		{auth: config.AuthIAM, wantUser: "exporter"},
		{auth: config.AuthIAM, deleteUser: true, wantProblem: p + ".c1.user is missing"},
		{auth: config.AuthIAMIdentity, deleteUser: true, wantUser: ""},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s user=%v", tc.auth, !tc.deleteUser), func(t *testing.T) {
			f := newFixture(t, "c1")
			f.ssm.Put(p+".c1.endpoint", awsfake.String, "c1.example.com")
			f.ssm.Delete(p + ".c1.password")
			if tc.deleteUser {
				f.ssm.Delete(p + ".c1.user")
			}
			st := f.load(t, ssmconfig.Options{Defaults: config.Cluster{Auth: tc.auth, ClusterID: "ignored-by-ssm"}})
			if tc.wantProblem != "" {
				if err := st.Problems["c1"]; err == nil || !strings.Contains(err.Error(), tc.wantProblem) {
					t.Errorf("problem = %v, want %q", err, tc.wantProblem)
				}
				return
			}
			if len(st.Clusters) != 1 {
				t.Fatalf("problems = %v", st.Problems)
			}
			c := st.Clusters[0]
			if c.Auth != tc.auth || c.User != tc.wantUser || c.Password != "" || c.Identifier() != "c1" {
				t.Errorf("cluster = %+v", c)
			}
		})
	}
}

func TestIAMClusterCarriesNoStoredPassword(t *testing.T) {
	f := newFixture(t, "c1")
	f.ssm.Put(p+".c1.endpoint", awsfake.String, "c1.example.com")
	st := f.load(t, ssmconfig.Options{Defaults: config.Cluster{Auth: config.AuthIAM}})
	if len(st.Clusters) != 1 || st.Clusters[0].Password.Reveal() != "" {
		t.Errorf("clusters = %v, want c1 without the stored password", reveal(st.Clusters))
	}
}

// TestOneUnreadableParameterFailsOnlyItsCluster makes one cluster's password undecryptable (its
// KMS key denies kms:Decrypt) and another's user unreadable (AccessDenied on the name): SSM fails
// each GetParameters call holding either name as a whole. The batch is read again name by name:
// both errors land on their own clusters, and the clusters that share their batches load.
func TestOneUnreadableParameterFailsOnlyItsCluster(t *testing.T) {
	f := newFixture(t, "a1", "a2", "kms-broken", "a3", "denied", "a4")
	for _, id := range []string{"a1", "a2", "kms-broken", "a3", "denied", "a4"} {
		f.ssm.Put(p+"."+id+".endpoint", awsfake.String, id+".example.com:5439/dev")
	}
	f.ssm.FailName(p+".kms-broken.password", "AccessDeniedException",
		"User: arn:aws:iam::123456789012:role/stl is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:123456789012:key/k1")
	f.ssm.FailName(p+".denied.user", "AccessDeniedException",
		"User: arn:aws:iam::123456789012:role/stl is not authorized to perform: ssm:GetParameters on resource: parameter/"+p+".denied.user")

	st := f.load(t, ssmconfig.Options{})

	var names []string
	for _, c := range st.Clusters {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{"a1", "a2", "a3", "a4"}) {
		t.Errorf("clusters %v, want a1 a2 a3 a4", names)
	}
	if got := slices.Sorted(maps.Keys(st.Problems)); !slices.Equal(got, []string{"denied", "kms-broken"}) {
		t.Fatalf("problems for %v, want denied and kms-broken", got)
	}
	for name, part := range map[string]string{"kms-broken": "kms:Decrypt", "denied": p + ".denied.user"} {
		if msg := st.Problems[name].Error(); !strings.Contains(msg, part) || !strings.Contains(msg, "cluster "+name) {
			t.Errorf("%s: %q lacks %q", name, msg, part)
		}
	}
	for _, c := range st.Clusters {
		if c.Password.Reveal() != "pw-"+c.Name {
			t.Errorf("%s loaded without its password", c.Name)
		}
	}
}

// TestEndpointFromTheGlueConnectionOfThe2018Solution looks up clusters without an endpoint
// parameter that DescribeClusters does not list (another account's, or a denied listing): the
// 2018 solution keeps the endpoint in the JDBC URL of the Glue connection .connection names.
func TestEndpointFromTheGlueConnectionOfThe2018Solution(t *testing.T) {
	f := newFixture(t, "seeded", "no-connection", "bad-url")
	g := awsfake.NewGlue(t)
	g.AddConnection("glue-seeded", map[string]string{
		"JDBC_CONNECTION_URL": "jdbc:redshift://seeded.abc.eu-west-1.redshift.amazonaws.com:5440/warehouse",
		"USERNAME":            "etl", "PASSWORD": "glue-secret"})
	g.AddConnection("glue-bad-url", map[string]string{"JDBC_CONNECTION_URL": "jdbc:mysql://h:3306/db"})
	f.ssm.Delete(p + ".no-connection.connection")

	st, err := ssmconfig.Load(context.Background(), f.ssm.Client(), f.rs.Client(), ssmconfig.Options{Glue: g.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Clusters) != 1 {
		t.Fatalf("clusters %v, want seeded alone; problems %v", reveal(st.Clusters), st.Problems)
	}
	c := st.Clusters[0]
	if c.Name != "seeded" || c.Host != "seeded.abc.eu-west-1.redshift.amazonaws.com" || c.Port != 5440 || c.Database != "warehouse" {
		t.Errorf("seeded = %v, want the Glue connection's endpoint", reveal(st.Clusters))
	}
	if c.User != "exporter" || c.Password.Reveal() != "pw-seeded" {
		t.Errorf("seeded logs in as %s, want the SSM user and password, not the connection's", c.User)
	}
	if c.APIRegion() != "eu-west-1" {
		t.Errorf("seeded API region %q, want eu-west-1 from its host", c.APIRegion())
	}
	if msg := fmt.Sprint(st.Problems["bad-url"]); !strings.Contains(msg, "glue-bad-url") || !strings.Contains(msg, "jdbc:redshift://") {
		t.Errorf("bad-url problem %q, want one naming the connection and the expected URL", msg)
	}
	if msg := fmt.Sprint(st.Problems["no-connection"]); !strings.Contains(msg, "does not list cluster no-connection") {
		t.Errorf("no-connection problem %q", msg)
	}
	for _, call := range g.Calls() {
		if call.Action != "GetConnection" || !strings.Contains(string(call.Body), `"HidePassword":true`) {
			t.Errorf("glue call %s %s, want GetConnection with HidePassword", call.Action, call.Body)
		}
	}
}
