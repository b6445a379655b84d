package redshift_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	"github.com/jackc/pgx/v5"

	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/awsfake"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/pgtest"
	"github.com/stlarchive/redshift-stl-archive/pkg/redshift"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// clock is a settable fake clock shared by the Redshift fake and the credentials cache.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newIAMFake(t *testing.T) (*awsfake.Redshift, *clock) {
	clk := &clock{now: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	fake := awsfake.NewRedshift(t)
	fake.Now = clk.Now
	fake.AddCluster(awsfake.RedshiftCluster{Identifier: "c1", Address: "c1.example.com", Port: 5439, DBName: "dev"})
	return fake, clk
}

func TestIAMCredentialsAreReusedUntilAMinuteBeforeExpiry(t *testing.T) {
	fake, clk := newIAMFake(t)
	creds := &redshift.IAMCredentials{API: fake.Client(), Auth: redshift.IAMAuth{ClusterID: "c1", DBUser: "exporter"}, Now: clk.Now}
	ctx := context.Background()

	steps := []struct {
		advance    time.Duration
		wantIssued int
	}{
		{0, 1},                              // first use fetches
		{10 * time.Minute, 1},               // 12:10, valid until 12:15
		{3*time.Minute + 59*time.Second, 1}, // 12:13:59, a second before the refresh point
		{time.Second, 2},                    // 12:14:00, a minute before expiry: refreshed
		{time.Minute, 2},                    // 12:15, the new ones last until 12:29
		{14 * time.Minute, 3},               // 12:29, past the new refresh point
	}
	var last string
	for i, s := range steps {
		clk.Advance(s.advance)
		user, password, err := creds.Credentials(ctx)
		if err != nil {
			t.Fatal(err)
		}
		issued := fake.Issued()
		if len(issued) != s.wantIssued {
			t.Fatalf("step %d at %s: %d issues, want %d", i, clk.Now().Format("15:04:05"), len(issued), s.wantIssued)
		}
		newest := issued[len(issued)-1]
		if user != "IAM:exporter" || password != newest.Password {
			t.Errorf("step %d: got %s and an older password than the newest issued", i, user)
		}
		if changed := password != last; changed != (i == 0 || s.wantIssued != steps[i-1].wantIssued) {
			t.Errorf("step %d: password changed = %v", i, changed)
		}
		if !creds.Expiration().Equal(newest.Expiration) {
			t.Errorf("step %d: expiration %v, want %v", i, creds.Expiration(), newest.Expiration)
		}
		last = password
	}
}

func TestIAMCredentialsConcurrentCallersShareOneFetch(t *testing.T) {
	fake, clk := newIAMFake(t)
	creds := &redshift.IAMCredentials{API: fake.Client(), Auth: redshift.IAMAuth{ClusterID: "c1", DBUser: "exporter"}, Now: clk.Now}
	var wg sync.WaitGroup
	passwords := make([]string, 8)
	for i := range passwords {
		wg.Go(func() {
			_, pw, err := creds.Credentials(context.Background())
			if err != nil {
				t.Error(err)
			}
			passwords[i] = pw
		})
	}
	wg.Wait()
	if n := len(fake.Issued()); n != 1 {
		t.Errorf("%d fetches for 8 concurrent callers, want 1", n)
	}
	for _, pw := range passwords {
		if pw != passwords[0] {
			t.Error("callers got different passwords")
		}
	}
}

func TestIAMCredentialsAskForTheConfiguredUser(t *testing.T) {
	cases := []struct {
		name       string
		auth       redshift.IAMAuth
		wantAction string
		wantUser   string
		wantForm   map[string]string
	}{
		{
			name:       "db user with groups",
			auth:       redshift.IAMAuth{ClusterID: "c1", DBUser: "exporter", DBGroups: []string{"readers", "ops"}, AutoCreate: true, DBName: "dev", DurationSeconds: 3600},
			wantAction: "GetClusterCredentials", wantUser: "IAM:exporter",
			wantForm: map[string]string{"ClusterIdentifier": "c1", "DbUser": "exporter", "DbGroups.DbGroup.1": "readers", "DbGroups.DbGroup.2": "ops", "AutoCreate": "true", "DbName": "dev", "DurationSeconds": "3600"},
		},
		{
			name:       "db user, defaults",
			auth:       redshift.IAMAuth{ClusterID: "c1", DBUser: "exporter"},
			wantAction: "GetClusterCredentials", wantUser: "IAM:exporter",
			wantForm: map[string]string{"ClusterIdentifier": "c1", "DbUser": "exporter", "AutoCreate": "", "DbName": "", "DurationSeconds": ""},
		},
		{
			name:       "IAM identity",
			auth:       redshift.IAMAuth{ClusterID: "c1", WithIAMIdentity: true, DBName: "dev", DurationSeconds: 900},
			wantAction: "GetClusterCredentialsWithIAM", wantUser: "IAMR:stlarchive",
			wantForm: map[string]string{"ClusterIdentifier": "c1", "DbName": "dev", "DurationSeconds": "900", "DbUser": ""},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake, _ := newIAMFake(t)
			creds := &redshift.IAMCredentials{API: fake.Client(), Auth: tc.auth}
			user, _, err := creds.Credentials(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if user != tc.wantUser {
				t.Errorf("user = %q, want %q", user, tc.wantUser)
			}
			reqs := fake.Requests()
			if len(reqs) != 1 || reqs[0].Action != tc.wantAction {
				t.Fatalf("requests = %+v, want one %s", reqs, tc.wantAction)
			}
			for k, v := range tc.wantForm {
				if got := reqs[0].Form.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestIAMErrorsNameTheClusterAndTheAction(t *testing.T) {
	cases := []struct {
		name     string
		auth     redshift.IAMAuth
		deny     string
		wantCode string
		want     []string
	}{
		{"denied", redshift.IAMAuth{ClusterID: "c1", DBUser: "exporter"}, "GetClusterCredentials", "AccessDenied",
			[]string{"redshift:GetClusterCredentials for cluster c1 denied", "dbuser:c1/exporter"}},
		{"denied with IAM identity", redshift.IAMAuth{ClusterID: "c1", WithIAMIdentity: true}, "GetClusterCredentialsWithIAM", "AccessDenied",
			[]string{"redshift:GetClusterCredentialsWithIAM for cluster c1 denied", "dbname:c1/"}},
		{"unknown cluster", redshift.IAMAuth{ClusterID: "c9", DBUser: "exporter"}, "", "ClusterNotFound",
			[]string{"redshift:GetClusterCredentials for cluster c9"}},
		{"duration out of range", redshift.IAMAuth{ClusterID: "c1", DBUser: "exporter", DurationSeconds: 60}, "", "InvalidParameterValue",
			[]string{"redshift:GetClusterCredentials for cluster c1", "DurationSeconds"}},
		{"no user", redshift.IAMAuth{ClusterID: "c1"}, "", "",
			[]string{"redshift:GetClusterCredentials for cluster c1", "no database user"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake, _ := newIAMFake(t)
			if tc.deny != "" {
				fake.Deny(tc.deny)
			}
			creds := &redshift.IAMCredentials{API: fake.Client(), Auth: tc.auth}
			_, _, err := creds.Credentials(context.Background())
			if err == nil {
				t.Fatal("no error")
			}
			var api smithy.APIError
			if tc.wantCode != "" && (!errors.As(err, &api) || api.ErrorCode() != tc.wantCode) {
				t.Errorf("err = %v, want AWS error %s", err, tc.wantCode)
			}
			for _, part := range tc.want {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("%q lacks %q", err, part)
				}
			}
		})
	}
}

// simDatabase is a database on the shared server with Redshift's getdate().
func simDatabase(t *testing.T, url string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE FUNCTION getdate() RETURNS timestamp LANGUAGE sql
		AS $$ SELECT date_trunc('second', now() AT TIME ZONE 'UTC') $$`); err != nil {
		t.Fatal(err)
	}
}

func clusterOf(t *testing.T, rawURL string) config.Cluster {
	t.Helper()
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return config.Cluster{Name: "c1", Host: cfg.Host, Port: int(cfg.Port), Database: cfg.Database,
		User: cfg.User, Password: config.Secret(cfg.Password), SSLMode: "disable"}
}

func TestConnectWithIAMLogsInWithTheTemporaryPasswordAndRenewsIt(t *testing.T) {
	url := pgtest.Database(t, "iam")
	simDatabase(t, url)
	cluster := clusterOf(t, url)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	role := fmt.Sprintf("IAM:exporter_%d", time.Now().UnixNano())
	t.Cleanup(func() { _, _ = admin.Exec(ctx, "DROP ROLE IF EXISTS "+pgx.Identifier{role}.Sanitize()) })

	fake, clk := newIAMFake(t)
	// Like Redshift, the fake makes the temporary password the user's password when it issues it.
	fake.OnCredentials = func(ic awsfake.IssuedCredentials) error {
		_, err := admin.Exec(ctx, "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = "+quote(ic.DBUser)+
			") THEN CREATE ROLE "+pgx.Identifier{ic.DBUser}.Sanitize()+" LOGIN; END IF; END $$")
		if err == nil {
			_, err = admin.Exec(ctx, "ALTER ROLE "+pgx.Identifier{ic.DBUser}.Sanitize()+" PASSWORD "+quote(ic.Password))
		}
		return err
	}
	cluster.Auth, cluster.User, cluster.AutoCreate, cluster.Password = config.AuthIAM, strings.TrimPrefix(role, "IAM:"), true, "wrong"
	opts, err := redshift.OptionsFor(cluster, fake.Client())
	if err != nil {
		t.Fatal(err)
	}
	opts.Auth.(*redshift.IAMCredentials).Now = clk.Now

	current := func() string {
		conn, err := redshift.ConnectWith(ctx, cluster, "stlarchive", opts)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var user string
		if err := conn.QueryRow(ctx, "SELECT current_user").Scan(&user); err != nil {
			t.Fatal(err)
		}
		return user
	}
	if u := current(); u != role {
		t.Errorf("connected as %q, want %q", u, role)
	}
	_ = current()
	if n := len(fake.Issued()); n != 1 {
		t.Errorf("%d issues for two connects within the validity, want 1", n)
	}
	first := fake.Issued()[0].Password
	if ic := fake.Issued()[0]; ic.DBName != cluster.Database || !ic.AutoCreate || ic.Action != "GetClusterCredentials" {
		t.Errorf("issued %+v, want GetClusterCredentials for database %s with AutoCreate", ic, cluster.Database)
	}

	clk.Advance(15 * time.Minute)
	if u := current(); u != role {
		t.Errorf("after expiry connected as %q, want %q", u, role)
	}
	if n := len(fake.Issued()); n != 2 {
		t.Errorf("%d issues after expiry, want 2", n)
	}
	// Credentials refused before their expiration are dropped: the next connect fetches new ones.
	if _, err := admin.Exec(ctx, "ALTER ROLE "+pgx.Identifier{role}.Sanitize()+" PASSWORD 'changed-behind-the-cache'"); err != nil {
		t.Fatal(err)
	}
	if _, err := redshift.ConnectWith(ctx, cluster, "stlarchive", opts); err == nil {
		t.Fatal("connected with a password the server no longer accepts")
	}
	if u := current(); u != role {
		t.Errorf("after a refused login connected as %q, want %q", u, role)
	}
	if n := len(fake.Issued()); n != 3 {
		t.Errorf("%d issues after a refused login, want 3", n)
	}
	// The first password no longer logs in: the connect after expiry needed the renewal.
	stale := cluster
	stale.Auth, stale.User, stale.Password = config.AuthPassword, role, config.Secret(first)
	_, err = redshift.Connect(ctx, stale, "stlarchive")
	if err == nil {
		t.Fatal("the expired password still logs in")
	}
	if strings.Contains(err.Error(), first) {
		t.Errorf("error carries the password: %v", err)
	}
}

func TestConnectWithDeniedCredentialsNamesClusterAndAction(t *testing.T) {
	fake, _ := newIAMFake(t)
	fake.Deny("GetClusterCredentials")
	creds := &redshift.IAMCredentials{API: fake.Client(), Auth: redshift.IAMAuth{ClusterID: "c1", DBUser: "exporter"}}
	// Nothing listens on the address: the connect must fail on the credentials, before dialing.
	c := config.Cluster{Name: "prod", Host: "127.0.0.1", Port: 1, Database: "dev", SSLMode: "disable"}
	_, err := redshift.ConnectWith(context.Background(), c, "stlarchive", redshift.Options{Auth: creds})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "AccessDenied" {
		t.Fatalf("err = %v, want the AccessDenied", err)
	}
	for _, part := range []string{"cluster prod: credentials:", "redshift:GetClusterCredentials for cluster c1 denied"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("%q lacks %q", err, part)
		}
	}
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func TestOptionsForFollowsTheClusterAuth(t *testing.T) {
	fake, _ := newIAMFake(t)
	api := fake.Client()
	base := config.Cluster{Name: "prod", Host: "prod.example.com", Port: 5439, Database: "dev", User: "exporter"}
	cases := []struct {
		name    string
		edit    func(c *config.Cluster)
		api     redshift.CredentialsAPI
		want    *redshift.IAMAuth // nil: no Auth, the cluster's password
		wantErr string
	}{
		{name: "password", edit: func(c *config.Cluster) { c.Auth = config.AuthPassword }, api: api},
		{name: "empty auth is password", edit: func(c *config.Cluster) {}, api: nil},
		{name: "iam", api: api, edit: func(c *config.Cluster) {
			c.Auth, c.DBGroups, c.AutoCreate = config.AuthIAM, []string{"readers"}, true
		}, want: &redshift.IAMAuth{ClusterID: "prod", DBUser: "exporter", DBGroups: []string{"readers"}, AutoCreate: true, DBName: "dev"}},
		{name: "iam with a cluster identifier", api: api, edit: func(c *config.Cluster) {
			c.Auth, c.ClusterID = config.AuthIAM, "prod-cluster-7"
		}, want: &redshift.IAMAuth{ClusterID: "prod-cluster-7", DBUser: "exporter", DBName: "dev"}},
		{name: "iam identity", api: api, edit: func(c *config.Cluster) { c.Auth, c.User = config.AuthIAMIdentity, "" },
			want: &redshift.IAMAuth{ClusterID: "prod", WithIAMIdentity: true, DBName: "dev"}},
		{name: "iam without an API client", edit: func(c *config.Cluster) { c.Auth = config.AuthIAM },
			wantErr: "cluster prod: auth iam needs a Redshift API client for redshift:GetClusterCredentials"},
		{name: "unknown auth", api: api, edit: func(c *config.Cluster) { c.Auth = "kerberos" }, wantErr: `cluster prod: unknown auth "kerberos"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.edit(&c)
			opts, err := redshift.OptionsFor(c, tc.api)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				if opts.Auth != nil {
					t.Errorf("Auth = %T, want none", opts.Auth)
				}
				return
			}
			creds, ok := opts.Auth.(*redshift.IAMCredentials)
			if !ok {
				t.Fatalf("Auth = %T, want *IAMCredentials", opts.Auth)
			}
			if fmt.Sprintf("%+v", creds.Auth) != fmt.Sprintf("%+v", *tc.want) || creds.API != tc.api {
				t.Errorf("IAM auth = %+v, want %+v", creds.Auth, *tc.want)
			}
		})
	}
}
