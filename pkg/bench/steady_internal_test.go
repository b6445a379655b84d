package bench

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parquet-go/parquet-go"

	"github.com/stlarchive/redshift-stl-archive/pkg/compact"
	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/pgtest"
	"github.com/stlarchive/redshift-stl-archive/pkg/sim"
)

// TestSplitDayObjectsGivesTheWindowsOfAnExporterWithTheIntervalAsMaxWindow protects the steady
// layout of "bench query": a day-by-day export split by splitWindows must hold exactly the
// objects (keys) and, in each, exactly the rows (as a multiset) that the real exporter writes
// when every window is bounded by the export interval, child tables included; and splitting
// it again changes nothing.
func TestSplitDayObjectsGivesTheWindowsOfAnExporterWithTheIntervalAsMaxWindow(t *testing.T) {
	ctx := context.Background()
	u, err := url.Parse(pgtest.Database(t, "steady"))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := sim.Create(ctx, conn); err != nil {
		t.Fatal(err)
	}
	var now time.Time
	if err := conn.QueryRow(ctx, "SELECT getdate()").Scan(&now); err != nil {
		t.Fatal(err)
	}
	opts := sim.DefaultOptions()
	opts.Rate, opts.Seed = 0.02, 7
	w, err := sim.NewWorkload(opts)
	if err != nil {
		t.Fatal(err)
	}
	// History across a midnight, ending well before the export lag.
	if _, err := w.Backfill(ctx, conn, now.Add(-40*time.Hour), now.Add(-6*time.Hour)); err != nil {
		t.Fatal(err)
	}

	archive := func(name string, maxWindow time.Duration) string {
		cfg := config.Defaults()
		cfg.Archive.Path = filepath.Join(t.TempDir(), name)
		cfg.State.Path = filepath.Join(cfg.Archive.Path, ".state", "export.db")
		cfg.Export.Tables = []string{"stl_query", "stl_querytext", "stl_wlm_query", "stl_scan"}
		c := config.DefaultCluster()
		port := 5432
		fmt.Sscan(u.Port(), &port)
		pw, _ := u.User.Password()
		c.Name, c.Host, c.Port, c.User, c.Password, c.SSLMode = "c1", u.Hostname(), port, u.User.Username(), config.Secret(pw), "disable"
		c.Database = strings.TrimPrefix(u.Path, "/")
		cfg.Clusters = []config.Cluster{c}
		exp, err := export.Open(cfg, export.Options{MaintainEvery: -1, MaxWindow: maxWindow})
		if err != nil {
			t.Fatal(err)
		}
		defer exp.Close()
		for _, r := range exp.Cycle(ctx) {
			if err := r.Failed(); err != nil {
				t.Fatal(err)
			}
		}
		if maxWindow == 0 {
			ts, err := compact.TablesOf(cfg, "c1")
			if err != nil {
				t.Fatal(err)
			}
			r, err := splitWindows(ctx, cfg.Archive.Path, ts, []string{"c1"}, cfg.Export.Interval)
			if err != nil {
				t.Fatal(err)
			}
			if r.objects < 8 || r.windows <= r.objects {
				t.Fatalf("split %d objects into %d windows", r.objects, r.windows)
			}
			// A second pass over a split archive (a reused bench folder) finds only windows.
			if r, err = splitWindows(ctx, cfg.Archive.Path, ts, []string{"c1"}, cfg.Export.Interval); err != nil || r.objects != 0 {
				t.Fatalf("second split: %d objects split, error %v", r.objects, err)
			}
		}
		return cfg.Archive.Path
	}
	live := objectRows(t, archive("live", config.Defaults().Export.Interval))
	split := objectRows(t, archive("split", 0))

	if len(live) < 200 {
		t.Fatalf("the live export wrote %d objects; the history should give hundreds", len(live))
	}
	tablesSeen := map[string]bool{}
	for key, want := range live {
		tablesSeen[strings.Split(key, "/")[0]] = true
		if got, ok := split[key]; !ok {
			t.Errorf("%s: written by the exporter, not by the split", key)
		} else if got != want {
			t.Errorf("%s: split holds %+v, the exporter's %+v", key, got, want)
		}
	}
	for key := range split {
		if _, ok := live[key]; !ok {
			t.Errorf("%s: written by the split, not by the exporter", key)
		}
	}
	if len(tablesSeen) != 4 {
		t.Errorf("objects of %d tables, want 4: %v", len(tablesSeen), tablesSeen)
	}
}

// content is the rows of one object: how many, and an order-free sum of their hashes.
type content struct {
	Rows int
	Sum  uint64
}

func objectRows(t *testing.T, root string) map[string]content {
	t.Helper()
	out := map[string]content{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".parquet") {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		fi, _ := f.Stat()
		pf, err := parquet.OpenFile(f, fi.Size())
		if err != nil {
			return err
		}
		var c content
		buf := make([]parquet.Row, 256)
		for _, rg := range pf.RowGroups() {
			rr := rg.Rows()
			for {
				n, err := rr.ReadRows(buf)
				for _, r := range buf[:n] {
					h := fnv.New64a()
					for _, v := range r {
						fmt.Fprintf(h, "%d:%v|", v.Column(), v)
					}
					c.Rows++
					c.Sum += h.Sum64()
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					return err
				}
			}
			rr.Close()
		}
		rel, _ := filepath.Rel(root, path)
		out[filepath.ToSlash(rel)] = c
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
