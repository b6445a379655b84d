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

	"github.com/stlarchive/redshift-stl-archive/pkg/awsx"
)

// isolate keeps the machine's own AWS environment and files out of a test.
func isolate(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return dir
}

func TestStaticKeysAreTheCredentials(t *testing.T) {
	isolate(t)
	cfg, err := awsx.Load(context.Background(), awsx.Settings{AuthType: awsx.AuthKeys, AccessKey: "AKIDTEST", SecretKey: "s3cr3t", Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKeyID != "AKIDTEST" || creds.SecretAccessKey != "s3cr3t" || cfg.Region != "eu-west-1" {
		t.Fatalf("got key %q region %q", creds.AccessKeyID, cfg.Region)
	}
}

func TestProfileReadsTheSharedFiles(t *testing.T) {
	dir := isolate(t)
	os.WriteFile(filepath.Join(dir, "credentials"), []byte("[ops]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = fromfile\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "config"), []byte("[profile ops]\nregion = ap-south-1\n"), 0o600)
	cfg, err := awsx.Load(context.Background(), awsx.Settings{AuthType: awsx.AuthProfile, Profile: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKeyID != "AKIDPROFILE" || cfg.Region != "ap-south-1" {
		t.Fatalf("got key %q region %q", creds.AccessKeyID, cfg.Region)
	}
}

func TestDefaultChainReadsTheEnvironment(t *testing.T) {
	isolate(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "fromenv")
	t.Setenv("AWS_REGION", "us-west-2")
	cfg, err := awsx.Load(context.Background(), awsx.Settings{AuthType: awsx.AuthDefault})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKeyID != "AKIDENV" || cfg.Region != "us-west-2" {
		t.Fatalf("got key %q region %q", creds.AccessKeyID, cfg.Region)
	}
}

// TestAssumeRoleSendsTheExternalID runs the role assumption against a server that speaks the STS
// query protocol and checks what it received.
func TestAssumeRoleSendsTheExternalID(t *testing.T) {
	isolate(t)
	var got url.Values
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		got = r.PostForm
		if !strings.Contains(r.Header.Get("Authorization"), "Credential=AKIDBASE/") {
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
	cfg, err := awsx.Load(context.Background(), awsx.Settings{AuthType: awsx.AuthKeys, AccessKey: "AKIDBASE", SecretKey: "base",
		Region: "us-east-1", AssumeRoleARN: "arn:aws:iam::123456789012:role/archive", ExternalID: "ext-42", STSEndpoint: sts.URL})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKeyID != "ASIAROLE" || creds.SessionToken != "tok" {
		t.Fatalf("credentials %q, want the role's", creds.AccessKeyID)
	}
	if got.Get("Action") != "AssumeRole" || got.Get("ExternalId") != "ext-42" || got.Get("RoleArn") != "arn:aws:iam::123456789012:role/archive" {
		t.Fatalf("STS received %v", got)
	}
}

func TestInvalidSettingsNameTheField(t *testing.T) {
	isolate(t)
	cases := []struct {
		name string
		s    awsx.Settings
		want string
	}{
		{"unknown auth type", awsx.Settings{AuthType: "sso", Region: "us-east-1"}, `authType "sso"`},
		{"keys without secret", awsx.Settings{AuthType: awsx.AuthKeys, AccessKey: "AKID", Region: "us-east-1"}, "secretKey"},
		{"external id without role", awsx.Settings{ExternalID: "x", Region: "us-east-1"}, "assumeRoleArn"},
		{"no region anywhere", awsx.Settings{AuthType: awsx.AuthKeys, AccessKey: "A", SecretKey: "B"}, "region"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := awsx.Load(context.Background(), c.s)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one naming %q", err, c.want)
			}
		})
	}
}

func TestStringHidesTheSecretKey(t *testing.T) {
	s := awsx.Settings{AuthType: awsx.AuthKeys, AccessKey: "AKIDLONGKEYVALUE", SecretKey: "topsecretvalue", AssumeRoleARN: "arn:r", ExternalID: "extsecret"}
	out := s.String()
	for _, secret := range []string{"topsecretvalue", "extsecret", "AKIDLONGKEYVALUE"} {
		if strings.Contains(out, secret) {
			t.Fatalf("String() = %q shows %q", out, secret)
		}
	}
}
