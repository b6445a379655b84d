package config

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/awsx"
)

// athenaDatasourceBlock is the jsonData of Grafana's Athena datasource for an assumed role, as
// its provisioning docs write it, next to this product's own settings.
const athenaDatasourceBlock = `{
	"authType": "default",
	"defaultRegion": "eu-west-1",
	"assumeRoleArn": "arn:aws:iam::123456789012:role/stl-archive",
	"externalId": "ext-1",
	"endpoint": "https://athena.eu-west-1.vpce.example",
	"archive": {"path": "/var/lib/stl", "s3": {"bucket": "stl-bucket"}},
	"query": {"engine": "athena"},
	"export": {"enabled": false}
}`

func TestGrafanaStyleTopLevelAWSSettingsAreAccepted(t *testing.T) {
	cfg, err := FromSettings([]byte(athenaDatasourceBlock), nil)
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.AWS
	if a.AuthType != "default" || a.Region != "eu-west-1" || a.AssumeRoleARN != "arn:aws:iam::123456789012:role/stl-archive" ||
		a.ExternalID != "ext-1" || a.Endpoints["athena"] != "https://athena.eu-west-1.vpce.example" {
		t.Errorf("aws = %+v", a)
	}
	// The same value in both places is fine; different ones are an error naming both fields.
	same := strings.Replace(athenaDatasourceBlock, `"authType": "default",`, `"authType": "default", "aws": {"region": "eu-west-1"},`, 1)
	if _, err := FromSettings([]byte(same), nil); err != nil {
		t.Errorf("agreeing settings refused: %v", err)
	}
	clash := strings.Replace(athenaDatasourceBlock, `"authType": "default",`, `"authType": "default", "aws": {"region": "us-east-1", "endpoints": {"athena": "https://other.example"}},`, 1)
	_, err = FromSettings([]byte(clash), nil)
	for _, want := range []string{"jsonData.defaultRegion", "jsonData.aws.region", "jsonData.endpoint"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want one naming %s", err, want)
		}
	}
}

func TestGrafanaAWSRestrictionsNameTheField(t *testing.T) {
	only := &awsx.Restrictions{AllowedAuthProviders: []string{"ec2_iam_role"}, AssumeRoleEnabled: false}
	cases := []struct {
		name, jsonData, want string
		r                    *awsx.Restrictions
	}{
		{"default not allowed", `{"authType": "default"}`, "jsonData.aws.authType: default is not allowed by this Grafana", only},
		{"profile not allowed", `{"aws": {"authType": "profile"}}`, "jsonData.aws.authType: credentials is not allowed", only},
		{"assume role off", `{"authType": "ec2_iam_role", "assumeRoleArn": "arn:aws:iam::1:role/r"}`, "jsonData.aws.assumeRoleArn: is set, but this Grafana does not allow", only},
		{"grafana assume role without external id", `{"authType": "grafana_assume_role", "assumeRoleArn": "arn:aws:iam::1:role/r"}`, "AWS_AUTH_EXTERNAL_ID",
			&awsx.Restrictions{AllowedAuthProviders: []string{"grafana_assume_role"}}},
		{"unknown auth type", `{"authType": "sso"}`, "jsonData.aws.authType: must be one of", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw := strings.Replace(`{"archive": {"path": "/a", "s3": {"bucket": "stl-bucket"}}, "export": {"enabled": false}, "aws": {"region": "us-east-1"}}`,
				`"export"`, strings.TrimSuffix(strings.TrimPrefix(c.jsonData, "{"), "}")+`, "export"`, 1)
			if strings.Contains(c.jsonData, `"aws"`) {
				raw = `{"archive": {"path": "/a", "s3": {"bucket": "stl-bucket"}}, "export": {"enabled": false}, "aws": {"region": "us-east-1", "authType": "profile"}}`
			}
			_, err := FromSettingsIn([]byte(raw), nil, c.r)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
	ok := `{"authType": "ec2_iam_role", "archive": {"path": "/a", "s3": {"bucket": "stl-bucket"}}, "export": {"enabled": false}, "aws": {"region": "us-east-1"}}`
	if _, err := FromSettingsIn([]byte(ok), nil, only); err != nil {
		t.Errorf("allowed ec2_iam_role refused: %v", err)
	}
}

// athenaProvisioning is a provisioning file whose datasource carries the jsonData of Grafana's
// Athena datasource exactly as its provisioning docs lay it out (auth, region, catalog, database,
// workgroup, and the optional endpoint, externalId and outputLocation), under this plugin's type,
// followed by this product's own settings. %s is the Grafana part of jsonData, indented.
const athenaProvisioning = `apiVersion: 1
datasources:
  - name: Athena
    type: ` + PluginID + `
    jsonData:
%s
      archive:
        path: stl-cache
        s3:
          bucket: stl-bucket
      query:
        engine: athena
      export:
        enabled: false
%s`

func TestGrafanaAthenaDatasourceProvisioningIsAccepted(t *testing.T) {
	cases := []struct {
		name, grafana, secure string
		check                 func(t *testing.T, cfg Config)
	}{
		{"aws sdk default", `
      authType: default
      defaultRegion: eu-west-2
      catalog: AwsDataCatalog
      database: stl_athena
      workgroup: stl-workgroup`, "", func(t *testing.T, cfg Config) {
			if cfg.AWS.AuthType != "default" || cfg.AWS.Region != "eu-west-2" {
				t.Errorf("aws = %+v", cfg.AWS)
			}
		}},
		{"credentials profile", `
      authType: credentials
      defaultRegion: eu-west-2
      profile: secondary
      catalog: AwsDataCatalog
      database: stl_athena
      workgroup: stl-workgroup`, "", func(t *testing.T, cfg Config) {
			if cfg.AWS.AuthType != "credentials" || cfg.AWS.Profile != "secondary" {
				t.Errorf("aws = %+v", cfg.AWS)
			}
		}},
		{"access and secret keys", `
      authType: keys
      defaultRegion: eu-west-2
      catalog: AwsDataCatalog
      database: stl_athena
      workgroup: stl-workgroup`, `
    secureJsonData:
      accessKey: AKIAEXAMPLE
      secretKey: ` + secretValue, func(t *testing.T, cfg Config) {
			if cfg.AWS.AuthType != "keys" || cfg.AWS.AccessKey.Reveal() != "AKIAEXAMPLE" || cfg.AWS.SecretKey.Reveal() != secretValue {
				t.Errorf("keys not attached: authType %q", cfg.AWS.AuthType)
			}
		}},
		{"assumed role with the optional parameters", `
      authType: default
      assumeRoleArn: arn:aws:iam::123456789012:role/stl-archive
      defaultRegion: eu-west-2
      catalog: AwsDataCatalog
      database: stl_athena
      workgroup: stl-workgroup
      endpoint: https://athena.eu-west-2.amazonaws.com
      externalId: ext-1
      outputLocation: s3://stl-athena-results/grafana/`, "", func(t *testing.T, cfg Config) {
			a := cfg.AWS
			if a.AssumeRoleARN != "arn:aws:iam::123456789012:role/stl-archive" || a.ExternalID != "ext-1" ||
				a.Endpoints["athena"] != "https://athena.eu-west-2.amazonaws.com" {
				t.Errorf("aws = %+v", a)
			}
			if got := cfg.Query.Athena.OutputLocation; got != "s3://stl-athena-results/grafana/" {
				t.Errorf("outputLocation = %q", got)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := writeFile(t, filepath.Join(t.TempDir(), "athena.yaml"),
				fmt.Sprintf(athenaProvisioning, strings.TrimPrefix(c.grafana, "\n"), strings.TrimPrefix(c.secure, "\n")))
			cfg, err := LoadProvisioning(file, "", envOf(nil))
			if err != nil {
				t.Fatal(err)
			}
			at := cfg.Query.Athena
			if at == nil || at.Catalog != "AwsDataCatalog" || at.Database != "stl_athena" || at.Workgroup != "stl-workgroup" {
				t.Fatalf("query.athena = %+v", at)
			}
			// What the Grafana keys leave out keeps this product's defaults.
			if at.Timeout != DefaultAthenaTimeout || !at.ManageCatalog || at.FirstDay != DefaultAthenaFirstDay {
				t.Errorf("defaults lost: %+v", at)
			}
			c.check(t, cfg)
		})
	}
}

func TestGrafanaStyleAthenaSettingsMustAgreeWithQueryAthena(t *testing.T) {
	base := `{"archive": {"path": "/a", "s3": {"bucket": "stl-bucket"}}, "export": {"enabled": false}, `
	// Without query.athena, the top-level keys alone configure Athena.
	cfg, err := FromSettings([]byte(base+`"query": {"engine": "duckdb"}, "database": "stl_top", "outputLocation": ""}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if at := cfg.Query.Athena; at == nil || at.Database != "stl_top" || at.Workgroup != DefaultAthenaWorkgroup || at.OutputLocation != "" {
		t.Errorf("query.athena = %+v", at)
	}
	// Nothing Athena-like anywhere leaves Athena unset.
	cfg, err = FromSettings([]byte(base+`"query": {"engine": "duckdb"}}`), nil)
	if err != nil || cfg.Query.Athena != nil {
		t.Errorf("query.athena = %+v, err %v", cfg.Query.Athena, err)
	}
	// The same value in both places is fine; it also fills a key only query.athena leaves out.
	cfg, err = FromSettings([]byte(base+`"query": {"engine": "athena", "athena": {"workgroup": "wg", "timeout": "2m"}},
		"workgroup": "wg", "catalog": "OtherCatalog"}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if at := cfg.Query.Athena; at.Workgroup != "wg" || at.Catalog != "OtherCatalog" || at.Timeout != 2*time.Minute {
		t.Errorf("query.athena = %+v", at)
	}
	// Different values are one error each, naming both fields; a default that query.athena does
	// not set is no disagreement.
	_, err = FromSettings([]byte(base+`"query": {"engine": "athena", "athena": {"workgroup": "wg", "catalog": "C1",
		"database": "db_one", "outputLocation": "s3://one/"}},
		"workgroup": "other", "catalog": "C2", "database": "db_two", "outputLocation": "s3://two/"}`), nil)
	for _, k := range []string{"workgroup", "catalog", "database", "outputLocation"} {
		want := "jsonData." + k + ": "
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "jsonData.query.athena."+k+" is") {
			t.Errorf("error %v, want one naming jsonData.%s and jsonData.query.athena.%s", err, k, k)
		}
	}
	// A top-level value is validated like query.athena's own.
	_, err = FromSettings([]byte(base+`"outputLocation": "stl-results"}`), nil)
	if err == nil || !strings.Contains(err.Error(), "outputLocation: must be an s3:// URL") {
		t.Errorf("error %v, want an s3:// URL error", err)
	}
}
