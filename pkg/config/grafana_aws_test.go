package config

import (
	"strings"
	"testing"

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
