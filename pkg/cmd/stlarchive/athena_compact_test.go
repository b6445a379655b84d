package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/stlarchive/redshift-stl-archive/pkg/app"
	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/storage"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/awsfake"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/awstest"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/pgtest"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/simtest"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

const athenaTestDB = "stl_archive"

// athenaReader answers as Athena would: per table it plans from the Glue fake's partitions
// (awsfake.PlanAthena, one read of them, then a listing of each partition's location in S3) and
// reads exactly the planned objects, counting rows and summing a hash of each.
type athenaReader struct {
	glue     *awsfake.Glue
	archive  *storage.S3
	location string
	dir      string
	db       *sql.DB
}

func (r *athenaReader) answers(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	for _, name := range tables.Names() {
		plan, err := awsfake.PlanAthena(ctx, r.glue.Client(), athenaTestDB, name, r.location, r.archive)
		if err != nil {
			return nil, err
		}
		var files []string
		for _, p := range plan {
			for _, k := range p.Keys {
				path, err := r.fetch(ctx, k)
				if err != nil {
					return nil, fmt.Errorf("%s: partition %v: %w", name, p.Values, err)
				}
				files = append(files, "'"+path+"'")
			}
		}
		if len(files) == 0 {
			out[name] = "0"
			continue
		}
		var n int64
		var h sql.NullString
		q := "SELECT count(*), CAST(sum(hash(t)) AS VARCHAR) FROM read_parquet([" + strings.Join(files, ",") + "]) t"
		if err := r.db.QueryRowContext(ctx, q).Scan(&n, &h); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out[name] = fmt.Sprintf("%d %s", n, h.String)
	}
	return out, nil
}

// fetch copies an object to the reader's folder once: an object under a key never changes once
// a partition can name it (window objects are written once; a generation's parts before the
// switch that first names them).
func (r *athenaReader) fetch(ctx context.Context, key string) (string, error) {
	path := filepath.Join(r.dir, filepath.FromSlash(key))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	src, err := r.archive.Open(ctx, key)
	if err != nil {
		return "", err // a planned object deleted before it was read: the grace did not hold
	}
	defer src.Close()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	tmp := path + ".part"
	f, err := os.Create(tmp)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return path, os.Rename(tmp, path)
}

// TestAthenaReadersAnswerExactlyWhileCompactionIsKilledAtEveryStep is the Athena path of
// TestReadersAnswerExactlyWhileCompactionIsKilledAtEveryStep: two simulated clusters' last 30
// hours exported to S3 in one-hour windows, the Glue catalog with registered partitions, then
// `stlarchive compact` killed with SIGKILL at each step, the publish to Glue included, while a
// reader that plans as Athena does asks for each table's count and checksum. No answer may
// differ from the one before compaction; afterwards every closed day's partition names its
// compacted generation and no garbage is left.
func TestAthenaReadersAnswerExactlyWhileCompactionIsKilledAtEveryStep(t *testing.T) {
	ctx := context.Background()
	b := newAWSArchive(t, awstest.AccessKey, awstest.SecretKey)
	glueFake := awsfake.NewGlue(t)
	ca := simtest.New(t, "acmp-a", 0.02)
	cb := simtest.New(t, "acmp-b", 0.02)
	dir := t.TempDir()
	ca.History(t, 30*time.Hour)
	cb.History(t, 30*time.Hour)
	simtest.WaitPastLag(t, ca, ca.SourceNow(t))
	simtest.WaitPastLag(t, cb, cb.SourceNow(t))

	cfgPath := b.writeConfig(t, dir, simCluster(ca, "STLARCHIVE_TEST_PASSWORD"), simCluster(cb, "STLARCHIVE_TEST_PASSWORD"))
	raw, _ := os.ReadFile(cfgPath)
	text := string(raw)
	for old, repl := range map[string]string{
		"      aws: {authType: keys, region: " + awstest.Region + "}\n": "      aws: {authType: keys, region: " + awstest.Region + ", endpoints: {glue: \"" + glueFake.URL + "\"}}\n",
		"      clusters:\n": "      query: {engine: athena, timeout: 3s, athena: {database: " + athenaTestDB +
			", outputLocation: \"s3://athena-results/\", timeout: 5s}}\n      compaction: {grace: 8s, openDayMinWindows: 1}\n      clusters:\n",
		"lease: 1s}": "lease: 1s, verify: {horizon: 1m}}",
	} {
		if !strings.Contains(text, old) {
			t.Fatalf("provisioning file lacks %q:\n%s", old, text)
		}
		text = strings.Replace(text, old, repl, 1)
	}
	if err := os.WriteFile(cfgPath, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"STLARCHIVE_TEST_PASSWORD": pgtest.Password, accessKeyEnv: b.s3.AccessKey, secretKeyEnv: b.s3.SecretKey}
	cfg, err := config.LoadProvisioning(cfgPath, "", func(k string) (string, bool) {
		if v, ok := env[k]; ok {
			return v, true
		}
		return os.LookupEnv(k)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.RegisteredPartitions() {
		t.Fatal("the configuration does not use registered partitions")
	}
	exp, _, err := app.OpenExporter(ctx, cfg, export.Options{MaxWindow: time.Hour, MaintainEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range exp.Cycle(ctx) {
		if err := r.Failed(); err != nil {
			t.Fatal(err)
		}
	}
	exp.Close()
	clusters := []string{ca.Cfg.Name, cb.Cfg.Name}
	if _, err := app.EnsureCatalog(ctx, cfg, clusters); err != nil {
		t.Fatal(err)
	}

	archive, err := storage.NewS3(b.s3.Client(t), storage.S3Options{Bucket: b.bucket, Prefix: awsPrefix})
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	reader := &athenaReader{glue: glueFake, archive: archive, location: app.ArchiveLocation(cfg.Archive.S3), dir: t.TempDir(), db: db}
	truth, err := reader.answers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before, err := app.Layout(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	closedDays, openDays := 0, 0
	today := time.Now().UTC().Format(tables.DayFormat)
	for _, s := range before {
		for _, d := range s.Days {
			if d.Day < today && d.Objects > 1 {
				closedDays++
			}
			if d.Day == today && d.Objects > 1 {
				openDays++
			}
		}
	}
	if closedDays < 10 {
		t.Fatalf("only %d closed (table, cluster, day)s with several objects to compact", closedDays)
	}
	t.Logf("%d closed days to compact; truth %v", closedDays, truth)

	rctx, stopReading := context.WithCancel(ctx)
	var reads atomic.Int64
	var mu sync.Mutex
	var wrong []string
	var wg sync.WaitGroup
	wg.Go(func() {
		for rctx.Err() == nil {
			got, err := reader.answers(rctx)
			if rctx.Err() != nil {
				return
			}
			mu.Lock()
			if err != nil {
				wrong = append(wrong, "error: "+err.Error())
			} else {
				for name, want := range truth {
					if got[name] != want {
						wrong = append(wrong, fmt.Sprintf("%s: %s, want %s", name, got[name], want))
					}
				}
			}
			mu.Unlock()
			reads.Add(1)
		}
	})

	cliEnv := b.env()
	compactUntil := func(extra []string) run {
		deadline := time.Now().Add(time.Minute)
		for {
			r := runCLI(t, append(cliEnv, extra...), "compact", "--config", cfgPath)
			if r.code == 1 && strings.Contains(r.stderr, "lease") && time.Now().Before(deadline) {
				time.Sleep(200 * time.Millisecond)
				continue
			}
			return r
		}
	}
	kills := []string{"listed", "written", "switched", "published", "switched:stl_querytext", "published:stl_scan", "deleted"}
	if openDays > 0 {
		// Today compacted in part (after about 02:00 UTC, once it has two hourly windows):
		// Athena keeps reading its windows.
		// Early in the list: a run that goes to the end compacts every table's today.
		kills = slices.Insert(kills, 1, "switched::"+today)
	}
	for _, at := range kills {
		var r run
		deadline := time.Now().Add(time.Minute)
		for {
			r = compactUntil([]string{"STLARCHIVE_TEST_KILL_AT=" + at})
			if r.signal == syscall.SIGKILL || time.Now().After(deadline) {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		if r.signal != syscall.SIGKILL {
			t.Fatalf("kill at %s: compact was not killed (exit %d)\n%s", at, r.code, r.stderr)
		}
		t.Logf("killed at %s (%d reads so far)", at, reads.Load())
	}
	var after []app.ClusterMaintenance
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if r := compactUntil(nil); r.code != 0 {
			t.Fatalf("compact: exit %d\n%s", r.code, r.stderr)
		}
		r := runCLI(t, cliEnv, "compact", "--json", "--config", cfgPath)
		if r.code != 0 {
			t.Fatalf("compact --json: exit %d\n%s", r.code, r.stderr)
		}
		if err := json.Unmarshal([]byte(r.stdout), &after); err != nil {
			t.Fatalf("compact --json: %v\n%s", err, r.stdout)
		}
		garbage := 0
		for _, m := range after {
			for _, s := range m.After {
				garbage += s.Garbage
			}
		}
		if garbage == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	stopReading()
	wg.Wait()
	if reads.Load() < 5 {
		t.Errorf("only %d reads during compaction", reads.Load())
	}
	for i, w := range wrong {
		if i < 20 {
			t.Error(w)
		}
	}
	if len(wrong) > 0 {
		t.Fatalf("%d of %d reads differ from the truth", len(wrong), reads.Load())
	}
	t.Logf("%d Athena-planned reads, every one equal to the truth", reads.Load())

	compacted, partial := 0, 0
	for _, m := range after {
		for _, s := range m.After {
			if s.Garbage != 0 {
				t.Errorf("%s/%s: %d garbage left", m.Cluster, s.Table, s.Garbage)
			}
			parts := glueFake.Partitions(athenaTestDB, s.Table)
			for _, d := range s.Days {
				if d.State == "partial" {
					// A partial day is not compacted for Athena: its partition stays on
					// the day's windows.
					partial++
					day, _ := time.Parse(tables.DayFormat, d.Day)
					want := reader.location + tables.PartitionDir(s.Table, m.Cluster, day) + "/"
					if got := parts[m.Cluster+"/"+d.Day]; got != want {
						t.Errorf("%s/%s partial day %s: partition at %q, want %s", m.Cluster, s.Table, d.Day, got, want)
					}
				}
				if d.State != "compacted" {
					continue
				}
				compacted++
				want := reader.location + tables.GenerationDir(s.Table, m.Cluster, d.Day, 1) + "/"
				if got := parts[m.Cluster+"/"+d.Day]; got != want {
					t.Errorf("%s/%s day %s: partition at %q, want %s", m.Cluster, s.Table, d.Day, got, want)
				}
			}
		}
	}
	if compacted != closedDays {
		t.Errorf("%d days compacted, want %d", compacted, closedDays)
	}
	if partial != openDays {
		t.Errorf("%d open days compacted in part, want %d", partial, openDays)
	}
	if got, err := reader.answers(ctx); err != nil || fmt.Sprint(got) != fmt.Sprint(truth) {
		t.Errorf("after compaction: %v (%v), want %v", got, err, truth)
	}
}
