package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/compact"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/storage"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// The environment of a compaction child (ChildEnv "compact"): the archive root is childPath, the
// table childTable.
const (
	childCluster = "STLARCHIVE_BENCH_CLUSTER"
	childDay     = "STLARCHIVE_BENCH_DAY"
)

// CompactReport is what compacting one day measured.
type CompactReport struct {
	Rows    int64   `json:"rows"`
	Windows int     `json:"windows"`
	Parts   int     `json:"parts"`
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"`
	// PeakRSS is the child process's largest resident set, in bytes: its own VmHWM where the
	// system has one, else the kernel's rusage read by the parent.
	PeakRSS int64 `json:"peak_rss"`
}

// closedGate treats every day as closed: the caller picked a day the export is done with.
type closedGate struct{}

func (closedGate) Closed(context.Context, string, string, time.Time) (bool, error) { return true, nil }

// CompactChild compacts one day of a table on a cluster in the local archive at root and prints
// a CompactReport as one JSON line.
func CompactChild(ctx context.Context, root, table, cluster, day string) error {
	t, ok := tables.Lookup(table)
	if !ok {
		return fmt.Errorf("bench: unknown table %s", table)
	}
	d, err := time.Parse(tables.DayFormat, day)
	if err != nil {
		return fmt.Errorf("bench: day: %w", err)
	}
	c := compact.New(storage.Local{Root: root}, closedGate{}, compact.Options{})
	start := time.Now()
	res, err := c.CompactDay(ctx, t, cluster, d)
	if err != nil {
		return err
	}
	if res.Skipped != "" {
		return fmt.Errorf("bench: day %s of %s on %s not compacted: %s", day, table, cluster, res.Skipped)
	}
	return json.NewEncoder(os.Stdout).Encode(CompactReport{Rows: res.Rows, Windows: res.Windows, Parts: res.Parts,
		Bytes: res.Bytes, Seconds: time.Since(start).Seconds(), PeakRSS: ownPeakRSS()})
}

// CompactDay compacts one day in a child process (this binary re-executed, which must call
// RunChildFromEnv first thing); the child's peak memory comes from the kernel (see ownPeakRSS).
func CompactDay(ctx context.Context, root, table, cluster, day string) (CompactReport, error) {
	exe, err := os.Executable()
	if err != nil {
		return CompactReport{}, fmt.Errorf("bench: find own executable: %w", err)
	}
	// The arguments only get the binary past its usage check: the environment makes it a child.
	cmd := exec.CommandContext(ctx, exe, "bench", "compact")
	cmd.Env = append(os.Environ(), ChildEnv+"=compact", childPath+"="+root, childTable+"="+table, childCluster+"="+cluster, childDay+"="+day)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return CompactReport{}, fmt.Errorf("bench: compact child: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var rep CompactReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		return CompactReport{}, fmt.Errorf("bench: compact child report: %w", err)
	}
	rep.PeakRSS = childPeakRSS(rep.PeakRSS, cmd.ProcessState)
	return rep, nil
}
