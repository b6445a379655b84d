package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stlarchive/redshift-stl-archive/pkg/awsx"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/state"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/awstest"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/pgtest"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/simtest"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

const awsPrefix = "stl/"

// awsArchive is a bucket on a local S3 server, reached through a recorder of object writes,
// and a state table on a local DynamoDB server: what the CLI's provisioning file points at in
// the AWS deployment.
type awsArchive struct {
	s3     *awstest.S3Server
	writes *awstest.S3Writes
	dyn    *awstest.DynamoDBServer
	bucket string
	table  string
	// exportTables, when set, are the tables the provisioning file exports (export.tables).
	exportTables []string
}

func newAWSArchive(t *testing.T, accessKey, secretKey string) *awsArchive {
	t.Helper()
	s := awstest.StartS3WithKeys(t, accessKey, secretKey)
	d := awstest.StartDynamoDB(t)
	return &awsArchive{
		s3:     s,
		writes: awstest.RecordS3Writes(t, s.Endpoint),
		dyn:    d,
		bucket: s.Bucket(t),
		table:  awstest.Table("stlarchive_cli"),
	}
}

// cliCluster is a cluster of the provisioning file and the variable its password comes from.
type cliCluster struct {
	name, host, database, user string
	port                       int
	passwordEnv                string
}

func simCluster(c *simtest.Cluster, passwordEnv string) cliCluster {
	return cliCluster{name: c.Cfg.Name, host: c.Cfg.Host, port: c.Cfg.Port, database: c.Cfg.Database,
		user: c.Cfg.User, passwordEnv: passwordEnv}
}

// Variables the provisioning file takes the AWS keys from, as a deployment passes secrets.
const (
	accessKeyEnv = "STLARCHIVE_TEST_AWS_ACCESS_KEY"
	secretKeyEnv = "STLARCHIVE_TEST_AWS_SECRET_KEY"
)

// env is the environment that gives the CLI the server's keys.
func (b *awsArchive) env() []string {
	return []string{accessKeyEnv + "=" + b.s3.AccessKey, secretKeyEnv + "=" + b.s3.SecretKey}
}

// writeConfig writes a datasource provisioning file of the AWS deployment: the archive in the
// bucket (path style, through the write recorder), the state in DynamoDB, static keys, and a
// local folder "cache" for the query engine.
func (b *awsArchive) writeConfig(t *testing.T, dir string, clusters ...cliCluster) string {
	t.Helper()
	only := ""
	if len(b.exportTables) > 0 {
		only = ", tables: [" + strings.Join(b.exportTables, ", ") + "]"
	}
	var w strings.Builder
	fmt.Fprintf(&w, `apiVersion: 1
datasources:
  - name: archive
    type: stlarchive-redshift-datasource
    jsonData:
      archive:
        path: cache
        s3: {bucket: %s, prefix: %s, endpoint: "%s", pathStyle: true, region: %s}
      state:
        dynamodb: {table: %s, endpoint: "%s", region: %s, create: true}
      aws: {authType: keys, region: %s}
      export: {interval: 1s, lag: %s, concurrency: 2, lease: 1s%s}
      clusters:
`, b.bucket, awsPrefix, b.writes.Endpoint, awstest.Region, b.table, b.dyn.Endpoint, awstest.Region, awstest.Region, simtest.Lag, only)
	for _, c := range clusters {
		fmt.Fprintf(&w, "        - {name: %s, host: %s, port: %d, database: %s, user: %s, sslMode: disable}\n",
			c.name, c.host, c.port, c.database, c.user)
	}
	fmt.Fprintf(&w, "    secureJsonData:\n      accessKey: $%s\n      secretKey: $%s\n", accessKeyEnv, secretKeyEnv)
	for _, c := range clusters {
		fmt.Fprintf(&w, "      password.%s: $%s\n", c.name, c.passwordEnv)
	}
	path := filepath.Join(dir, "datasource.yaml")
	if err := os.WriteFile(path, []byte(w.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// store opens the state table as one more process would.
func (b *awsArchive) store(t *testing.T) state.Store {
	t.Helper()
	cfg, err := awsx.Load(context.Background(), b.dyn.Settings())
	if err != nil {
		t.Fatal(err)
	}
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(b.dyn.Endpoint) })
	s, err := state.OpenDynamo(context.Background(), client, state.DynamoOptions{Table: b.table, Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// pending lists the windows the state holds as pending.
func (b *awsArchive) pending(t *testing.T) []state.Progress {
	t.Helper()
	list, err := b.store(t).List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []state.Progress
	for _, p := range list {
		if p.Pending != nil {
			out = append(out, p)
		}
	}
	return out
}

var awsKeyRe = regexp.MustCompile(`^` + regexp.QuoteMeta(awsPrefix) + `([a-z_]+)/cluster=([a-z0-9_-]+)/day=\d{4}-\d{2}-\d{2}/(\d{8}T\d{6}\.\d{6})_(\d{8}T\d{6}\.\d{6})\.parquet$`)

// download copies the archive out of the bucket into root, keys under the prefix becoming
// paths under root, after checking that every key follows the layout. It returns the keys.
func (b *awsArchive) download(t *testing.T, root string) []string {
	t.Helper()
	return b.s3.DownloadArchive(t, b.bucket, awsPrefix, root)
}

// versions counts the versions the server keeps of each key. Without versioning on the bucket
// every key has one; with it, an overwrite shows as a second version.
func (b *awsArchive) versions(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	p := s3.NewListObjectVersionsPaginator(b.s3.Client(t), &s3.ListObjectVersionsInput{Bucket: &b.bucket})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Versions {
			out[aws.ToString(v.Key)]++
		}
	}
	return out
}

// openUploads counts the multipart uploads started and neither completed nor aborted.
func (b *awsArchive) openUploads(t *testing.T) int {
	t.Helper()
	n := 0
	in := &s3.ListMultipartUploadsInput{Bucket: &b.bucket}
	for {
		out, err := b.s3.Client(t).ListMultipartUploads(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		n += len(out.Uploads)
		if !aws.ToBool(out.IsTruncated) {
			return n
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
}

// assertWindowsDisjoint checks that the objects of each table and cluster hold disjoint
// windows: a window planned twice (a redo that chose new bounds) would show as an overlap,
// even if its objects have different keys.
func assertWindowsDisjoint(t *testing.T, keys []string) {
	t.Helper()
	type window struct{ lo, hi, key string }
	byTable := map[string][]window{}
	for _, key := range keys {
		m := awsKeyRe.FindStringSubmatch(key)
		byTable[m[1]+"/"+m[2]] = append(byTable[m[1]+"/"+m[2]], window{m[3], m[4], key})
	}
	for tc, ws := range byTable {
		// The stamps sort as text in time order.
		sort.Slice(ws, func(i, j int) bool { return ws[i].lo < ws[j].lo })
		for i := 1; i < len(ws); i++ {
			if ws[i].lo < ws[i-1].hi {
				t.Errorf("%s: windows overlap: %s and %s", tc, ws[i-1].key, ws[i].key)
			}
		}
	}
}

// TestKillAtEveryProtocolStepOnS3AndDynamoDBLosesAndDuplicatesNothing is the CLI kill test of
// the AWS deployment: the provisioning file puts the archive in a bucket and the state in
// DynamoDB, and the compiled exporter dies by SIGKILL at each protocol step while the clusters
// keep working. After restarts every table equals its source, and no object reached the bucket
// more often than the kills explain.
func TestKillAtEveryProtocolStepOnS3AndDynamoDBLosesAndDuplicatesNothing(t *testing.T) {
	b := newAWSArchive(t, awstest.AccessKey, awstest.SecretKey)
	a := simtest.New(t, "awskill-a", 3)
	c := simtest.New(t, "awskill-b", 3)
	dir := t.TempDir()
	cfgPath := b.writeConfig(t, dir, simCluster(a, "STLARCHIVE_TEST_PASSWORD"), simCluster(c, "STLARCHIVE_TEST_PASSWORD"))
	a.History(t, 30*time.Minute)
	c.History(t, 30*time.Minute)
	stopA, stopC := a.Run(t), c.Run(t)

	// redoable counts, per object key, the kills after which its window was still pending: each
	// may have left a complete object that the redo writes again under the same key.
	redoable := map[string]int{}
	steps := []struct {
		at          string
		wantPending bool
	}{
		{"pending", true},
		{"writing", true},
		{"written", true},
		{"committed", false},
		{"writing:stl_querytext", true},
		{"pending:stl_scan", true},
		{"written:stl_wlm_query", true},
		{"committed:stl_explain", false},
	}
	for _, s := range steps {
		r := runCLI(t, append(b.env(), "STLARCHIVE_TEST_KILL_AT="+s.at), "export", "--once", "--config", cfgPath)
		if r.signal != syscall.SIGKILL {
			t.Fatalf("kill at %s: the exporter was not killed (exit %d)\n%s", s.at, r.code, r.stderr)
		}
		pending := b.pending(t)
		if s.wantPending && len(pending) == 0 {
			t.Errorf("kill at %s: no pending window left to redo", s.at)
		}
		for _, p := range pending {
			redoable[awsPrefix+tables.ObjectKey(p.Table, p.Cluster, p.Pending.Lo, p.Pending.Hi)]++
		}
		t.Logf("killed at %s: %d pending window(s), %d object write(s) so far", s.at, len(pending), sum(b.writes.Counts()))
		// The killed exporter's lease expires before the next one starts.
		time.Sleep(1200 * time.Millisecond)
	}
	if r := runCLI(t, b.env(), "export", "--once", "--config", cfgPath); r.code != 0 {
		t.Fatalf("export after the kills: exit %d\n%s", r.code, r.stderr)
	}
	if p := b.pending(t); len(p) != 0 {
		t.Errorf("a clean run left pending windows: %v", p)
	}
	stopA()
	stopC()
	simtest.WaitPastLag(t, a, a.SourceNow(t))
	simtest.WaitPastLag(t, c, c.SourceNow(t))
	if r := runCLI(t, b.env(), "export", "--once", "--config", cfgPath); r.code != 0 {
		t.Fatalf("final export: exit %d\n%s", r.code, r.stderr)
	}

	root := t.TempDir()
	keys := b.download(t, root)
	store := b.store(t)
	for _, sc := range []*simtest.Cluster{a, c} {
		simtest.AssertArchiveEqualsSource(t, root, store, sc)
	}
	assertWindowsDisjoint(t, keys)

	// Every object in the bucket reached it once, or once more per kill that left its window
	// pending; the recorder saw no write of an object that is not in the bucket.
	writes := b.writes.Counts()
	inBucket := map[string]bool{}
	rewritten := 0
	for _, key := range keys {
		inBucket[key] = true
		full := b.bucket + "/" + key
		n := writes[full]
		switch {
		case n == 0:
			t.Errorf("object %s is in the bucket but no write of it was recorded", key)
		case n > 1+redoable[key]:
			t.Errorf("object %s written %d times; its window was pending after %d kill(s)", key, n, redoable[key])
		case n > 1:
			rewritten++
		}
	}
	for full, n := range writes {
		if key := strings.TrimPrefix(full, b.bucket+"/"); !inBucket[key] {
			t.Errorf("%d write(s) of %s, which is not in the bucket", n, key)
		}
	}
	for key, n := range b.versions(t) {
		if n != 1 {
			t.Errorf("the server keeps %d versions of %s", n, key)
		}
	}
	// A killed exporter may leave a multipart upload open (an object larger than one part, cut
	// off before CompleteMultipartUpload): invisible to readers, removed on AWS by the
	// AbortIncompleteMultipartUpload lifecycle rule.
	t.Logf("%d objects, %d object writes; %d object(s) written again by the redo of a window killed after its write; "+
		"%d window(s) pending after a kill in all; %d multipart upload(s) left open",
		len(keys), sum(writes), rewritten, sum(redoable), b.openUploads(t))
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// objects lists the keys the bucket serves.
func (b *awsArchive) objects(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	p := s3.NewListObjectsV2Paginator(b.s3.Client(t), &s3.ListObjectsV2Input{Bucket: &b.bucket})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			out[aws.ToString(o.Key)] = true
		}
	}
	return out
}

// uploadKeys lists the keys of the multipart uploads left open.
func (b *awsArchive) uploadKeys(t *testing.T) []string {
	t.Helper()
	out, err := b.s3.Client(t).ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: &b.bucket})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, u := range out.Uploads {
		keys = append(keys, aws.ToString(u.Key))
	}
	return keys
}

// TestSIGKILLDuringAMultipartUploadLeavesItOpenAndInvisible kills the exporter process while
// the S3 server is receiving the parts of an object larger than one part (8 MiB). The object
// does not appear under its key; the upload stays open on the server, where an
// AbortIncompleteMultipartUpload lifecycle rule removes it on AWS; the window stays pending, and
// the next run writes the object once and the archive equals the source.
//
// Neither the clock nor the machine's speed decides whether the condition arises: the history
// lies within one past day, so the first window of each table holds all of it, and it is large
// enough (some 27,000 queries: stl_querytext alone is about 11 MiB of Parquet) for an object of
// two parts; the recorder holds the second part of any upload, so the exporter is killed after
// the server accepted the first part and before the upload can complete.
func TestSIGKILLDuringAMultipartUploadLeavesItOpenAndInvisible(t *testing.T) {
	b := newAWSArchive(t, awstest.AccessKey, awstest.SecretKey)
	// stl_querytext is the object of two parts; stl_query is its parent, which it is read
	// joined to. The other tables' objects are single PutObjects, which the kill test covers.
	b.exportTables = []string{"stl_query", "stl_querytext"}
	c := simtest.New(t, "awsmpu", 30)
	from := time.Now().UTC().Truncate(24 * time.Hour).Add(-12 * time.Hour) // yesterday noon
	if _, err := c.Work.Backfill(context.Background(), c.Conn, from, from.Add(15*time.Minute)); err != nil {
		t.Fatal(err)
	}
	cfgPath := b.writeConfig(t, t.TempDir(), simCluster(c, "STLARCHIVE_TEST_PASSWORD"))
	hold := b.writes.HoldPart(2)

	cmd := exec.Command(buildCLI(t), "export", "--once", "--config", cfgPath)
	cmd.Env = append(append(os.Environ(), "STLARCHIVE_TEST_PASSWORD="+pgtest.Password), b.env()...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// The condition the test needs: the second part of an upload is held, so the upload is
	// open, and its first part was accepted. The deadline only bounds a hung run.
	deadline := time.After(5 * time.Minute)
	select {
	case err := <-exited:
		t.Fatalf("the export ended (%v) without uploading a second part: no object larger than one part\n%s", err, stderr.String())
	case <-deadline:
		t.Fatalf("no second part within 5 minutes\n%s", stderr.String())
	case <-hold.Reached():
	}
	for b.writes.Parts() == 0 {
		select {
		case err := <-exited:
			t.Fatalf("the export ended (%v) before the server accepted a first part\n%s", err, stderr.String())
		case <-deadline:
			t.Fatalf("the server accepted no first part within 5 minutes\n%s", stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitErr := <-exited
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the exporter was not killed: %v", waitErr)
	}
	hold.Release()

	open := b.uploadKeys(t)
	if len(open) == 0 {
		t.Fatal("no multipart upload open after the kill")
	}
	visible := b.objects(t)
	for _, key := range open {
		if visible[key] {
			t.Errorf("the object of the killed upload %s is visible", key)
		}
	}
	pendingKeys := map[string]bool{}
	for _, p := range b.pending(t) {
		pendingKeys[awsPrefix+tables.ObjectKey(p.Table, p.Cluster, p.Pending.Lo, p.Pending.Hi)] = true
	}
	for _, key := range open {
		if !pendingKeys[key] {
			t.Errorf("the killed upload %s is not the object of a pending window %v", key, pendingKeys)
		}
	}
	t.Logf("killed after %d part(s) reached the server: %d upload(s) open %v, none visible", b.writes.Parts(), len(open), open)

	// The killed exporter's lease expires before the next one starts.
	time.Sleep(1200 * time.Millisecond)
	if r := runCLI(t, b.env(), "export", "--once", "--config", cfgPath); r.code != 0 {
		t.Fatalf("export after the kill: exit %d\n%s", r.code, r.stderr)
	}
	root := t.TempDir()
	keys := b.download(t, root)
	simtest.AssertTablesEqualSource(t, root, b.store(t), c, b.exportTables...)
	writes := b.writes.Counts()
	for _, key := range open {
		if n := writes[b.bucket+"/"+key]; n != 1 {
			t.Errorf("the object of the killed upload %s was written %d times, want once by the redo", key, n)
		}
	}
	after := b.uploadKeys(t)
	t.Logf("after the redo: %d objects; %d multipart upload(s) still open %v (the killed ones; nothing in the product aborts them)",
		len(keys), len(after), after)
}
