package bench_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stlarchive/redshift-stl-archive/pkg/bench"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/pgtest"
)

// TestMain is also the entry of the export children: ExportVsFloor re-executes this test
// binary, which must then run one export and nothing else.
func TestMain(m *testing.M) {
	if ran, err := bench.RunChildFromEnv(context.Background()); ran {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	pgtest.Main(m)
}

func TestExportVsFloorWritesEveryRowOfTheTable(t *testing.T) {
	url := pgtest.Database(t, "bench")
	ctx := context.Background()
	const rows = 20_000
	for run := range 2 { // the second run reuses the table the first created
		var out bytes.Buffer
		res, err := bench.ExportVsFloor(ctx, &out, bench.ExportOptions{URL: url, Rows: rows, Runs: 2, Dir: t.TempDir()})
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if res.Rows != rows || res.FileRows != rows {
			t.Fatalf("run %d: table has %d rows, file %d, want %d", run, res.Rows, res.FileRows, rows)
		}
		if len(res.Floor) != 2 || len(res.Export) != 2 || res.FileBytes == 0 {
			t.Fatalf("run %d: result %+v", run, res)
		}
		if runtime.GOOS == "linux" && res.PeakRSS == 0 {
			t.Errorf("run %d: no peak RSS on linux", run)
		}
		if !strings.Contains(out.String(), "ratio export/floor") {
			t.Errorf("run %d: report lacks the ratio:\n%s", run, out.String())
		}
		if strings.Contains(out.String(), url) {
			t.Errorf("run %d: report shows the database URL", run)
		}
	}

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var tablesMade int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'bench_stl_scan_%'").Scan(&tablesMade); err != nil {
		t.Fatal(err)
	}
	if tablesMade != 1 {
		t.Errorf("%d benchmark tables, want 1", tablesMade)
	}
	// The fixture looks like scans: several tables, both flag values, each scan ending after
	// it started.
	var names, flags int
	var ordered bool
	if err := conn.QueryRow(ctx, `SELECT count(DISTINCT perm_table_name), count(DISTINCT is_rrscan),
		bool_and(endtime > starttime) FROM bench_stl_scan_20000`).Scan(&names, &flags, &ordered); err != nil {
		t.Fatal(err)
	}
	if names < 5 || flags != 2 || !ordered {
		t.Errorf("fixture has %d table names, %d flag values, ordered times %v", names, flags, ordered)
	}
}

func TestRunChildFromEnvDoesNothingWithoutTheVariable(t *testing.T) {
	t.Setenv(bench.ChildEnv, "")
	ran, err := bench.RunChildFromEnv(context.Background())
	if ran || err != nil {
		t.Fatalf("ran %v, err %v", ran, err)
	}
}

func TestPairedInterleavesAndPercentileRanks(t *testing.T) {
	var order []string
	ta, tb, err := bench.Paired(3, func() error { order = append(order, "a"); return nil }, func() error { order = append(order, "b"); return nil })
	if err != nil || len(ta) != 3 || len(tb) != 3 || strings.Join(order, "") != "ababab" {
		t.Fatalf("%v %v %v %v", ta, tb, order, err)
	}
	ds := []time.Duration{5, 1, 4, 2, 3}
	if bench.Percentile(ds, 50) != 3 || bench.Percentile(ds, 100) != 5 || bench.Percentile(ds, 0) != 1 || bench.Percentile(nil, 50) != 0 {
		t.Errorf("percentiles of %v: %v %v %v", ds, bench.Percentile(ds, 50), bench.Percentile(ds, 100), bench.Percentile(ds, 0))
	}
}
