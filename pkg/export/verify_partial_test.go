package export_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/compact"
	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/state"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/simtest"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// openAll is a DayGate that closes no day and finishes the windows up to the watermark.
type openAll struct{ compact.WatermarkGate }

func (openAll) Closed(context.Context, string, string, time.Time) (bool, error) { return false, nil }

// windowsOnly copies the window objects under root to a new folder, without layout records or
// compacted parts: what readers must see when every window is read.
func windowsOnly(t *testing.T, root string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if strings.Contains(rel, "compacted") || strings.HasSuffix(rel, tables.LayoutName) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestAHealIntoAPartialDayDropsTheEntryAndReadersSeeTheHealedRows compacts the finished windows
// of an open day in part, then appends late rows to a window the parts hold. The pass heals the
// window (a partial day stays healable): it takes the partial entry off the record first, so
// readers read the healed window, and the parts become garbage.
func TestAHealIntoAPartialDayDropsTheEntryAndReadersSeeTheHealedRows(t *testing.T) {
	c := newSimCluster(t, "partial", 2)
	root := t.TempDir()
	cfg := testConfig(t, root, c.Cfg)
	cfg.Export.Tables = []string{"stl_query"}
	e := openExporter(t, cfg, export.Options{MaxWindow: 5 * time.Minute, MaintainEvery: -1})
	ctx := context.Background()
	last := c.History(t, time.Hour)
	waitPastLag(t, c, last)
	mustCycle(t, e)

	p, err := e.Store().Get(ctx, "partial", "stl_query")
	if err != nil {
		t.Fatal(err)
	}
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
	comp := compact.New(e.Archive().(compact.Archive), openAll{compact.WatermarkGate{Store: e.Store()}}, compact.Options{OpenDayMinWindows: 1})
	r, err := comp.CompactOpenDay(ctx, tb, "partial", day)
	if err != nil || r.Skipped != "" || r.Through.Before(target.Hi) {
		t.Fatalf("compact %s in part: %+v, %v; want it through %s at least", dayName, r, err, target.Hi)
	}
	if got, want := readerAnswer(t, root), readerAnswer(t, windowsOnly(t, root)); got != want {
		t.Fatalf("after the partial compaction: %s, want %s", got, want)
	}

	reader := c.Connect(t)
	before := simtest.SourceCounts(t, reader, p.Watermark)
	c.AppendLate(t, target.Lo, target.Hi)
	added := simtest.SourceCounts(t, reader, p.Watermark)
	added["stl_query"] -= before["stl_query"]
	if added["stl_query"] == 0 {
		t.Fatalf("no late rows appended to the window (%s, %s]", target.Lo, target.Hi)
	}
	res := e.VerifyCluster(ctx, "partial", export.VerifyOptions{Heal: true, Since: day})
	if res.Err != nil || len(res.Tables) != 1 || res.Tables[0].Err != nil {
		t.Fatalf("pass: %+v", res)
	}
	if tv := res.Tables[0]; tv.Healed != 1 || tv.Unhealable != 0 || tv.RowsHealed != added["stl_query"] {
		t.Errorf("pass on a partial day: %+v, want one window healed with %d rows", tv, added["stl_query"])
	}
	l, err := compact.ReadLayout(ctx, e.Archive().(compact.Archive), "stl_query", "partial")
	if err != nil {
		t.Fatal(err)
	}
	if d, named := l.Days[dayName]; named {
		t.Errorf("the partial entry %+v is still in the record after the heal", d)
	}
	if len(l.Garbage) != r.Parts {
		t.Errorf("garbage %+v, want the %d partial parts", l.Garbage, r.Parts)
	}
	if got, want := readerAnswer(t, root), readerAnswer(t, windowsOnly(t, root)); got != want {
		t.Errorf("after the heal readers answer %s, want the healed windows' %s", got, want)
	}
	simtest.AssertTablesEqualSource(t, root, e.Store(), c, "stl_query")
}
