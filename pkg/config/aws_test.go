package config

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

const awsExample = `{
  "archive": {"path": "/var/lib/grafana/stl-cache",
              "s3": {"bucket": "stl-archive", "prefix": "stl/", "region": "eu-west-1",
                     "endpoint": "http://127.0.0.1:7070", "pathStyle": true, "sse": "aws:kms",
                     "kmsKeyId": "arn:aws:kms:eu-west-1:123456789012:key/abcd"}},
  "state":   {"dynamodb": {"table": "stlarchive_state", "region": "eu-west-1",
                           "endpoint": "http://127.0.0.1:8000", "create": true}},
  "aws":     {"authType": "keys", "assumeRoleArn": "arn:aws:iam::123456789012:role/stl",
              "externalId": "ext-1", "region": "us-east-1"},
  "export":  {"enabled": false}
}`

func TestAWSSettingsDecode(t *testing.T) {
	cfg, err := FromSettings([]byte(awsExample), map[string]string{AccessKeyKey: "AKIDEXAMPLE", SecretKeyKey: secretValue})
	if err != nil {
		t.Fatal(err)
	}
	wantS3 := S3Archive{Bucket: "stl-archive", Prefix: "stl/", Region: "eu-west-1", Endpoint: "http://127.0.0.1:7070",
		PathStyle: true, SSE: SSEKMS, KMSKeyID: "arn:aws:kms:eu-west-1:123456789012:key/abcd"}
	if cfg.Archive.S3 == nil || *cfg.Archive.S3 != wantS3 {
		t.Errorf("s3 = %+v, want %+v", cfg.Archive.S3, wantS3)
	}
	wantDyn := DynamoDBState{Table: "stlarchive_state", Region: "eu-west-1", Endpoint: "http://127.0.0.1:8000", Create: true}
	if cfg.State.DynamoDB == nil || *cfg.State.DynamoDB != wantDyn {
		t.Errorf("dynamodb = %+v, want %+v", cfg.State.DynamoDB, wantDyn)
	}
	if cfg.State.Path != "" {
		t.Errorf("state.path = %q: with DynamoDB there is no local state file", cfg.State.Path)
	}
	a := cfg.AWS
	if a.AuthType != "keys" || a.AssumeRoleARN != "arn:aws:iam::123456789012:role/stl" || a.ExternalID != "ext-1" ||
		a.Region != "us-east-1" || a.AccessKey.Reveal() != "AKIDEXAMPLE" || a.SecretKey.Reveal() != secretValue {
		t.Errorf("aws = %+v", a)
	}
	if s := fmt.Sprintf("%v %+v %s", cfg, cfg, cfg.String()); strings.Contains(s, secretValue) {
		t.Errorf("printing the config shows the secret key: %s", s)
	}
}

func TestAWSFieldsAreOptionalWithoutAWSServices(t *testing.T) {
	cfg, err := FromSettings([]byte(`{"archive": {"path": "a"}, "export": {"enabled": false}}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Archive.S3 != nil || cfg.State.DynamoDB != nil || cfg.State.Path == "" {
		t.Fatalf("archive %+v state %+v", cfg.Archive, cfg.State)
	}
}

func TestMalformedAWSSettingsNameTheField(t *testing.T) {
	keys := map[string]string{AccessKeyKey: "AKID", SecretKeyKey: secretValue}
	cases := []struct {
		name   string
		mutate func(map[string]any)
		secure map[string]string
		field  string
		msg    string
	}{
		{"bucket missing", func(m map[string]any) { set(m, "archive.s3.bucket", "") }, keys,
			"jsonData.archive.s3.bucket", "required"},
		{"bucket with capitals", func(m map[string]any) { set(m, "archive.s3.bucket", "STL_Archive") }, keys,
			"jsonData.archive.s3.bucket", `got "STL_Archive"`},
		{"absolute prefix", func(m map[string]any) { set(m, "archive.s3.prefix", "/stl") }, keys,
			"jsonData.archive.s3.prefix", "relative key prefix"},
		{"endpoint without scheme", func(m map[string]any) { set(m, "archive.s3.endpoint", "127.0.0.1:7070") }, keys,
			"jsonData.archive.s3.endpoint", "http or https URL"},
		{"unknown sse", func(m map[string]any) { set(m, "archive.s3.sse", "kms") }, keys,
			"jsonData.archive.s3.sse", `got "kms"`},
		{"kms key without sse-kms", func(m map[string]any) { set(m, "archive.s3.sse", "AES256") }, keys,
			"jsonData.archive.s3.kmsKeyId", `needs sse "aws:kms"`},
		{"misspelt s3 field", func(m map[string]any) { set(m, "archive.s3.pathstyle", true) }, keys,
			"jsonData.archive.s3.pathstyle", `did you mean "pathStyle"?`},
		{"table missing", func(m map[string]any) { set(m, "state.dynamodb.table", "") }, keys,
			"jsonData.state.dynamodb.table", "required"},
		{"table name invalid", func(m map[string]any) { set(m, "state.dynamodb.table", "a b") }, keys,
			"jsonData.state.dynamodb.table", `got "a b"`},
		{"state in two places", func(m map[string]any) { set(m, "state.path", "/x/state.db") }, keys,
			"jsonData.state.path", "must be empty when state.dynamodb is set"},
		{"dynamodb endpoint invalid", func(m map[string]any) { set(m, "state.dynamodb.endpoint", "ftp://x") }, keys,
			"jsonData.state.dynamodb.endpoint", "http or https URL"},
		{"unknown auth type", func(m map[string]any) { set(m, "aws.authType", "sso") }, keys,
			"jsonData.aws.authType", `got "sso"`},
		{"keys without access key", nil, map[string]string{SecretKeyKey: secretValue},
			"secureJsonData.accessKey", "required when aws.authType is keys"},
		{"keys without secret key", nil, map[string]string{AccessKeyKey: "AKID"},
			"secureJsonData.secretKey", "required when aws.authType is keys"},
		{"role that is no ARN", func(m map[string]any) { set(m, "aws.assumeRoleArn", "stl-role") }, keys,
			"jsonData.aws.assumeRoleArn", "must be a role ARN"},
		{"external id without role", func(m map[string]any) { set(m, "aws.assumeRoleArn", "") }, keys,
			"jsonData.aws.externalId", "only with assumeRoleArn"},
		{"s3 path in archive.path", func(m map[string]any) { set(m, "archive.path", "s3://b/x") }, keys,
			"jsonData.archive.path", "a bucket goes in archive.s3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal([]byte(awsExample), &m); err != nil {
				t.Fatal(err)
			}
			if tc.mutate != nil {
				tc.mutate(m)
			}
			raw, _ := json.Marshal(m)
			_, err := FromSettings(raw, tc.secure)
			if err == nil {
				t.Fatalf("no error for %s", raw)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.field+": ") || !strings.Contains(msg, tc.msg) {
				t.Errorf("error does not name %s with %q:\n%s", tc.field, tc.msg, msg)
			}
			if strings.Contains(msg, secretValue) {
				t.Errorf("error shows the secret:\n%s", msg)
			}
		})
	}
}

func TestAWSProvisioningExampleLoads(t *testing.T) {
	env := map[string]string{"STL_ARCHIVE_EXTERNAL_ID": "ext-7", "PROD_EAST_HOST": "prod.example.com", "PROD_EAST_PASSWORD": secretValue}
	cfg, err := LoadProvisioning("../../docs/provisioning/aws/datasources", "", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Archive.S3 == nil || cfg.Archive.S3.Bucket != "my-stl-archive" || cfg.Archive.S3.SSE != SSEKMS ||
		cfg.State.DynamoDB == nil || cfg.State.DynamoDB.Table != "stlarchive_state" || cfg.State.Path != "" ||
		cfg.AWS.ExternalID != "ext-7" || cfg.AWS.AuthType != "default" {
		t.Fatalf("loaded %s / %+v / %+v", cfg, cfg.Archive.S3, cfg.AWS)
	}
	if cfg.SSM == nil || cfg.SSM.Prefix != "redshift_query_logs" || cfg.Query.Engine != "athena" ||
		cfg.Query.Athena == nil || cfg.Query.Athena.ResultReuse != 5*time.Minute || cfg.Query.Athena.FirstDay != "2026-01-01" {
		t.Errorf("ssm %+v, query %+v athena %+v", cfg.SSM, cfg.Query, cfg.Query.Athena)
	}
	if len(cfg.Clusters) != 2 || cfg.Clusters[1].Auth != AuthIAM || cfg.Clusters[1].Password != "" {
		t.Errorf("clusters = %+v", cfg.Clusters)
	}
}

const awsFleetExample = `{
  "archive": {"path": "/var/lib/grafana/stl-cache", "s3": {"bucket": "stl-archive", "prefix": "stl/"}},
  "state":   {"dynamodb": {"table": "stlarchive_state"}},
  "aws":     {"region": "us-east-1", "endpoints": {"ssm": "http://127.0.0.1:9001", "athena": "https://athena.vpce.example"}},
  "ssm":     {"prefix": "redshift_query_logs", "sslMode": "require", "auth": "iam"},
  "query":   {"engine": "athena", "athena": {"workgroup": "ops", "outputLocation": "s3://stl-results/",
              "database": "stl_logs", "resultReuse": "15m", "firstDay": "2026-03-01"}},
  "clusters": [
    {"name": "prod-east", "host": "prod-east.abc.us-east-1.redshift.amazonaws.com", "user": "stl_reader",
     "auth": "iam", "clusterIdentifier": "prod-east-1", "dbGroups": ["stl_readers"], "autoCreate": true},
    {"name": "prod-west", "host": "prod-west.abc.us-west-2.redshift.amazonaws.com", "auth": "iam-identity"}
  ]
}`

func TestAWSFleetSettingsDecode(t *testing.T) {
	// IAM clusters need no password; SSM lets the fleet grow without editing the datasource.
	cfg, err := FromSettings([]byte(awsFleetExample), nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.SSM; s == nil || !reflect.DeepEqual(*s, SSM{Prefix: "redshift_query_logs", SSLMode: "require", Auth: AuthIAM}) {
		t.Errorf("ssm = %+v", s)
	}
	wantAthena := Athena{Workgroup: "ops", OutputLocation: "s3://stl-results/", Catalog: DefaultAthenaCatalog,
		Database: "stl_logs", ResultReuse: 15 * time.Minute, Timeout: DefaultAthenaTimeout, ManageCatalog: true, FirstDay: "2026-03-01"}
	if a := cfg.Query.Athena; cfg.Query.Engine != "athena" || a == nil || *a != wantAthena {
		t.Errorf("engine %q athena %+v, want %+v", cfg.Query.Engine, a, wantAthena)
	}
	if e := cfg.AWS.Endpoints; e["ssm"] != "http://127.0.0.1:9001" || e["athena"] != "https://athena.vpce.example" || len(e) != 2 {
		t.Errorf("endpoints = %v", e)
	}
	east, west := cfg.Clusters[0], cfg.Clusters[1]
	if east.Auth != AuthIAM || east.Identifier() != "prod-east-1" || !slices.Equal(east.DBGroups, []string{"stl_readers"}) || !east.AutoCreate {
		t.Errorf("prod-east = %+v", east)
	}
	if west.Auth != AuthIAMIdentity || west.Identifier() != "prod-west" || west.User != "" {
		t.Errorf("prod-west = %+v", west)
	}
	if !cfg.UsesAWS() {
		t.Error("UsesAWS = false")
	}
}

func TestAthenaEngineTakesItsDefaults(t *testing.T) {
	cfg, err := FromSettings([]byte(`{"archive": {"path": "a", "s3": {"bucket": "b-1"}}, "query": {"engine": "athena"},
		"aws": {"region": "us-east-1"}, "export": {"enabled": false}}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Athena{Workgroup: "primary", Catalog: "AwsDataCatalog", Database: "stl_archive", ManageCatalog: true, FirstDay: "2025-01-01",
		Timeout: 5 * time.Minute}
	if cfg.Query.Timeout == want.Timeout {
		t.Errorf("query.timeout %s: the Athena default must differ from the embedded engine's", cfg.Query.Timeout)
	}
	if a := cfg.Query.Athena; a == nil || *a != want {
		t.Errorf("athena = %+v, want %+v", a, want)
	}
}

func TestExportWithOnlySSMClustersIsValid(t *testing.T) {
	if _, err := FromSettings([]byte(`{"archive": {"path": "a"}, "ssm": {}, "aws": {"region": "us-east-1"}}`), nil); err != nil {
		t.Fatal(err)
	}
}

func TestCompactionGraceOutlastsAthenaQueries(t *testing.T) {
	_, err := FromSettings([]byte(`{"archive": {"path": "a", "s3": {"bucket": "b-1"}}, "query": {"engine": "athena",
		"athena": {"timeout": "15m"}}, "aws": {"region": "us-east-1"}, "export": {"enabled": false}}`), nil)
	if err == nil || !strings.Contains(err.Error(), "jsonData.compaction.grace") || !strings.Contains(err.Error(), "query.athena.timeout") {
		t.Errorf("error %v, want one naming jsonData.compaction.grace and query.athena.timeout", err)
	}
	// Without compaction Athena projects the day folders, and nothing it reads is replaced.
	if _, err := FromSettings([]byte(`{"archive": {"path": "a", "s3": {"bucket": "b-1"}}, "query": {"engine": "athena",
		"athena": {"timeout": "15m"}}, "aws": {"region": "us-east-1"}, "export": {"enabled": false}, "compaction": {"enabled": false}}`), nil); err != nil {
		t.Error(err)
	}
}

func TestAthenaTimeoutIsItsOwnAndBounded(t *testing.T) {
	cfg, err := FromSettings([]byte(`{"archive": {"path": "a", "s3": {"bucket": "b-1"}}, "query": {"engine": "athena", "timeout": "20s",
		"athena": {"timeout": "15m"}}, "aws": {"region": "us-east-1"}, "export": {"enabled": false}, "compaction": {"grace": "16m"}}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Query.Athena.Timeout != 15*time.Minute || cfg.Query.Timeout != 20*time.Second {
		t.Errorf("athena timeout %s, query timeout %s; want 15m and 20s", cfg.Query.Athena.Timeout, cfg.Query.Timeout)
	}
	_, err = FromSettings([]byte(`{"archive": {"path": "a", "s3": {"bucket": "b-1"}}, "query": {"engine": "athena",
		"athena": {"timeout": "3h"}}, "aws": {"region": "us-east-1"}, "export": {"enabled": false}}`), nil)
	if err == nil || !strings.Contains(err.Error(), "jsonData.query.athena.timeout") {
		t.Errorf("error %v, want one naming jsonData.query.athena.timeout", err)
	}
}
