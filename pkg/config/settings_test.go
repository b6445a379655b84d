package config

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

const secretValue = "s3cr3t-Pa55word"

const fullExample = `{
  "archive": {"path": "/var/lib/grafana/stl-archive"},
  "state":   {"path": ""},
  "export":  {"enabled": true, "interval": "5m", "lag": "1m", "jitter": "30s", "concurrency": 4,
              "timeout": "10m", "tables": ["stl_query", "stl_scan"], "queryGroup": "stlarchive"},
  "query":   {"engine": "duckdb", "timeout": "30s", "maxRows": 100000},
  "clusters": [{"name": "prod-east", "host": "examplecluster.abc123.us-east-1.redshift.amazonaws.com",
                "port": 5439, "database": "dev", "user": "stl_reader", "sslMode": "verify-full"}],
  "customQueries": [{"name": "big_orders", "sql": "SELECT order_id, amount, ordered_at FROM sales.orders WHERE amount > 2000",
                     "timeColumn": "ordered_at", "keyColumns": ["order_id"], "clusters": ["prod-east"]}]
}`

func TestFullExampleDecodesToExpectedStruct(t *testing.T) {
	got, err := FromSettings([]byte(fullExample), map[string]string{"password.prod-east": secretValue})
	if err != nil {
		t.Fatalf("FromSettings: %v", err)
	}
	want := Config{
		Archive: Archive{Path: "/var/lib/grafana/stl-archive"},
		State:   State{Path: "/var/lib/grafana/stl-archive/.state/export.db"},
		Export: Export{
			Enabled: true, Interval: 5 * time.Minute, Lag: time.Minute, Jitter: 30 * time.Second,
			Concurrency: 4, Tables: []string{"stl_query", "stl_scan"}, QueryGroup: "stlarchive",
			Timeout: 10 * time.Minute, Lease: 2 * time.Minute,
		},
		Query: Query{Engine: "duckdb", Timeout: 30 * time.Second, MaxRows: 100000, CacheSizeMB: 10240, MemoryLimitMB: 1024, Workers: 4},
		Clusters: []Cluster{{
			Name: "prod-east", Host: "examplecluster.abc123.us-east-1.redshift.amazonaws.com", Port: 5439,
			Database: "dev", User: "stl_reader", Password: Secret(secretValue), SSLMode: "verify-full", Auth: "password",
		}},
		CustomQueries: []CustomQuery{{
			Name:       "big_orders",
			SQL:        "SELECT order_id, amount, ordered_at FROM sales.orders WHERE amount > 2000",
			TimeColumn: "ordered_at", KeyColumns: []string{"order_id"}, Clusters: []string{"prod-east"},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded\n%#v\nwant\n%#v", got, want)
	}
	if got.Clusters[0].Password.Reveal() != secretValue {
		t.Errorf("password not attached to its cluster")
	}
}

func TestOmittedFieldsTakeTheirDefaults(t *testing.T) {
	got, err := FromSettings([]byte(`{"archive":{"path":"archive"},"clusters":[{"name":"c1","host":"localhost","user":"u"}]}`),
		map[string]string{"password.c1": ""})
	if err != nil {
		t.Fatalf("FromSettings: %v", err)
	}
	want := Config{
		Archive: Archive{Path: "archive"},
		State:   State{Path: "archive/.state/export.db"},
		Export: Export{
			Enabled: true, Interval: 5 * time.Minute, Lag: time.Minute, Jitter: 30 * time.Second,
			Concurrency: 4, Tables: tables.Names(), QueryGroup: "stlarchive", Timeout: 10 * time.Minute, Lease: 2 * time.Minute,
		},
		Query:    Query{Engine: "duckdb", Timeout: 30 * time.Second, MaxRows: 100000, CacheSizeMB: 10240, MemoryLimitMB: 1024, Workers: 4},
		Clusters: []Cluster{{Name: "c1", Host: "localhost", Port: 5439, Database: "dev", User: "u", SSLMode: "verify-full", Auth: "password"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded\n%#v\nwant\n%#v", got, want)
	}
	if len(got.Export.Tables) != 8 {
		t.Errorf("default tables = %v, want all eight", got.Export.Tables)
	}
}

func TestDefaultsMatchWhatAnEmptyDatasourceDecodesTo(t *testing.T) {
	got, err := FromSettings([]byte(`{"archive":{"path":"/a"},"clusters":[{"name":"c1","host":"h","user":"u"}]}`),
		map[string]string{"password.c1": "x"})
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	want.Archive.Path, want.State.Path = "/a", "/a/.state/export.db"
	c := DefaultCluster()
	c.Name, c.Host, c.User, c.Password = "c1", "h", "u", "x"
	want.Clusters = []Cluster{c}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded\n%#v\nDefaults() gives\n%#v", got, want)
	}
}

func TestOnlyCustomQueriesMayBeExported(t *testing.T) {
	cfg := mustDecode(t, func(m map[string]any) {
		set(m, "export.tables", []any{})
		m["customQueries"] = []any{bigOrders(nil)}
	})
	if len(cfg.Export.Tables) != 0 {
		t.Errorf("tables = %v, want none", cfg.Export.Tables)
	}
}

func TestJitterDefaultsToATenthOfTheInterval(t *testing.T) {
	cfg := mustDecode(t, func(m map[string]any) { set(m, "export.interval", "20m") })
	if cfg.Export.Jitter != 2*time.Minute {
		t.Errorf("jitter = %s, want 2m", cfg.Export.Jitter)
	}
}

func TestExportDisabledNeedsNoCluster(t *testing.T) {
	cfg, err := FromSettings([]byte(`{"archive":{"path":"/a"},"export":{"enabled":false}}`), nil)
	if err != nil {
		t.Fatalf("FromSettings: %v", err)
	}
	if cfg.Export.Enabled {
		t.Errorf("export.enabled false was decoded as true")
	}
}

func TestNullCountsAsAbsent(t *testing.T) {
	cfg := mustDecode(t, func(m map[string]any) {
		set(m, "export.enabled", nil)
		set(m, "query", nil)
		set(m, "clusters.0.port", nil)
	})
	if !cfg.Export.Enabled || cfg.Query.MaxRows != DefaultMaxRows || cfg.Clusters[0].Port != DefaultPort {
		t.Errorf("null fields did not take defaults: %v", cfg)
	}
}

// Grafana expands `port: $PORT` in a provisioning file into the string "5439"; such settings
// must decode as Grafana hands them over.
func TestNumbersAndBooleansWrittenAsStringsAreAccepted(t *testing.T) {
	cfg := mustDecode(t, func(m map[string]any) {
		set(m, "clusters.0.port", "5440")
		set(m, "export.concurrency", " 8 ")
		set(m, "export.enabled", "false")
		set(m, "query.maxRows", "500")
		set(m, "query.memoryLimitMB", "2048")
		set(m, "query.workers", "2")
	})
	if cfg.Clusters[0].Port != 5440 || cfg.Export.Concurrency != 8 || cfg.Export.Enabled || cfg.Query.MaxRows != 500 ||
		cfg.Query.MemoryLimitMB != 2048 || cfg.Query.Workers != 2 {
		t.Errorf("string-typed values decoded wrongly: %v", cfg)
	}
}

func TestEmptyJSONDataReportsTheMissingArchivePath(t *testing.T) {
	for _, raw := range []string{"", "  ", "null", "{}"} {
		_, err := FromSettings([]byte(raw), nil)
		if err == nil || !strings.Contains(err.Error(), "jsonData.archive.path: required") {
			t.Errorf("jsonData %q: err = %v, want archive.path required", raw, err)
		}
	}
}

func TestMalformedConfigurationNamesTheField(t *testing.T) {
	pw := map[string]string{"password.prod-east": secretValue}
	cases := []struct {
		name   string
		mutate func(map[string]any)
		secure map[string]string // default pw
		field  string
		msg    string
	}{
		{"unknown top-level field", func(m map[string]any) { m["clusterz"] = []any{} }, nil,
			"jsonData.clusterz", `unknown field (did you mean "clusters"?)`},
		{"misspelt export field", func(m map[string]any) { set(m, "export.intervall", "5m") }, nil,
			"jsonData.export.intervall", `unknown field (did you mean "interval"?)`},
		{"unknown cluster field", func(m map[string]any) { set(m, "clusters.0.password", secretValue) }, nil,
			"jsonData.clusters[0].password", "unknown field (passwords belong in secureJsonData, as password.<cluster name>)"},
		{"unknown custom query field", func(m map[string]any) { m["customQueries"] = []any{bigOrders(map[string]any{"partition": "x"})} }, nil,
			"jsonData.customQueries[0].partition", "unknown field"},
		{"wrong case of a key", func(m map[string]any) { set(m, "query.MaxRows", 5) }, nil,
			"jsonData.query.MaxRows", `did you mean "maxRows"?`},
		{"archive path missing", func(m map[string]any) { delete(m, "archive") }, nil,
			"jsonData.archive.path", "required"},
		{"archive on S3 not yet", func(m map[string]any) { set(m, "archive.path", "s3://bucket/x") }, nil,
			"jsonData.archive.path", "must be a local directory"},
		{"archive path not a string", func(m map[string]any) { set(m, "archive.path", 7) }, nil,
			"jsonData.archive.path", "must be a string, got 7"},
		{"export not an object", func(m map[string]any) { m["export"] = "yes" }, nil,
			"jsonData.export", `must be an object, got "yes"`},
		{"interval not a duration", func(m map[string]any) { set(m, "export.interval", "5 minutes") }, nil,
			"jsonData.export.interval", `"5 minutes" is not a duration (e.g. "5m")`},
		{"interval as a number", func(m map[string]any) { set(m, "export.interval", 300) }, nil,
			"jsonData.export.interval", `must be a duration string (e.g. "5m"), got 300`},
		{"interval below a second", func(m map[string]any) { set(m, "export.interval", "500ms") }, nil,
			"jsonData.export.interval", "must be at least 1s, got 500ms"},
		{"negative lag", func(m map[string]any) { set(m, "export.lag", "-1m") }, nil,
			"jsonData.export.lag", "got -1m0s"},
		{"lag of a day", func(m map[string]any) { set(m, "export.lag", "24h") }, nil,
			"jsonData.export.lag", "less than 24h"},
		{"jitter as long as the interval", func(m map[string]any) { set(m, "export.jitter", "5m") }, nil,
			"jsonData.export.jitter", "less than the interval (5m0s), got 5m0s"},
		{"negative jitter", func(m map[string]any) { set(m, "export.jitter", "-1s") }, nil,
			"jsonData.export.jitter", "got -1s"},
		{"concurrency zero given explicitly", func(m map[string]any) { set(m, "export.concurrency", 0) }, nil,
			"jsonData.export.concurrency", "must be between 1 and 64, got 0"},
		{"concurrency too high", func(m map[string]any) { set(m, "export.concurrency", 65) }, nil,
			"jsonData.export.concurrency", "got 65"},
		{"concurrency fractional", func(m map[string]any) { set(m, "export.concurrency", 2.5) }, nil,
			"jsonData.export.concurrency", "must be an integer, got 2.5"},
		{"export timeout zero", func(m map[string]any) { set(m, "export.timeout", "0s") }, nil,
			"jsonData.export.timeout", "must be positive"},
		{"enabled not a boolean", func(m map[string]any) { set(m, "export.enabled", "maybe") }, nil,
			"jsonData.export.enabled", `must be true or false, got "maybe"`},
		{"unknown table", func(m map[string]any) { set(m, "export.tables", []any{"stl_query", "stl_querys"}) }, nil,
			"jsonData.export.tables[1]", `unknown table "stl_querys"`},
		{"duplicate table", func(m map[string]any) { set(m, "export.tables", []any{"stl_scan", "stl_query", "stl_scan"}) }, nil,
			"jsonData.export.tables[2]", `duplicate of tables[0] "stl_scan"`},
		{"table not a string", func(m map[string]any) { set(m, "export.tables", []any{"stl_scan", 3}) }, nil,
			"jsonData.export.tables[1]", "must be a string, got 3"},
		{"tables not an array", func(m map[string]any) { set(m, "export.tables", "stl_scan") }, nil,
			"jsonData.export.tables", "must be an array"},
		{"nothing to export", func(m map[string]any) { set(m, "export.tables", []any{}) }, nil,
			"jsonData.export.tables", "nothing to export"},
		{"empty query group", func(m map[string]any) { set(m, "export.queryGroup", "") }, nil,
			"jsonData.export.queryGroup", "must not be empty"},
		{"query group with a quote", func(m map[string]any) { set(m, "export.queryGroup", "it's") }, nil,
			"jsonData.export.queryGroup", "must not contain quotes"},
		{"query group too long", func(m map[string]any) { set(m, "export.queryGroup", strings.Repeat("g", 321)) }, nil,
			"jsonData.export.queryGroup", "at most 320 characters, got 321"},
		{"no cluster while exporting", func(m map[string]any) { delete(m, "clusters") }, map[string]string{},
			"jsonData.clusters", "at least one cluster is required"},
		{"cluster name upper case", func(m map[string]any) { set(m, "clusters.0.name", "Prod") }, map[string]string{},
			"jsonData.clusters[0].name", `got "Prod"`},
		{"cluster name missing", func(m map[string]any) { delete(m["clusters"].([]any)[0].(map[string]any), "name") }, map[string]string{},
			"jsonData.clusters[0].name", "required"},
		{"duplicate cluster name", func(m map[string]any) { m["clusters"] = append(m["clusters"].([]any), cluster("prod-east")) }, nil,
			"jsonData.clusters[1].name", `duplicate of clusters[0] "prod-east"`},
		{"host with a scheme", func(m map[string]any) { set(m, "clusters.0.host", "https://x.example.com") }, nil,
			"jsonData.clusters[0].host", "without a scheme"},
		{"host with a path", func(m map[string]any) { set(m, "clusters.0.host", "x.example.com/dev") }, nil,
			"jsonData.clusters[0].host", "without a path"},
		{"host with a space", func(m map[string]any) { set(m, "clusters.0.host", "x example") }, nil,
			"jsonData.clusters[0].host", "must not contain spaces"},
		{"host with a port", func(m map[string]any) { set(m, "clusters.0.host", "x.example.com:5439") }, nil,
			"jsonData.clusters[0].host", "without a port"},
		{"host missing", func(m map[string]any) { set(m, "clusters.0.host", "") }, nil,
			"jsonData.clusters[0].host", "required"},
		{"port out of range", func(m map[string]any) {
			m["clusters"] = append(m["clusters"].([]any), cluster("prod-west"))
			set(m, "clusters.1.port", 70000)
		}, map[string]string{"password.prod-east": secretValue, "password.prod-west": secretValue},
			"jsonData.clusters[1].port", "must be between 1 and 65535, got 70000"},
		{"port not a number", func(m map[string]any) { set(m, "clusters.0.port", "fifty") }, nil,
			"jsonData.clusters[0].port", `must be an integer, got "fifty"`},
		{"empty database", func(m map[string]any) { set(m, "clusters.0.database", "") }, nil,
			"jsonData.clusters[0].database", "required"},
		{"user missing", func(m map[string]any) { delete(m["clusters"].([]any)[0].(map[string]any), "user") }, nil,
			"jsonData.clusters[0].user", "required"},
		{"unknown ssl mode", func(m map[string]any) { set(m, "clusters.0.sslMode", "prefer") }, nil,
			"jsonData.clusters[0].sslMode", `must be one of verify-full, verify-ca, require, disable, got "prefer"`},
		{"password missing", nil, map[string]string{},
			"secureJsonData.password.prod-east", "missing"},
		{"password for an unknown cluster", nil, map[string]string{"password.prod-east": secretValue, "password.prod-eats": secretValue},
			"secureJsonData.password.prod-eats", `no cluster named "prod-eats"`},
		{"unknown secure key", nil, map[string]string{"password.prod-east": secretValue, "apiKey": secretValue},
			"secureJsonData.apiKey", "unknown key"},
		{"custom query named like an STL table", func(m map[string]any) { m["customQueries"] = []any{bigOrders(map[string]any{"name": "stl_scan"})} }, nil,
			"jsonData.customQueries[0].name", `"stl_scan" is an STL table`},
		{"custom query name invalid", func(m map[string]any) { m["customQueries"] = []any{bigOrders(map[string]any{"name": "Big-Orders"})} }, nil,
			"jsonData.customQueries[0].name", `got "Big-Orders"`},
		{"duplicate custom query", func(m map[string]any) { m["customQueries"] = []any{bigOrders(nil), bigOrders(nil)} }, nil,
			"jsonData.customQueries[1].name", `duplicate of customQueries[0] "big_orders"`},
		{"custom query sql empty", func(m map[string]any) { m["customQueries"] = []any{bigOrders(map[string]any{"sql": "  -- nothing\n"})} }, nil,
			"jsonData.customQueries[0].sql", "required"},
		{"custom query not a select", func(m map[string]any) {
			m["customQueries"] = []any{bigOrders(map[string]any{"sql": "DELETE FROM sales.orders"})}
		}, nil,
			"jsonData.customQueries[0].sql", "must start with SELECT or WITH, got DELETE"},
		{"custom query two statements", func(m map[string]any) {
			m["customQueries"] = []any{bigOrders(map[string]any{"sql": "SELECT 1; DROP TABLE sales.orders"})}
		}, nil, "jsonData.customQueries[0].sql", "must be one statement"},
		{"custom query without time column", func(m map[string]any) { m["customQueries"] = []any{bigOrders(map[string]any{"timeColumn": ""})} }, nil,
			"jsonData.customQueries[0].timeColumn", "required"},
		{"custom query time column not an identifier", func(m map[string]any) {
			m["customQueries"] = []any{bigOrders(map[string]any{"timeColumn": "ordered_at desc"})}
		}, nil, "jsonData.customQueries[0].timeColumn", `got "ordered_at desc"`},
		{"custom query key column upper case", func(m map[string]any) {
			m["customQueries"] = []any{bigOrders(map[string]any{"keyColumns": []any{"order_id", "OrderLine"}})}
		}, nil, "jsonData.customQueries[0].keyColumns[1]", "lower-case column name"},
		{"custom query on an unknown cluster", func(m map[string]any) {
			m["customQueries"] = []any{bigOrders(map[string]any{"clusters": []any{"prod-east", "prod-west"}})}
		}, nil, "jsonData.customQueries[0].clusters[1]", `no cluster named "prod-west"`},
		{"unknown query engine", func(m map[string]any) { set(m, "query.engine", "trino") }, nil,
			"jsonData.query.engine", `must be one of duckdb, athena, got "trino"`},
		{"athena engine without an s3 archive", func(m map[string]any) { set(m, "query.engine", "athena") }, nil,
			"jsonData.archive.s3", "required with query.engine athena"},
		{"athena output location not s3", func(m map[string]any) { set(m, "query.athena", map[string]any{"outputLocation": "/tmp/x"}) }, nil,
			"jsonData.query.athena.outputLocation", `must be an s3:// URL, got "/tmp/x"`},
		{"athena database with capitals", func(m map[string]any) { set(m, "query.athena", map[string]any{"database": "STL"}) }, nil,
			"jsonData.query.athena.database", `got "STL"`},
		{"athena result reuse over a week", func(m map[string]any) { set(m, "query.athena", map[string]any{"resultReuse": "200h"}) }, nil,
			"jsonData.query.athena.resultReuse", "must be between 0 and 168h"},
		{"athena unknown field", func(m map[string]any) { set(m, "query.athena", map[string]any{"workgrup": "x"}) }, nil,
			"jsonData.query.athena.workgrup", `did you mean "workgroup"?`},
		{"athena first day not a date", func(m map[string]any) { set(m, "query.athena", map[string]any{"firstDay": "2025-13-01"}) }, nil,
			"jsonData.query.athena.firstDay", `must be a day as YYYY-MM-DD, got "2025-13-01"`},
		{"cache size zero", func(m map[string]any) { set(m, "query.cacheSizeMB", 0) }, nil,
			"jsonData.query.cacheSizeMB", "must be at least 1, got 0"},
		{"cluster auth unknown", func(m map[string]any) { set(m, "clusters.0.auth", "kerberos") }, nil,
			"jsonData.clusters[0].auth", `must be one of password, iam, iam-identity, got "kerberos"`},
		{"db groups without iam", func(m map[string]any) { set(m, "clusters.0.dbGroups", []any{"ops"}) }, nil,
			"jsonData.clusters[0].auth", `dbGroups and autoCreate need auth "iam"`},
		{"root cert with require", func(m map[string]any) {
			set(m, "clusters.0.sslRootCert", "ca.pem")
			set(m, "clusters.0.sslMode", "require")
		}, nil,
			"jsonData.clusters[0].sslRootCert", "is used only with sslMode verify-full or verify-ca"},
		{"ssm prefix with a slash", func(m map[string]any) { set(m, "ssm", map[string]any{"prefix": "a/b"}) }, nil,
			"jsonData.ssm.prefix", `got "a/b"`},
		{"ssm auth unknown", func(m map[string]any) { set(m, "ssm", map[string]any{"auth": "token"}) }, nil,
			"jsonData.ssm.auth", `must be one of password, iam, iam-identity, got "token"`},
		{"ssm sslMode unknown", func(m map[string]any) { set(m, "ssm", map[string]any{"sslMode": "on"}) }, nil,
			"jsonData.ssm.sslMode", `must be one of verify-full, verify-ca, require, disable, got "on"`},
		{"aws endpoint not a URL", func(m map[string]any) { set(m, "aws.endpoints", map[string]any{"ssm": "localhost:1"}) }, nil,
			"jsonData.aws.endpoints.ssm", "must be an http or https URL"},
		{"aws endpoint of an unknown service", func(m map[string]any) { set(m, "aws.endpoints", map[string]any{"kinesis": "http://x"}) }, nil,
			"jsonData.aws.endpoints.kinesis", "unknown field"},
		{"query timeout zero", func(m map[string]any) { set(m, "query.timeout", "0s") }, nil,
			"jsonData.query.timeout", "must be positive"},
		{"max rows zero", func(m map[string]any) { set(m, "query.maxRows", 0) }, nil,
			"jsonData.query.maxRows", "must be at least 1, got 0"},
		{"memory limit too small", func(m map[string]any) { set(m, "query.memoryLimitMB", 16) }, nil,
			"jsonData.query.memoryLimitMB", "must be at least 64, got 16"},
		{"no query workers", func(m map[string]any) { set(m, "query.workers", 0) }, nil,
			"jsonData.query.workers", "must be between 1 and 64, got 0"},
		{"preset without id", func(m map[string]any) { m["presets"] = []any{slowLoads(map[string]any{"id": nil})} }, nil,
			"jsonData.presets[0].id", "required"},
		{"preset id with a dash", func(m map[string]any) { m["presets"] = []any{slowLoads(map[string]any{"id": "slow-loads"})} }, nil,
			"jsonData.presets[0].id", `got "slow-loads"`},
		{"duplicate preset", func(m map[string]any) { m["presets"] = []any{slowLoads(nil), slowLoads(nil)} }, nil,
			"jsonData.presets[1].id", `duplicate of presets[0] "slow_loads"`},
		{"preset format unknown", func(m map[string]any) { m["presets"] = []any{slowLoads(map[string]any{"format": "graph"})} }, nil,
			"jsonData.presets[0].format", `got "graph"`},
		{"preset without sql", func(m map[string]any) { m["presets"] = []any{slowLoads(map[string]any{"sql": map[string]any{}})} }, nil,
			"jsonData.presets[0].sql", "at least one dialect"},
		{"preset sql of an unknown dialect", func(m map[string]any) {
			m["presets"] = []any{slowLoads(map[string]any{"sql": map[string]any{"duckdb": "SELECT 1", "postgres": "SELECT 1"}})}
		}, nil, "jsonData.presets[0].sql.postgres", "unknown field"},
		{"preset column role unknown", func(m map[string]any) {
			m["presets"] = []any{slowLoads(map[string]any{"columns": []any{map[string]any{"name": "time", "role": "x-axis"}}})}
		}, nil, "jsonData.presets[0].columns[0].role", `got "x-axis"`},
		{"preset column duplicate", func(m map[string]any) {
			m["presets"] = []any{slowLoads(map[string]any{"columns": []any{map[string]any{"name": "n", "role": "value"}, map[string]any{"name": "n", "role": "value"}}})}
		}, nil, "jsonData.presets[0].columns[1].name", `duplicate "n"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := validSettings()
			if tc.mutate != nil {
				tc.mutate(m)
			}
			secure := tc.secure
			if secure == nil {
				secure = pw
			}
			raw, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			_, err = FromSettings(raw, secure)
			if err == nil {
				t.Fatalf("no error for %s", raw)
			}
			msg := err.Error()
			if want := tc.field + ": "; !strings.Contains(msg, want) {
				t.Errorf("error does not name %s:\n%s", tc.field, msg)
			}
			if !strings.Contains(msg, tc.msg) {
				t.Errorf("error lacks %q:\n%s", tc.msg, msg)
			}
			if strings.Contains(msg, secretValue) {
				t.Errorf("error shows the secret:\n%s", msg)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Errorf("error is not a *FieldError: %T", err)
			}
		})
	}
}

func TestMalformedJSONIsReportedOnJSONData(t *testing.T) {
	cases := map[string]string{
		`{"archive":`:               "jsonData: invalid JSON",
		`{"archive": {"path": /a}}`: "jsonData: invalid JSON at byte 22",
		`[1, 2]`:                    "jsonData: must be an object, got an array",
		`{} {}`:                     "jsonData: invalid JSON: more than one value",
	}
	for raw, want := range cases {
		_, err := FromSettings([]byte(raw), nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("jsonData %q: err = %v, want %q", raw, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "archive.path") {
			t.Errorf("jsonData %q: unreadable JSON also reported as missing fields:\n%v", raw, err)
		}
	}
}

func TestAllProblemsAreReportedTogether(t *testing.T) {
	m := validSettings()
	set(m, "export.interval", "soon")
	set(m, "export.intervall", "5m")
	set(m, "clusters.0.port", 0)
	set(m, "query.maxRows", -1)
	raw, _ := json.Marshal(m)
	_, err := FromSettings(raw, map[string]string{})
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Fatalf("err = %v, want joined errors", err)
	}
	var fields []string
	for _, e := range joined.Unwrap() {
		var fe *FieldError
		if !errors.As(e, &fe) {
			t.Fatalf("%v is not a *FieldError", e)
		}
		fields = append(fields, fe.Field)
	}
	want := []string{
		"jsonData.export.interval", "jsonData.export.intervall", "secureJsonData.password.prod-east",
		"jsonData.query.maxRows", "jsonData.clusters[0].port",
	}
	if !sameSet(fields, want) {
		t.Errorf("reported fields %v, want %v", fields, want)
	}
}

func TestAFieldThatFailedToDecodeIsReportedOnce(t *testing.T) {
	m := validSettings()
	set(m, "clusters.0.name", 42)
	raw, _ := json.Marshal(m)
	_, err := FromSettings(raw, map[string]string{})
	if n := strings.Count(err.Error(), "jsonData.clusters[0].name:"); n != 1 {
		t.Errorf("clusters[0].name reported %d times:\n%v", n, err)
	}
}

func TestCustomQueryHelpers(t *testing.T) {
	cfg := mustDecode(t, func(m map[string]any) {
		m["customQueries"] = []any{bigOrders(nil), bigOrders(map[string]any{"name": "everywhere", "clusters": nil, "sql": "SELECT 1 AS x, now() AS t;"})}
	})
	onOne, everywhere := cfg.CustomQueries[0], cfg.CustomQueries[1]
	if !onOne.RunsOn("prod-east") || onOne.RunsOn("prod-west") || !everywhere.RunsOn("prod-west") {
		t.Errorf("RunsOn disagrees with the clusters lists")
	}
	tbl := everywhere.Table()
	if tbl.Name != "everywhere" || tbl.SQL != "SELECT 1 AS x, now() AS t" || tbl.TimeColumn != "ordered_at" {
		t.Errorf("Table() = %+v", tbl)
	}
	if c, ok := cfg.Cluster("prod-east"); !ok || c.Host != "prod-east.example.com" {
		t.Errorf("Cluster(prod-east) = %+v, %v", c, ok)
	}
	if _, ok := cfg.Cluster("nope"); ok {
		t.Errorf("Cluster(nope) found")
	}
}

// validSettings is a minimal valid jsonData as a tree the cases edit.
func validSettings() map[string]any {
	return map[string]any{
		"archive":  map[string]any{"path": "/srv/stl-archive"},
		"clusters": []any{cluster("prod-east")},
	}
}

func cluster(name string) map[string]any {
	return map[string]any{"name": name, "host": name + ".example.com", "user": "stl_reader"}
}

func slowLoads(override map[string]any) map[string]any {
	p := map[string]any{
		"id": "slow_loads", "title": "Slow loads", "description": "COPY statements over a minute", "format": "table",
		"sql":     map[string]any{"duckdb": "SELECT cluster, query FROM stl_query WHERE $__timeFilter(endtime) AND querytxt ILIKE 'copy%'"},
		"columns": []any{map[string]any{"name": "cluster", "role": "label"}, map[string]any{"name": "query", "role": "column"}},
	}
	for k, v := range override {
		if v == nil {
			delete(p, k)
			continue
		}
		p[k] = v
	}
	return p
}

func TestPresetsDecodeWithTheirSQLAndColumns(t *testing.T) {
	m := validSettings()
	m["presets"] = []any{slowLoads(nil)}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := FromSettings(raw, map[string]string{"password.prod-east": secretValue})
	if err != nil {
		t.Fatal(err)
	}
	want := []Preset{{
		ID: "slow_loads", Title: "Slow loads", Description: "COPY statements over a minute", Format: "table",
		SQL:     map[string]string{"duckdb": "SELECT cluster, query FROM stl_query WHERE $__timeFilter(endtime) AND querytxt ILIKE 'copy%'"},
		Columns: []PresetColumn{{Name: "cluster", Role: "label"}, {Name: "query", Role: "column"}},
	}}
	if !reflect.DeepEqual(cfg.Presets, want) {
		t.Errorf("presets decoded as\n%#v\nwant\n%#v", cfg.Presets, want)
	}
}

func bigOrders(override map[string]any) map[string]any {
	q := map[string]any{
		"name": "big_orders", "sql": "SELECT order_id, amount, ordered_at FROM sales.orders WHERE amount > 2000",
		"timeColumn": "ordered_at", "keyColumns": []any{"order_id"}, "clusters": []any{"prod-east"},
	}
	for k, v := range override {
		if v == nil {
			delete(q, k)
			continue
		}
		q[k] = v
	}
	return q
}

func mustDecode(t *testing.T, mutate func(map[string]any)) Config {
	t.Helper()
	m := validSettings()
	mutate(m)
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := FromSettings(raw, map[string]string{"password.prod-east": secretValue})
	if err != nil {
		t.Fatalf("FromSettings(%s): %v", raw, err)
	}
	return cfg
}

// set assigns v at a dotted path such as "clusters.0.port", creating objects on the way.
func set(m map[string]any, path string, v any) {
	keys := strings.Split(path, ".")
	var cur any = m
	for i, k := range keys {
		last := i == len(keys)-1
		switch node := cur.(type) {
		case map[string]any:
			if last {
				node[k] = v
				return
			}
			if _, ok := node[k]; !ok {
				node[k] = map[string]any{}
			}
			cur = node[k]
		case []any:
			idx, err := strconv.Atoi(k)
			if err != nil {
				panic(path)
			}
			if last {
				node[idx] = v
				return
			}
			cur = node[idx]
		default:
			panic(path)
		}
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := make(map[string]int)
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		seen[s]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

func TestBlankedPasswordOfARemovedClusterIsIgnored(t *testing.T) {
	// Grafana cannot delete a saved secret, only blank it, so a removed cluster leaves an empty
	// password key behind.
	cfg, err := FromSettings([]byte(`{"archive":{"path":"a"},"clusters":[{"name":"c1","host":"h","user":"u"}]}`),
		map[string]string{"password.c1": "pw", "password.gone": ""})
	if err != nil {
		t.Fatalf("a blanked leftover password fails the datasource: %v", err)
	}
	if cfg.Clusters[0].Password.Reveal() != "pw" {
		t.Errorf("password of c1 not attached")
	}
}
