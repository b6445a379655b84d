package awsx_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/awsx"
)

func restrictions(t *testing.T, vars map[string]string) *awsx.Restrictions {
	t.Helper()
	r, err := awsx.ReadRestrictions(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestGrafanaRestrictionsAreReadWithGrafanasDefaults(t *testing.T) {
	r := restrictions(t, nil)
	if strings.Join(r.AllowedAuthProviders, ",") != "default,keys,credentials" || !r.AssumeRoleEnabled || r.SessionDuration != 0 {
		t.Errorf("defaults %+v, want Grafana's: default, keys, credentials; assume role on", r)
	}
	r = restrictions(t, map[string]string{awsx.EnvAllowedAuthProviders: " ec2_iam_role , keys ", awsx.EnvAssumeRoleEnabled: "false",
		awsx.EnvExternalID: "stack-42", awsx.EnvSessionDuration: "1h"})
	if strings.Join(r.AllowedAuthProviders, ",") != "ec2_iam_role,keys" || r.AssumeRoleEnabled || r.ExternalID != "stack-42" || r.SessionDuration != time.Hour {
		t.Errorf("read %+v", r)
	}
	for k, v := range map[string]string{awsx.EnvAssumeRoleEnabled: "maybe", awsx.EnvSessionDuration: "soon"} {
		if _, err := awsx.ReadRestrictions(func(key string) string { return map[string]string{k: v}[key] }); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: error %v, want one naming the variable", k, v, err)
		}
	}
}

// TestAdminRestrictionsAreEnforced: an auth type Grafana's administrator did not allow is an
// error naming it, so an editor cannot fall back on the host's default credentials; a role
// cannot be assumed where assume_role_enabled is false.
func TestAdminRestrictionsAreEnforced(t *testing.T) {
	isolate(t)
	onlyRole := restrictions(t, map[string]string{awsx.EnvAllowedAuthProviders: "ec2_iam_role", awsx.EnvAssumeRoleEnabled: "false"})
	cases := []struct {
		name string
		s    awsx.Settings
		want string
	}{
		{"default chain", awsx.Settings{AuthType: awsx.AuthDefault, Region: "us-east-1", Restrictions: onlyRole}, "authType default is not allowed"},
		{"profile is credentials", awsx.Settings{AuthType: awsx.AuthProfile, Region: "us-east-1", Restrictions: onlyRole}, "authType credentials is not allowed"},
		{"assume role off", awsx.Settings{AuthType: awsx.AuthEC2IAMRole, Region: "us-east-1", AssumeRoleARN: "arn:aws:iam::1:role/r", Restrictions: onlyRole}, "does not allow assuming a role"},
		{"grafana assume role without Grafana's id", awsx.Settings{AuthType: awsx.AuthGrafanaAssumeRole, Region: "us-east-1", AssumeRoleARN: "arn:aws:iam::1:role/r"}, awsx.EnvExternalID},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := awsx.Load(context.Background(), c.s)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one about %q", err, c.want)
			}
		})
	}
	if _, err := awsx.Load(context.Background(), awsx.Settings{AuthType: awsx.AuthEC2IAMRole, Region: "us-east-1", Restrictions: onlyRole}); err != nil {
		t.Errorf("the allowed ec2_iam_role: %v", err)
	}
}

// TestEC2IAMRoleTakesTheInstanceRoleOnly serves the instance metadata service (IMDSv2) and
// checks that ec2_iam_role takes its role even with keys in the environment, which the default
// chain would have taken first.
func TestEC2IAMRoleTakesTheInstanceRoleOnly(t *testing.T) {
	isolate(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "fromenv")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "")
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut && r.URL.Path == "/latest/api/token":
			w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "21600")
			fmt.Fprint(w, "imds-token")
		case r.Header.Get("X-Aws-Ec2-Metadata-Token") != "imds-token":
			http.Error(w, "no token", http.StatusUnauthorized)
		case r.URL.Path == "/latest/meta-data/iam/security-credentials/":
			fmt.Fprint(w, "grafana-host")
		case r.URL.Path == "/latest/meta-data/iam/security-credentials/grafana-host":
			fmt.Fprint(w, `{"Code":"Success","Type":"AWS-HMAC","AccessKeyId":"ASIAINSTANCE","SecretAccessKey":"inst","Token":"t","Expiration":"2099-01-01T00:00:00Z"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer imds.Close()
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.URL)
	cfg, err := awsx.Load(context.Background(), awsx.Settings{AuthType: awsx.AuthEC2IAMRole, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKeyID != "ASIAINSTANCE" {
		t.Fatalf("credentials %s, want the instance role's", creds.AccessKeyID)
	}
}

// TestEC2IAMRoleInAnECSTaskTakesTheTaskRole serves the container credentials endpoint, as ECS
// does for a task role.
func TestEC2IAMRoleInAnECSTaskTakesTheTaskRole(t *testing.T) {
	isolate(t)
	ecs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "task-token" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, `{"AccessKeyId":"ASIATASK","SecretAccessKey":"task","Token":"t","Expiration":"2099-01-01T00:00:00Z"}`)
	}))
	defer ecs.Close()
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs.URL+"/v2/credentials/x")
	t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "task-token")
	cfg, err := awsx.Load(context.Background(), awsx.Settings{AuthType: awsx.AuthEC2IAMRole, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKeyID != "ASIATASK" {
		t.Fatalf("credentials %s, want the task role's", creds.AccessKeyID)
	}
}

// TestGrafanaAssumeRoleUsesGrafanasExternalIDAndSessionDuration assumes the datasource's role
// with the source credentials Grafana provides (profile assume_role_credentials) and Grafana's
// external id, never one the datasource sets, for Grafana's session duration.
func TestGrafanaAssumeRoleUsesGrafanasExternalIDAndSessionDuration(t *testing.T) {
	dir := isolate(t)
	os.WriteFile(filepath.Join(dir, "credentials"), []byte("[assume_role_credentials]\naws_access_key_id = AKIDGRAFANA\naws_secret_access_key = g\n"), 0o600)
	var got url.Values
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		got = r.PostForm
		if !strings.Contains(r.Header.Get("Authorization"), "Credential=AKIDGRAFANA/") {
			http.Error(w, "unsigned", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprint(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
<Credentials><AccessKeyId>ASIAROLE</AccessKeyId><SecretAccessKey>rolesecret</SecretAccessKey><SessionToken>tok</SessionToken>
<Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>
<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/archive/stlarchive</Arn><AssumedRoleId>AROA:stlarchive</AssumedRoleId></AssumedRoleUser>
</AssumeRoleResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></AssumeRoleResponse>`)
	}))
	defer sts.Close()
	r := restrictions(t, map[string]string{awsx.EnvAllowedAuthProviders: "grafana_assume_role", awsx.EnvExternalID: "stack-7", awsx.EnvSessionDuration: "30m"})
	cfg, err := awsx.Load(context.Background(), awsx.Settings{AuthType: awsx.AuthGrafanaAssumeRole, Region: "us-east-1",
		AssumeRoleARN: "arn:aws:iam::123456789012:role/archive", STSEndpoint: sts.URL, Restrictions: r})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKeyID != "ASIAROLE" || got.Get("ExternalId") != "stack-7" || got.Get("DurationSeconds") != "1800" {
		t.Fatalf("credentials %s; STS received %v; want the role's with Grafana's external id and 1800 s", creds.AccessKeyID, got)
	}
}
