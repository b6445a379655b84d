package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stlarchive/redshift-stl-archive/pkg/export/parquetfile"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/source"
)

// The environment through which a parent asks a re-executed binary to run one export.
const (
	// ChildEnv set to "export" turns the process into an export child (see RunChildFromEnv).
	ChildEnv   = "STLARCHIVE_BENCH_CHILD"
	childURL   = "STLARCHIVE_BENCH_URL"
	childTable = "STLARCHIVE_BENCH_TABLE"
	childPath  = "STLARCHIVE_BENCH_PATH"
)

// childReport is the one line of JSON a child prints on stdout.
type childReport struct {
	Rows    int64   `json:"rows"`
	Seconds float64 `json:"seconds"`
	// PeakRSS is the child's own VmHWM in bytes, 0 where the system has none (see ownPeakRSS).
	PeakRSS int64 `json:"peak_rss"`
}

// RunChildFromEnv runs one export child if the environment asks for it (ChildEnv is set) and
// reports ran = true; otherwise it does nothing. A binary that launches ExportVsFloor must call
// it first thing in main and exit right after when ran is true — with status 1 when err is not
// nil — because ExportVsFloor measures peak memory by re-executing that binary:
//
//	if ran, err := bench.RunChildFromEnv(ctx); ran {
//		if err != nil {
//			fmt.Fprintln(os.Stderr, err)
//			os.Exit(1)
//		}
//		os.Exit(0)
//	}
func RunChildFromEnv(ctx context.Context) (ran bool, err error) {
	switch os.Getenv(ChildEnv) {
	case "":
		return false, nil
	case "export":
		return true, ExportChild(ctx, os.Getenv(childURL), os.Getenv(childTable), os.Getenv(childPath))
	case "compact":
		return true, CompactChild(ctx, os.Getenv(childPath), os.Getenv(childTable), os.Getenv(childCluster), os.Getenv(childDay))
	default:
		return true, fmt.Errorf("bench: unknown child %q in %s", os.Getenv(ChildEnv), ChildEnv)
	}
}

// ExportChild exports table from the database at url into a Parquet file at path and prints
// its row count and duration as one JSON line on stdout for the parent.
func ExportChild(ctx context.Context, url, table, path string) error {
	rows, d, err := exportOnce(ctx, url, table, path)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(childReport{Rows: rows, Seconds: d.Seconds(), PeakRSS: ownPeakRSS()})
}

// exportOnce is the measured path: stream the table's rows and write them to a Parquet file on
// local disk, as the exporter does. The time excludes connecting.
func exportOnce(ctx context.Context, url, table, path string) (int64, time.Duration, error) {
	if table == "" || path == "" {
		return 0, 0, errors.New("bench: export needs a table and a path")
	}
	t, err := scanTable()
	if err != nil {
		return 0, 0, err
	}
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = c.Name
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return 0, 0, fmt.Errorf("bench: connect: %w", err)
	}
	source.BufferReads(cfg, 0)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return 0, 0, fmt.Errorf("bench: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	began := time.Now()
	f, err := os.Create(path)
	if err != nil {
		return 0, 0, fmt.Errorf("bench: export: %w", err)
	}
	defer f.Close()
	// parquet-go buffers its own writes; a second buffer turns its many small footer and
	// header writes into few system calls.
	buf := bufio.NewWriterSize(f, 1<<20)
	var w *parquetfile.Writer
	n, err := source.Stream(ctx, conn, selectSQL(table, cols), nil, source.Options{KeepPadding: t.KeepsPadding},
		func(c []source.Column) error {
			var err error
			w, err = parquetfile.NewWriter(buf, c)
			return err
		},
		func(b *source.Batch) error { return w.Write(b) })
	if err != nil {
		return 0, 0, fmt.Errorf("bench: export %s: %w", table, err)
	}
	if err := w.Close(); err != nil {
		return 0, 0, fmt.Errorf("bench: export %s: %w", table, err)
	}
	if err := buf.Flush(); err != nil {
		return 0, 0, fmt.Errorf("bench: export %s: %w", table, err)
	}
	if err := f.Close(); err != nil {
		return 0, 0, fmt.Errorf("bench: export %s: %w", table, err)
	}
	return n, time.Since(began), nil
}

// readReport takes the child's report from the last line of its stdout.
func readReport(stdout io.Reader) (childReport, error) {
	var last []byte
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if len(sc.Bytes()) > 0 {
			last = append(last[:0], sc.Bytes()...)
		}
	}
	var r childReport
	if err := json.Unmarshal(last, &r); err != nil {
		return r, fmt.Errorf("bench: child report %q: %w", last, err)
	}
	return r, nil
}
