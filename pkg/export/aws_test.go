package export_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stlarchive/redshift-stl-archive/pkg/awsx"
	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/state"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/storage"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/awstest"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

const s3Prefix = "stl/"

// awsBackend is a bucket on a local S3 server and a table on a local DynamoDB server.
type awsBackend struct {
	s3     *awstest.S3Server
	dyn    *awstest.DynamoDBServer
	bucket string
	table  string
}

func newAWSBackend(t *testing.T) *awsBackend {
	s := awstest.StartS3(t)
	d := awstest.StartDynamoDB(t)
	return &awsBackend{s3: s, dyn: d, bucket: s.Bucket(t), table: awstest.Table("stlarchive_state")}
}

// configure points a test configuration at the backend, as a datasource would.
func (b *awsBackend) configure(cfg *config.Config) {
	cfg.Archive.S3 = &config.S3Archive{Bucket: b.bucket, Prefix: s3Prefix, Endpoint: b.s3.Endpoint, PathStyle: true}
	cfg.State.Path = ""
	cfg.State.DynamoDB = &config.DynamoDBState{Table: b.table, Endpoint: b.dyn.Endpoint, Create: true}
	cfg.AWS = config.AWS{AuthType: "keys", Region: awstest.Region,
		AccessKey: config.Secret(awstest.AccessKey), SecretKey: config.Secret(awstest.SecretKey)}
}

// store opens the state as one more process would. dynalite checks signatures, not keys.
func (b *awsBackend) store(t *testing.T) state.Store {
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
	return s
}

// archive opens the bucket with few retries, so an outage fails a cycle in seconds.
func (b *awsBackend) archive(t *testing.T) *storage.S3 {
	t.Helper()
	s := b.s3.Settings()
	s.MaxAttempts, s.MaxBackoff = 2, 200*time.Millisecond
	cfg, err := awsx.Load(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(b.s3.Endpoint)
		o.UsePathStyle = true
	})
	a, err := storage.NewS3(client, storage.S3Options{Bucket: b.bucket, Prefix: s3Prefix})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// download copies the archive out of the bucket into a local folder with the same layout and
// checks that every key follows the documented layout.
func (b *awsBackend) download(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	n := len(b.s3.DownloadArchive(t, b.bucket, s3Prefix, root))
	t.Logf("downloaded %d objects from s3://%s/%s", n, b.bucket, s3Prefix)
	return root
}

func TestExportToS3AndDynamoDBEqualsTheSource(t *testing.T) {
	b := newAWSBackend(t)
	c := newSimCluster(t, "aws-east", 2)
	cfg := testConfig(t, t.TempDir(), c.Cfg)
	b.configure(&cfg)
	e := openExporter(t, cfg, export.Options{})
	if _, isS3 := e.Archive().(*storage.S3); !isS3 {
		t.Fatalf("archive is %s, want the S3 archive the configuration names", e.Archive())
	}
	if _, isDynamo := e.Store().(*state.Dynamo); !isDynamo {
		t.Fatalf("state is %T, want the DynamoDB store the configuration names", e.Store())
	}
	if err := e.Archive().CheckWritable(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.History(t, time.Hour)
	stop := c.Run(t)
	for range 3 {
		mustCycle(t, e)
		time.Sleep(500 * time.Millisecond)
	}
	stop()
	waitPastLag(t, c, c.SourceNow(t))
	mustCycle(t, e)
	assertArchiveEqualsSource(t, b.download(t), e.Store(), c)
}

// killable makes an exporter's process "die": from the kill on, every call to the state or the
// archive fails, so it neither renews nor releases its lease, exactly as a killed process.
type killable struct {
	dead atomic.Bool
}

var errKilled = errors.New("process killed")

type killableStore struct {
	state.Store
	k *killable
}

func (s killableStore) Put(ctx context.Context, p *state.Progress) error {
	if s.k.dead.Load() {
		return errKilled
	}
	return s.Store.Put(ctx, p)
}

func (s killableStore) Acquire(ctx context.Context, cluster, owner string, ttl time.Duration) (bool, state.Lease, error) {
	if s.k.dead.Load() {
		return false, state.Lease{}, errKilled
	}
	return s.Store.Acquire(ctx, cluster, owner, ttl)
}

func (s killableStore) Release(ctx context.Context, cluster, owner string) error {
	if s.k.dead.Load() {
		return errKilled
	}
	return s.Store.Release(ctx, cluster, owner)
}

// TestHAOnS3AndDynamoDB runs two exporters on one DynamoDB table and one bucket while the
// simulators write, then kills the one holding a lease in the middle of a window.
func TestHAOnS3AndDynamoDB(t *testing.T) {
	b := newAWSBackend(t)
	sims := []*simCluster{newSimCluster(t, "ha-a", 2), newSimCluster(t, "ha-b", 2)}
	cfg := testConfig(t, t.TempDir(), sims[0].Cfg, sims[1].Cfg)
	cfg.Export.Lease = 3 * time.Second
	base := b.archive(t)
	// One count per replica, over the same bucket.
	archs := []*countingArchive{{Archive: base, commits: map[string]int{}}, {Archive: base, commits: map[string]int{}}}
	kill := &killable{}
	var killedAt atomic.Value // "cluster/table" of the window the kill interrupted
	armed := atomic.Bool{}
	var exps []*export.Exporter
	for i, owner := range []string{"replica-1", "replica-2"} {
		opts := export.Options{Owner: owner}
		var store state.Store = b.store(t)
		if i == 0 {
			store = killableStore{Store: store, k: kill}
			opts.Hook = func(step export.Step, cluster, table string) {
				if step == export.StepWritten && armed.Load() && kill.dead.CompareAndSwap(false, true) {
					killedAt.Store(cluster + "/" + table)
				}
			}
		}
		e, err := export.New(cfg, store, archs[i], opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(e.Close)
		exps = append(exps, e)
	}
	for _, c := range sims {
		c.History(t, time.Hour)
	}
	stops := []func(){sims[0].Run(t), sims[1].Run(t)}

	var skipped atomic.Int64
	cycle := func(es ...*export.Exporter) {
		var wg sync.WaitGroup
		for _, e := range es {
			wg.Go(func() {
				for _, r := range e.Cycle(context.Background()) {
					if r.Skipped {
						skipped.Add(1)
					} else if err := r.Failed(); err != nil && !errors.Is(err, errKilled) && !kill.dead.Load() {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
	}
	for range 10 {
		cycle(exps...)
		time.Sleep(300 * time.Millisecond)
	}
	writes := func() map[string][2]int {
		w := map[string][2]int{}
		for i, a := range archs {
			for key, n := range a.commits {
				c := w[key]
				c[i] = n
				w[key] = c
			}
		}
		return w
	}
	for key, n := range writes() {
		if n[0]+n[1] != 1 {
			t.Errorf("object %s written %d times by replica-1 and %d times by replica-2", key, n[0], n[1])
		}
	}
	t.Logf("10 cycles of 2 exporters: %d objects, each written once; %d cluster cycles skipped for the other's lease", len(writes()), skipped.Load())

	// Kill replica-1 after it wrote an object and before it committed the window.
	armed.Store(true)
	// It writes one once it holds a lease and new rows are past the lag: the simulators keep
	// adding rows, and the other replica's leases expire while it does not cycle.
	armDeadline := time.Now().Add(2 * time.Minute)
	for !kill.dead.Load() {
		if time.Now().After(armDeadline) {
			t.Fatal("replica-1 wrote no object to be killed after within 2 minutes")
		}
		time.Sleep(time.Second)
		cycle(exps[0])
	}
	killTime := time.Now()
	t.Logf("replica-1 killed after writing %v", killedAt.Load())
	// replica-2 takes over once the dead lease expires, and redoes the interrupted window.
	deadline := killTime.Add(2 * time.Minute)
	for {
		res := exps[1].Cycle(context.Background())
		took := true
		for _, r := range res {
			if r.Skipped {
				took = false
			} else if err := r.Failed(); err != nil {
				t.Fatal(err)
			}
		}
		if took {
			t.Logf("lease passed to replica-2 %v after the kill (lease %v)", time.Since(killTime).Round(100*time.Millisecond), cfg.Export.Lease)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("replica-2 never took over the dead replica's lease")
		}
		time.Sleep(500 * time.Millisecond)
	}
	for _, stop := range stops {
		stop()
	}
	for _, c := range sims {
		waitPastLag(t, c, c.SourceNow(t))
	}
	cycle(exps[1])
	// No replica writes an object twice. An object both wrote is a window the dead replica had
	// written but not committed when it died (one per cluster it was exporting), redone by the
	// survivor under the same key.
	redone := 0
	for key, n := range writes() {
		switch {
		case n[0] > 1 || n[1] > 1:
			t.Errorf("object %s written %d times by replica-1 and %d times by replica-2", key, n[0], n[1])
		case n[0] == 1 && n[1] == 1:
			redone++
			t.Logf("redone after the kill: %s", key)
		}
	}
	// An empty window has no object, so a kill after one leaves nothing to redo.
	if redone > len(sims)*len(tables.Names()) {
		t.Errorf("%d objects redone after the kill, more than one window per cluster and table", redone)
	}
	store := b.store(t)
	root := b.download(t)
	for _, c := range sims {
		assertArchiveEqualsSource(t, root, store, c)
	}
}

// TestS3OutageMidCycleFailsCleanlyAndCatchesUp stops the S3 server while a window is being
// written.
func TestS3OutageMidCycleFailsCleanlyAndCatchesUp(t *testing.T) {
	b := newAWSBackend(t)
	c := newSimCluster(t, "outage", 2)
	cfg := testConfig(t, t.TempDir(), c.Cfg)
	store := b.store(t)
	var stopped atomic.Bool
	var stoppedIn string
	hook := func(step export.Step, cluster, table string) {
		if step == export.StepWriting && table == "stl_scan" && stopped.CompareAndSwap(false, true) {
			stoppedIn = table
			b.s3.Stop(t)
		}
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	e, err := export.New(cfg, store, b.archive(t), export.Options{Hook: hook, Log: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	c.History(t, time.Hour)
	waitPastLag(t, c, c.SourceNow(t))

	ctx := context.Background()
	before := map[string]state.Progress{}
	for _, tb := range tables.Names() {
		p, err := store.Get(ctx, c.Cfg.Name, tb)
		if err != nil {
			t.Fatal(err)
		}
		before[tb] = p
	}
	res := e.Cycle(ctx)
	if !stopped.Load() {
		t.Fatal("the cycle never reached the write of stl_scan")
	}
	var failed []string
	for _, r := range res {
		for _, tr := range r.Tables {
			if tr.Err != nil {
				failed = append(failed, tr.Table)
			}
		}
	}
	if len(failed) == 0 {
		t.Fatal("the cycle succeeded with the S3 server stopped")
	}
	t.Logf("S3 stopped while writing %s; failed tables: %v", stoppedIn, failed)
	for _, r := range res {
		if err := r.Failed(); err != nil {
			fmt.Fprintln(&logs, err)
		}
	}
	for _, tb := range failed {
		after, err := store.Get(ctx, c.Cfg.Name, tb)
		if err != nil {
			t.Fatal(err)
		}
		if !after.Watermark.Equal(before[tb].Watermark) {
			t.Errorf("watermark of %s moved from %v to %v during the outage", tb, before[tb].Watermark, after.Watermark)
		}
		if after.LastError == "" {
			t.Errorf("the failed window of %s left no error in the state", tb)
		}
	}

	b.s3.Start(t)
	stop := c.Run(t)
	time.Sleep(time.Second)
	stop()
	waitPastLag(t, c, c.SourceNow(t))
	mustCycle(t, e)
	assertArchiveEqualsSource(t, b.download(t), store, c)
	list, err := store.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&logs, "%+v\n", list)
	for _, secret := range []string{awstest.SecretKey, c.Cfg.Password.Reveal()} {
		if bytes.Contains(logs.Bytes(), []byte(secret)) {
			t.Errorf("a secret appears in the logs, errors or state:\n%s", logs.String())
		}
	}
	if !strings.Contains(logs.String(), "connect: connection refused") {
		t.Errorf("the logs and errors do not show the outage:\n%s", logs.String())
	}
}

// killableArchive fails every write once the process is dead. A commit that comes after the
// death neither completes nor aborts its upload: a killed process leaves its multipart upload
// open, invisible under the key.
type killableArchive struct {
	storage.Archive
	k *killable
}

func (a killableArchive) Create(ctx context.Context, key string) (storage.Object, error) {
	if a.k.dead.Load() {
		return nil, errKilled
	}
	o, err := a.Archive.Create(ctx, key)
	if err != nil {
		return nil, err
	}
	return killableObject{Object: o, k: a.k}, nil
}

type killableObject struct {
	storage.Object
	k *killable
}

func (o killableObject) Write(p []byte) (int, error) {
	if o.k.dead.Load() {
		return 0, errKilled
	}
	return o.Object.Write(p)
}

func (o killableObject) Commit() error {
	if o.k.dead.Load() {
		return errKilled
	}
	return o.Object.Commit()
}

func (o killableObject) Abort() error {
	if o.k.dead.Load() {
		return errKilled
	}
	return o.Object.Abort()
}

// TestKillAtEveryProtocolStepOnS3AndDynamoDB is the kill test of the local backend on S3 and
// DynamoDB: at each step of the protocol the exporter dies (from that instant it neither reads
// nor writes the state or the bucket, and holds its lease until it expires), the clusters keep
// working, a new exporter takes over; in the end the archive equals the source.
func TestKillAtEveryProtocolStepOnS3AndDynamoDB(t *testing.T) {
	b := newAWSBackend(t)
	a := newSimCluster(t, "kill-a", 3)
	c := newSimCluster(t, "kill-b", 3)
	cfg := testConfig(t, t.TempDir(), a.Cfg, c.Cfg)
	cfg.Export.Lease = time.Second
	a.History(t, 30*time.Minute)
	c.History(t, 30*time.Minute)
	stopA, stopC := a.Run(t), c.Run(t)
	base := b.archive(t)
	ctx := context.Background()
	pending := func() int {
		list, err := b.store(t).List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, p := range list {
			if p.Pending != nil {
				n++
			}
		}
		return n
	}
	steps := []struct {
		step        export.Step
		table       string
		wantPending bool
	}{
		{export.StepPending, "", true},
		{export.StepWriting, "", true},
		{export.StepWritten, "", true},
		{export.StepCommitted, "", false},
		{export.StepWriting, "stl_querytext", true},
		{export.StepPending, "stl_scan", true},
		{export.StepWritten, "stl_wlm_query", true},
		{export.StepCommitted, "stl_explain", false},
	}
	for i, s := range steps {
		k := &killable{}
		hook := func(step export.Step, cluster, table string) {
			if step == s.step && (s.table == "" || s.table == table) {
				k.dead.Store(true)
			}
		}
		e, err := export.New(cfg, killableStore{Store: b.store(t), k: k}, killableArchive{Archive: base, k: k},
			export.Options{Owner: fmt.Sprintf("run-%d", i), Hook: hook})
		if err != nil {
			t.Fatal(err)
		}
		e.Cycle(ctx)
		e.Close()
		if !k.dead.Load() {
			t.Fatalf("kill at %s:%s: the exporter never reached that step", s.step, s.table)
		}
		n := pending()
		if s.wantPending && n == 0 {
			t.Errorf("kill at %s:%s: no pending window left to redo", s.step, s.table)
		}
		t.Logf("killed at %s:%s: %d pending window(s)", s.step, s.table, n)
		// The dead exporter's lease expires before the next one starts.
		time.Sleep(1200 * time.Millisecond)
	}
	e, err := export.New(cfg, b.store(t), base, export.Options{Owner: "survivor"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	mustCycle(t, e)
	if n := pending(); n != 0 {
		t.Errorf("a clean run left %d pending windows", n)
	}
	stopA()
	stopC()
	waitPastLag(t, a, a.SourceNow(t))
	waitPastLag(t, c, c.SourceNow(t))
	mustCycle(t, e)
	root := b.download(t)
	for _, sc := range []*simCluster{a, c} {
		assertArchiveEqualsSource(t, root, e.Store(), sc)
	}
	// Dead exporters leave multipart uploads open: invisible to readers, removed on AWS by a
	// lifecycle rule (AbortIncompleteMultipartUpload).
	open, err := b.s3.Client(t).ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &b.bucket})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d multipart uploads left open by the killed exporters", len(open.Uploads))
}
