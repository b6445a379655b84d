package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/stlarchive/redshift-stl-archive/pkg/awsx"
	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/pgtest"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/plugintest"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/simtest"
)

// secretForms are the ways a secret can leak besides verbatim: URL-encoded (connection
// strings, query strings), JSON-escaped, hex, and base64 (standard and URL alphabets) at each of
// the three alignments it can have inside a longer base64 text.
func secretForms(s string) map[string]string {
	forms := map[string]string{
		"verbatim":      s,
		"query-escaped": url.QueryEscape(s),
		"path-escaped":  url.PathEscape(s),
		"user-escaped":  url.UserPassword("u", s).String(),
		"hex":           hex.EncodeToString([]byte(s)),
	}
	if j, err := json.Marshal(s); err == nil {
		forms["json"] = string(j[1 : len(j)-1])
	}
	forms["user-escaped"] = strings.TrimPrefix(forms["user-escaped"], "u:")
	for k := range 3 {
		b := append(make([]byte, k), s...)
		enc := base64.StdEncoding.EncodeToString(b)
		// Only whole groups of three secret bytes encode the same whatever surrounds them.
		from := 0
		if k > 0 {
			from = 4
		}
		to := 4 * (len(b) / 3)
		if to-from >= 8 {
			forms[fmt.Sprintf("base64@%d", k)] = enc[from:to]
			forms[fmt.Sprintf("base64url@%d", k)] = strings.NewReplacer("+", "-", "/", "_").Replace(enc[from:to])
		}
	}
	return forms
}

// leaks names the secrets, and the form, that occur in b. It never returns the secrets.
func leaks(secrets map[string]string, b []byte) []string {
	var out []string
	for name, s := range secrets {
		for form, v := range secretForms(s) {
			if bytes.Contains(b, []byte(v)) {
				out = append(out, name+" ("+form+")")
			}
		}
	}
	sort.Strings(out)
	return out
}

// transcript collects everything a run showed or stored, by source.
type transcript struct {
	parts map[string][]byte
}

func (tr *transcript) add(name string, b []byte) {
	if tr.parts == nil {
		tr.parts = map[string][]byte{}
	}
	tr.parts[name] = append(tr.parts[name], b...)
}

func (tr *transcript) cli(name string, r run) {
	tr.add(name+" stdout", []byte(r.stdout))
	tr.add(name+" stderr", []byte(r.stderr))
}

// logCapture is the test as the plugin host sees it, keeping the plugin's log lines.
type logCapture struct {
	testing.TB
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *logCapture) Logf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(&c.buf, format, args...)
	c.buf.WriteByte('\n')
}

func (c *logCapture) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.buf.Bytes())
}

// readerRole creates a login role with a password on the cluster's server, allowed to read the
// cluster's STL tables, as an operator creates the exporter's user on Redshift.
func readerRole(t *testing.T, c *simtest.Cluster, password string) string {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("stl_reader_%d_%s", os.Getpid(), strings.ReplaceAll(c.Cfg.Name, "-", "_"))
	stmts := []string{
		fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", name, strings.ReplaceAll(password, "'", "''")),
		"GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + name,
	}
	for _, s := range stmts {
		if _, err := c.Conn.Exec(ctx, s); err != nil {
			t.Fatalf("create the reader role: %v", err)
		}
	}
	// The role lives as long as the test server, which is thrown away with its files.
	return name
}

// TestNoSecretAppearsInAnyOutputOfAFullRun runs every command of the CLI, and the plugin binary,
// on the AWS deployment with distinctive secrets, through their error paths too (a wrong
// password, an unreachable cluster, a wrong AWS secret key, a failing query), and looks for the
// secrets in every output and in everything the run stored: stdout and stderr, the objects and
// files of the S3 server, the DynamoDB state, the plugin's responses and log.
func TestNoSecretAppearsInAnyOutputOfAFullRun(t *testing.T) {
	const (
		accessKey      = "AKIASTLQ7ZK4R2WXVN3M"
		secretKey      = "wJx7/STLsecretQ+9kZr2Lm/4vTq8NbYc+Hs3Fp"
		wrongSecretKey = "Zq4+STLwrongSecret/Ue8Ka1Lr+Wm5Tp/Gh2Xn"
		goodPassword   = "pw-Good@Quokka/7+Zebra%3A#Lynx"
		wrongPassword  = "pw-Wrong@Marmot/9+Heron%2F#Ibex"
		downPassword   = "pw-Down@Okapi/4+Tapir%40#Dingo"
	)
	secrets := map[string]string{
		"AWS secret key":              secretKey,
		"wrong AWS secret key":        wrongSecretKey,
		"password of sec-good":        goodPassword,
		"password of sec-wrongpw":     wrongPassword,
		"password of sec-unreachable": downPassword,
		// The access key id is not secret, but only its first 8 characters are shown by
		// design (awsx.Settings.String); the whole id has no reason to appear.
		"AWS access key id": accessKey,
	}
	// The scan itself must find a secret in any of its forms, wherever it sits in the text.
	for i, probe := range []string{"x" + url.QueryEscape(goodPassword) + "y",
		base64.StdEncoding.EncodeToString([]byte("ab" + secretKey + "cd"))} {
		if len(leaks(secrets, []byte(probe))) == 0 {
			t.Fatalf("the scan misses probe %d", i)
		}
	}

	b := newAWSArchive(t, accessKey, secretKey)
	good := simtest.New(t, "sec-good", 2)
	role := readerRole(t, good, goodPassword)
	last := good.History(t, 10*time.Minute)
	down, err := pgtest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	clusters := []cliCluster{
		{name: "sec-good", host: good.Cfg.Host, port: good.Cfg.Port, database: good.Cfg.Database, user: role, passwordEnv: "STLARCHIVE_TEST_PW_GOOD"},
		{name: "sec-wrongpw", host: good.Cfg.Host, port: good.Cfg.Port, database: good.Cfg.Database, user: role, passwordEnv: "STLARCHIVE_TEST_PW_WRONG"},
		{name: "sec-unreachable", host: "127.0.0.1", port: down, database: "dev", user: role, passwordEnv: "STLARCHIVE_TEST_PW_DOWN"},
	}
	dir := t.TempDir()
	cfgPath := b.writeConfig(t, dir, clusters...)
	env := append(b.env(), "STLARCHIVE_TEST_PW_GOOD="+goodPassword, "STLARCHIVE_TEST_PW_WRONG="+wrongPassword,
		"STLARCHIVE_TEST_PW_DOWN="+downPassword)
	wrongKeyEnv := append(append([]string{}, env...), secretKeyEnv+"="+wrongSecretKey)
	simtest.WaitPastLag(t, good, last)

	var tr transcript
	cli := func(name string, env []string, wantCode int, args ...string) run {
		t.Helper()
		r := runCLI(t, env, append(args, "--config", cfgPath)...)
		tr.cli(name, r)
		if r.code != wantCode {
			t.Errorf("%s: exit %d, want %d\n%s", name, r.code, wantCode, r.stderr)
		}
		return r
	}

	r := cli("check before the export", env, 1, "check")
	for _, want := range []string{"writable", "cluster sec-good: reachable", "cluster sec-wrongpw: unreachable",
		"password authentication failed", "cluster sec-unreachable: unreachable"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("check does not say %q:\n%s", want, r.stdout)
		}
	}
	r = cli("check with a wrong AWS secret key", wrongKeyEnv, 1, "check")
	if strings.Contains(r.stdout, ": writable") || !strings.Contains(r.stdout, "SignatureDoesNotMatch") {
		t.Errorf("check does not report the wrong secret key:\n%s", r.stdout)
	}
	cli("export with a wrong AWS secret key", wrongKeyEnv, 1, "export", "--once")
	r = cli("export", env, 1, "export", "--once")
	if !strings.Contains(r.stderr, "2 of 3 clusters failed") {
		t.Errorf("export does not name the failed clusters:\n%s", r.stderr)
	}
	// A kill leaves a pending window, whose redo takes the other path through the exporter. The
	// new rows must be past the lag, or the export has nothing to write and is never killed.
	last = good.Step(t, last)
	simtest.WaitPastLag(t, good, last)
	cli("export killed after a write", append(append([]string{}, env...), "STLARCHIVE_TEST_KILL_AT=written"), -1, "export", "--once")
	time.Sleep(1200 * time.Millisecond)
	cli("export after the kill", env, 1, "export", "--once")
	cli("check after the export", env, 1, "check")
	cli("status", env, 0, "status")
	r = cli("status --json", env, 0, "status", "--json")
	var st []export.TableStatus
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, r.stdout)
	}
	exported, failed := 0, 0
	for _, s := range st {
		if s.Cluster == "sec-good" && s.Rows > 0 {
			exported++
		}
		if s.LastError != "" {
			failed++
		}
	}
	if exported == 0 || failed == 0 {
		t.Errorf("status shows %d exported tables of sec-good and %d failed tables: the run did not take both paths", exported, failed)
	}

	// The query engine reads the local folder; fill it from the bucket as a cache would be.
	keys := b.download(t, filepath.Join(dir, "cache"))
	if len(keys) == 0 {
		t.Fatal("the export wrote no object")
	}
	r = cli("query csv", env, 0, "query", "--preset", "query_volume", "--from", "-1h", "--format", "csv", "--verbose")
	if strings.Count(r.stdout, "\n") < 2 {
		t.Errorf("query_volume returned no rows:\n%s", r.stdout)
	}
	cli("query json", env, 0, "query", "SELECT cluster, querytxt, label FROM stl_query WHERE $__timeFilter(endtime) LIMIT 50",
		"--from", "-1h", "--format", "json", "--verbose")
	cli("query status", env, 0, "query", "--preset", "export_health", "--from", "-1h", "--format", "json")
	cli("query error", env, 2, "query", "SELECT * FROM no_such_table", "--format", "json", "--verbose")

	// What the run stored: every object as the bucket serves it, every file of the S3 server
	// (objects, metadata, parts of open uploads), and the state items as DynamoDB holds them.
	p := filepath.Join(t.TempDir(), "object")
	for _, key := range keys {
		b.s3.Get(t, b.bucket, key, p)
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		tr.add("object "+key, raw)
	}
	for _, p := range b.s3.Files(t) {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		tr.add("S3 server file "+filepath.Base(p), raw)
	}
	items := scanTable(t, b)
	if !bytes.Contains(items, []byte("password authentication failed")) {
		t.Errorf("the state items do not hold the last errors; the scan of them proves little:\n%.2000s", items)
	}
	tr.add("DynamoDB items", items)

	pluginRun(t, &tr, b, filepath.Join(dir, "cache"), clusters, map[string]string{
		"password.sec-good": goodPassword, "password.sec-wrongpw": wrongPassword, "password.sec-unreachable": downPassword,
		"accessKey": accessKey, "secretKey": secretKey,
	})

	names := make([]string, 0, len(tr.parts))
	total := 0
	for name, raw := range tr.parts {
		names = append(names, name)
		total += len(raw)
		if found := leaks(secrets, raw); len(found) > 0 {
			t.Errorf("%s shows %s", name, strings.Join(found, ", "))
		}
	}
	prefix := accessKey[:8]
	var showsPrefix []string
	for name, raw := range tr.parts {
		if bytes.Contains(raw, []byte(prefix)) {
			showsPrefix = append(showsPrefix, name)
		}
	}
	sort.Strings(names)
	t.Logf("scanned %d sources, %d bytes, for %d secrets in %d forms each; the access key's first 8 characters appear in %d of them %v",
		len(names), total, len(secrets), len(secretForms(secretKey)), len(showsPrefix), showsPrefix)
}

// scanTable reads every item of the state table, as DynamoDB stores them.
func scanTable(t *testing.T, b *awsArchive) []byte {
	t.Helper()
	cfg, err := awsx.Load(context.Background(), b.dyn.Settings())
	if err != nil {
		t.Fatal(err)
	}
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(b.dyn.Endpoint) })
	var out bytes.Buffer
	p := dynamodb.NewScanPaginator(client, &dynamodb.ScanInput{TableName: &b.table})
	items := 0
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range page.Items {
			writeAttribute(&out, &types.AttributeValueMemberM{Value: item})
			out.WriteByte('\n')
			items++
		}
	}
	if items == 0 {
		t.Fatal("the state table is empty")
	}
	return out.Bytes()
}

// writeAttribute writes the value an item attribute holds, whatever its type.
func writeAttribute(w *bytes.Buffer, v types.AttributeValue) {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		w.WriteString(v.Value)
	case *types.AttributeValueMemberN:
		w.WriteString(v.Value)
	case *types.AttributeValueMemberB:
		w.Write(v.Value)
	case *types.AttributeValueMemberBOOL:
		fmt.Fprint(w, v.Value)
	case *types.AttributeValueMemberNULL:
		w.WriteString("null")
	case *types.AttributeValueMemberSS:
		w.WriteString(strings.Join(v.Value, " "))
	case *types.AttributeValueMemberNS:
		w.WriteString(strings.Join(v.Value, " "))
	case *types.AttributeValueMemberBS:
		w.Write(bytes.Join(v.Value, []byte(" ")))
	case *types.AttributeValueMemberL:
		for _, e := range v.Value {
			writeAttribute(w, e)
			w.WriteByte(' ')
		}
	case *types.AttributeValueMemberM:
		for k, e := range v.Value {
			w.WriteString(k + "=")
			writeAttribute(w, e)
			w.WriteByte(' ')
		}
	default:
		fmt.Fprintf(w, "<attribute of type %T>", v)
	}
}

// pluginRun asks the plugin binary, launched as Grafana launches it, for its health and for
// queries with the same settings, while its exporter runs in the background, and adds the
// answers and the plugin's log to the transcript.
func pluginRun(t *testing.T, tr *transcript, b *awsArchive, cache string, clusters []cliCluster, secure map[string]string) {
	t.Helper()
	type cl struct {
		Name     string `json:"name"`
		Host     string `json:"host"`
		Port     int    `json:"port"`
		Database string `json:"database"`
		User     string `json:"user"`
		SSLMode  string `json:"sslMode"`
	}
	var list []cl
	for _, c := range clusters {
		list = append(list, cl{c.name, c.host, c.port, c.database, c.user, "disable"})
	}
	jsonData, err := json.Marshal(map[string]any{
		"archive": map[string]any{"path": cache, "s3": map[string]any{"bucket": b.bucket, "prefix": awsPrefix,
			"endpoint": b.writes.Endpoint, "pathStyle": true}},
		"state":    map[string]any{"dynamodb": map[string]any{"table": b.table, "endpoint": b.dyn.Endpoint}},
		"aws":      map[string]any{"authType": "keys", "region": "us-east-1"},
		"export":   map[string]any{"enabled": true, "interval": "1s", "lag": simtest.Lag.String(), "lease": "2s"},
		"clusters": list,
	})
	if err != nil {
		t.Fatal(err)
	}
	settings := plugintest.Settings{UID: "secrets", JSONData: jsonData, Secure: secure, Updated: time.Now().UnixMilli()}
	logs := &logCapture{TB: t}
	host := plugintest.Start(logs, plugintest.Binary(t))
	ctx := context.Background()
	health := func(name string) *backend.CheckHealthResult {
		res, err := host.CheckHealth(ctx, settings)
		if err != nil {
			t.Fatal(err)
		}
		tr.add(name, []byte(res.Message))
		tr.add(name, res.JSONDetails)
		return res
	}
	res := health("plugin CheckHealth")
	if res.Status != backend.HealthStatusError || !strings.Contains(res.Message, "password authentication failed") {
		t.Errorf("plugin health %v does not report the wrong password:\n%s", res.Status, res.Message)
	}
	// The instance's exporter runs in the background: wait until it has failed on the cluster
	// with the wrong password and said so in the log, which the transcript then holds.
	failed := regexp.MustCompile(`export failed.*sec-wrongpw`)
	waitUntil(t, 2*time.Minute, "the plugin's exporter logs its failure on sec-wrongpw", func() bool {
		return failed.Match(logs.bytes())
	})
	health("plugin CheckHealth after export cycles")

	now := time.Now()
	tRange := backend.TimeRange{From: now.Add(-time.Hour), To: now}
	var queries []backend.DataQuery
	for i, model := range []string{
		`{"queryType":"diagnostics","preset":"query_volume"}`,
		`{"queryType":"diagnostics","preset":"top_queries"}`,
		`{"queryType":"sql","rawSql":"SELECT cluster, querytxt FROM stl_query WHERE $__timeFilter(endtime) LIMIT 20","format":"table"}`,
		`{"queryType":"status"}`,
		`{"queryType":"sql","rawSql":"SELECT * FROM no_such_table"}`,
	} {
		queries = append(queries, backend.DataQuery{RefID: string(rune('A' + i)), JSON: []byte(model),
			TimeRange: tRange, Interval: time.Minute, MaxDataPoints: 300})
	}
	resp, err := host.QueryData(ctx, settings, nil, queries...)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	tr.add("plugin QueryData", raw)
	if r := resp.Responses["A"]; r.Error != nil || len(r.Frames) == 0 {
		t.Errorf("plugin query_volume: %v, %d frames", r.Error, len(r.Frames))
	}
	if r := resp.Responses["E"]; r.Error == nil {
		t.Error("plugin: a query of a missing table did not fail")
	}
	tr.add("plugin log", logs.bytes())
	if !bytes.Contains(logs.bytes(), []byte("sec-wrongpw")) {
		t.Errorf("the plugin's log does not show the failing cluster; the scan of it proves little:\n%s", logs.bytes())
	}
}
