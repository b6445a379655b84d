//go:build linux

package bench_test

import (
	"bytes"
	"context"
	"os"
	"runtime"
	"testing"

	"github.com/stlarchive/redshift-stl-archive/pkg/bench"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/pgtest"
)

// On Linux the kernel's rusage of a child started by Go includes the parent's high-water mark:
// a bench parent that had held a large day in memory reported it as the compaction child's
// peak. The child's own peak must not move with the parent's.
func TestExportChildPeakRSSIsTheChildsOwnNotTheParents(t *testing.T) {
	url := pgtest.Database(t, "bench")
	const ballastBytes = 384 << 20
	ballast := make([]byte, ballastBytes)
	for i := 0; i < len(ballast); i += os.Getpagesize() {
		ballast[i] = 1
	}
	var out bytes.Buffer
	res, err := bench.ExportVsFloor(context.Background(), &out, bench.ExportOptions{URL: url, Rows: 2_000, Runs: 1, Dir: t.TempDir()})
	runtime.KeepAlive(ballast)
	if err != nil {
		t.Fatal(err)
	}
	// A 2,000-row export child holds a few MiB of rows; anything near the ballast is the
	// parent's memory counted as the child's.
	if res.PeakRSS <= 0 || res.PeakRSS >= ballastBytes/2 {
		t.Errorf("export child peak RSS %d MiB, want above 0 and well under the parent's %d MiB ballast", res.PeakRSS>>20, ballastBytes>>20)
	}
}
