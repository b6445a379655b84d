// Package bench measures the export path against the floor of reading the same rows: it owns
// the benchmark table (an stl_scan-shaped fixture), the measurement runs and the report. The
// export runs in a child process (a re-execution of the calling binary, see RunChildFromEnv)
// so that its peak memory can be read from the operating system. It never asserts timings:
// callers read the Result.
package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parquet-go/parquet-go"

	"github.com/stlarchive/redshift-stl-archive/pkg/export/source"
)

// ExportOptions configure ExportVsFloor. URL is required.
type ExportOptions struct {
	// URL of the PostgreSQL (or Redshift) database holding the benchmark table. It is passed to
	// the child in its environment, never on a command line or in output.
	URL string
	// Rows in the benchmark table; 1,000,000 when zero. A table of each size is created once
	// and reused.
	Rows int
	// Runs of each measurement, interleaved; 3 when zero.
	Runs int
	// Dir receives the Parquet files of the export runs; the system's temporary folder when
	// empty. The files are removed unless KeepFile is set.
	Dir      string
	KeepFile bool
	// Command re-executes a binary whose main calls RunChildFromEnv. The current executable,
	// without arguments, when empty.
	Command []string
}

// Result is what ExportVsFloor measured.
type Result struct {
	Table        string
	Rows         int64 // rows in the table
	Floor        []time.Duration
	Export       []time.Duration
	FloorMedian  time.Duration
	ExportMedian time.Duration
	Ratio        float64         // ExportMedian / FloorMedian
	ExportCPU    []time.Duration // user + system CPU of each export child, start-up included
	PeakRSS      int64           // largest peak resident set of the export children, bytes; 0 if unknown
	FileBytes    int64           // size of the last export's file
	FileRows     int64           // rows in the last export's file, read from its footer
	Path         string          // the last export's file when KeepFile is set
}

// Targets the export path is held to; the report prints them next to the measurements.
const (
	TargetRatio   = 1.2
	TargetPeakRSS = 256 << 20
)

// ExportVsFloor creates the benchmark table if it is absent, then measures, interleaved, the
// floor — pgx COPY (SELECT columns FROM table) TO STDOUT into io.Discard, in this process —
// and the export — source.Stream into parquetfile on local disk, each run in a child process
// started with opts.Command. It prints medians, their ratio and the export's peak RSS to out.
// It fails if a file's row count differs from the table's.
func ExportVsFloor(ctx context.Context, out io.Writer, opts ExportOptions) (Result, error) {
	if opts.URL == "" {
		return Result{}, errors.New("bench: no database URL")
	}
	if opts.Rows <= 0 {
		opts.Rows = 1_000_000
	}
	if opts.Runs <= 0 {
		opts.Runs = 3
	}
	if opts.Dir == "" {
		opts.Dir = os.TempDir()
	}
	if len(opts.Command) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return Result{}, fmt.Errorf("bench: find own executable: %w", err)
		}
		opts.Command = []string{exe}
	}

	cfg, err := pgx.ParseConfig(opts.URL)
	if err != nil {
		return Result{}, fmt.Errorf("bench: connect: %w", err)
	}
	// The floor reads through the same read buffer as the export, so that the ratio compares
	// the work after the wire, not two ways of reading it.
	source.BufferReads(cfg, 0)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return Result{}, fmt.Errorf("bench: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	table, cols, err := ensureTable(ctx, conn, opts.Rows)
	if err != nil {
		return Result{}, err
	}
	res := Result{Table: table}
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{table}.Sanitize()).Scan(&res.Rows); err != nil {
		return res, fmt.Errorf("bench: count %s: %w", table, err)
	}
	copySQL := fmt.Sprintf("COPY (%s) TO STDOUT", selectSQL(table, cols))

	// One untimed read brings the table into the server's cache for every run after it.
	if _, err := conn.PgConn().CopyTo(ctx, io.Discard, copySQL); err != nil {
		return res, fmt.Errorf("bench: warm up: %w", err)
	}
	for i := range opts.Runs {
		began := time.Now()
		if _, err := conn.PgConn().CopyTo(ctx, io.Discard, copySQL); err != nil {
			return res, fmt.Errorf("bench: floor: %w", err)
		}
		res.Floor = append(res.Floor, time.Since(began))

		path := filepath.Join(opts.Dir, fmt.Sprintf("bench-export-%d-%d.parquet", os.Getpid(), i))
		d, cpu, rss, err := runChild(ctx, opts, table, path)
		if err != nil {
			return res, err
		}
		res.Export = append(res.Export, d)
		res.ExportCPU = append(res.ExportCPU, cpu)
		res.PeakRSS = max(res.PeakRSS, rss)
		if res.FileRows, res.FileBytes, err = countFile(path); err != nil {
			return res, err
		}
		if i < opts.Runs-1 || !opts.KeepFile {
			os.Remove(path)
		} else {
			res.Path = path
		}
		if res.FileRows != res.Rows {
			return res, fmt.Errorf("bench: export wrote %d rows of %d", res.FileRows, res.Rows)
		}
	}
	res.FloorMedian, res.ExportMedian = median(res.Floor), median(res.Export)
	res.Ratio = float64(res.ExportMedian) / float64(res.FloorMedian)
	report(out, res, len(cols))
	return res, nil
}

// runChild runs one export in a child process and returns the duration it measured, its CPU
// time and its peak RSS.
func runChild(ctx context.Context, opts ExportOptions, table, path string) (wall, cpu time.Duration, rss int64, err error) {
	cmd := exec.CommandContext(ctx, opts.Command[0], opts.Command[1:]...)
	cmd.Env = append(os.Environ(), ChildEnv+"=export", childURL+"="+opts.URL, childTable+"="+table, childPath+"="+path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return 0, 0, 0, fmt.Errorf("bench: export child: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	rep, err := readReport(&stdout)
	if err != nil {
		return 0, 0, 0, err
	}
	ps := cmd.ProcessState
	return time.Duration(rep.Seconds * float64(time.Second)), ps.UserTime() + ps.SystemTime(), childPeakRSS(rep.PeakRSS, ps), nil
}

// countFile reads the row count and size of a Parquet file from its footer.
func countFile(path string) (rows, size int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("bench: open export: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, 0, fmt.Errorf("bench: open export: %w", err)
	}
	pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return 0, 0, fmt.Errorf("bench: read export footer: %w", err)
	}
	return pf.NumRows(), st.Size(), nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func report(out io.Writer, r Result, ncols int) {
	runs := func(ds []time.Duration) string {
		parts := make([]string, len(ds))
		for i, d := range ds {
			parts[i] = fmt.Sprintf("%.2fs", d.Seconds())
		}
		return strings.Join(parts, " ")
	}
	fmt.Fprintf(out, "export vs floor on %s: %d rows, %d columns, %d interleaved runs each\n", r.Table, r.Rows, ncols, len(r.Floor))
	fmt.Fprintf(out, "  floor  (COPY to discard)      median %6.2fs   runs %s\n", r.FloorMedian.Seconds(), runs(r.Floor))
	fmt.Fprintf(out, "  export (stream to Parquet)    median %6.2fs   runs %s\n", r.ExportMedian.Seconds(), runs(r.Export))
	fmt.Fprintf(out, "  export CPU (user+sys)         median %6.2fs   runs %s\n", median(r.ExportCPU).Seconds(), runs(r.ExportCPU))
	fmt.Fprintf(out, "  ratio export/floor            %.2f   (target <= %.1f)\n", r.Ratio, TargetRatio)
	if r.PeakRSS > 0 {
		fmt.Fprintf(out, "  export peak RSS               %.1f MiB   (target <= %d MiB)\n", float64(r.PeakRSS)/(1<<20), TargetPeakRSS>>20)
	} else {
		fmt.Fprintf(out, "  export peak RSS               unknown on this system\n")
	}
	fmt.Fprintf(out, "  parquet file                  %.1f MiB, %d rows\n", float64(r.FileBytes)/(1<<20), r.FileRows)
}
