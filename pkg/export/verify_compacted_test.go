package export_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/compact"
	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/state"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/simtest"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/duckdb"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// closeAll is a DayGate that closes every day: the test compacts a day still in the horizon.
type closeAll struct{}

func (closeAll) Closed(context.Context, string, string, time.Time) (bool, error) { return true, nil }

// snapshotFiles maps every file under dir to a hash of its content.
func snapshotFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out[path] = fmt.Sprintf("%x", sha256.Sum256(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// readerAnswer counts and checksums stl_query per cluster and day through the query engine.
func readerAnswer(t *testing.T, root string) string {
	t.Helper()
	ctx := context.Background()
	e, err := duckdb.Open(ctx, root, duckdb.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	res, err := e.Query(ctx, `SELECT cluster, CAST(day AS VARCHAR) AS d, count(*) AS n,
		CAST(sum(hash(query, endtime, querytxt)) AS VARCHAR) AS h FROM stl_query GROUP BY ALL ORDER BY ALL`)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := range res.Len() {
		for _, f := range res.Fields() {
			switch v := f.Values.(type) {
			case []*string:
				fmt.Fprintf(&b, "%v|", *v[i])
			case []*int64:
				fmt.Fprintf(&b, "%v|", *v[i])
			default:
				t.Fatalf("column %s: %T", f.Name, v)
			}
		}
		b.WriteByte('\n')
	}
	if b.Len() == 0 {
		t.Fatal("the reader sees no rows")
	}
	return b.String()
}

// TestAHealNeverWritesIntoACompactedDay compacts a day, then appends late rows to one of its
// windows on the source. A pass with heal covering the day writes nothing (readers of the day
// read its compacted parts only, a healed window object would be lost), reports the window as
// differing and unhealable, and readers answer as before.
func TestAHealNeverWritesIntoACompactedDay(t *testing.T) {
	c := newSimCluster(t, "compacted", 2)
	root := t.TempDir()
	cfg := testConfig(t, root, c.Cfg)
	cfg.Export.Tables = []string{"stl_query"}
	e := openExporter(t, cfg, export.Options{MaxWindow: 5 * time.Minute, MaintainEvery: -1})
	ctx := context.Background()
	last := c.History(t, time.Hour)
	waitPastLag(t, c, last)
	mustCycle(t, e)

	p, err := e.Store().Get(ctx, "compacted", "stl_query")
	if err != nil {
		t.Fatal(err)
	}
	// The day with the most windows, and a window of it with rows.
	perDay := map[string][]state.Entry{}
	for _, en := range p.Manifest {
		perDay[state.DayOf(en)] = append(perDay[state.DayOf(en)], en)
	}
	var dayName string
	for d, ens := range perDay {
		if len(ens) > len(perDay[dayName]) {
			dayName = d
		}
	}
	var target state.Entry
	for _, en := range perDay[dayName] {
		if en.Rows > 0 {
			target = en
			break
		}
	}
	if len(perDay[dayName]) < 2 || target.Rows == 0 {
		t.Fatalf("no day with several windows and rows: %+v", perDay)
	}
	day, _ := time.Parse(tables.DayFormat, dayName)

	tb, _ := tables.Lookup("stl_query")
	comp := compact.New(e.Archive().(compact.Archive), closeAll{}, compact.Options{})
	r, err := comp.CompactDay(ctx, tb, "compacted", day)
	if err != nil || r.Skipped != "" || r.Generation == 0 {
		t.Fatalf("compact %s: %+v, %v", dayName, r, err)
	}
	tableDir := filepath.Join(root, "stl_query")
	files := snapshotFiles(t, tableDir)
	answer := readerAnswer(t, root)

	reader := c.Connect(t)
	before := simtest.SourceCounts(t, reader, p.Watermark)
	c.AppendLate(t, target.Lo, target.Hi)
	// The late rows an export must archive: the exporter's own queries among them stay out.
	added := simtest.SourceCounts(t, reader, p.Watermark)
	added["stl_query"] -= before["stl_query"]
	if added["stl_query"] == 0 {
		t.Fatalf("no late rows appended to the window (%s, %s]", target.Lo, target.Hi)
	}
	res := e.VerifyCluster(ctx, "compacted", export.VerifyOptions{Heal: true, Since: day})
	if res.Err != nil || len(res.Tables) != 1 || res.Tables[0].Err != nil {
		t.Fatalf("pass: %+v", res)
	}
	tv := res.Tables[0]
	if tv.Unhealable != 1 || tv.Differs != 1 || tv.Healed != 0 || tv.RowsHealed != 0 || tv.LateRows != added["stl_query"] {
		t.Errorf("pass on a compacted day: %+v, want one unhealable window of %d late rows", tv, added["stl_query"])
	}
	if !res.Differs() {
		t.Error("the pass does not report the archive as differing: verify would exit 0")
	}
	var found bool
	for _, ch := range tv.Checks {
		if ch.Window == target.Window() {
			found = ch.Verdict == export.VerdictUnhealable && ch.SourceRows == target.Rows+added["stl_query"]
		}
	}
	if !found {
		t.Errorf("checks %+v: want the window (%s, %s] unhealable", tv.Checks, target.Lo, target.Hi)
	}

	// Nothing was written: no object under the day's plain path, no part, no record change.
	if after := snapshotFiles(t, tableDir); fmt.Sprint(after) != fmt.Sprint(files) {
		t.Errorf("the archive changed under a compacted day:\nbefore %v\nafter  %v", keys(files), keys(after))
	}
	if got := readerAnswer(t, root); got != answer {
		t.Errorf("readers' answers changed:\nbefore %s\nafter  %s", answer, got)
	}

	// The difference is recorded and shown, not healed, and stays so at the next pass.
	p, err = e.Store().Get(ctx, "compacted", "stl_query")
	if err != nil {
		t.Fatal(err)
	}
	if p.Heal != nil || p.Verification.Unhealable != 1 || p.Verification.Differs != 1 || p.Verification.HealedWindows != 0 {
		t.Errorf("recorded: heal %+v, verification %+v", p.Heal, p.Verification)
	}
	for _, en := range p.Manifest {
		if en.Window() == target.Window() && (!en.Differs || en.Healed != 0 || en.Rows != target.Rows) {
			t.Errorf("manifest entry after the pass: %+v", en)
		}
	}
	st, err := export.Status(ctx, e.Store(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 1 || st[0].Verification.Unhealable != 1 || st[0].Verification.Differs != 1 {
		t.Errorf("status: %+v", st)
	}
	if h := e.CheckCluster(ctx, "compacted"); h.Verification.Unhealable != 1 || h.Verification.Differs != 1 {
		t.Errorf("health: %+v", h.Verification)
	}
	again := e.VerifyCluster(ctx, "compacted", export.VerifyOptions{Heal: true, Since: day})
	if !again.Differs() || again.Tables[0].Unhealable != 1 || again.Tables[0].LateRows != 0 {
		t.Errorf("second pass: %+v (late rows counted once)", again.Tables)
	}
	if after := snapshotFiles(t, tableDir); fmt.Sprint(after) != fmt.Sprint(files) {
		t.Error("the second pass changed the archive under a compacted day")
	}
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
