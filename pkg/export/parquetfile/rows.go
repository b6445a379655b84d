package parquetfile

import (
	"errors"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"
)

// RowWriter writes rows read from archive files back as one file with the same schema and the
// same settings as Writer: compaction rewrites a day's objects with it, so a compacted object
// cannot be told from an exported one but by its size and order.
type RowWriter struct {
	pw           *parquet.Writer
	rowGroupRows int
	groupRows    int
	rows         int64
	closed       bool
}

// NewRowWriter starts a file with schema, which must be the schema of an archive file (as read
// back by parquet.OpenFile).
func NewRowWriter(w io.Writer, schema *parquet.Schema, opts ...Option) (*RowWriter, error) {
	cfg := config{compression: Snappy, rowGroupRows: DefaultRowGroupRows}
	for _, o := range opts {
		o(&cfg)
	}
	var unbounded []string
	for _, path := range schema.Columns() {
		leaf, ok := schema.Lookup(path...)
		if !ok {
			return nil, fmt.Errorf("parquetfile: column %v missing from its schema", path)
		}
		// Writer leaves out the bounds of every byte-array column (text, and decimals kept as
		// text); the other kinds are numbers and times.
		if leaf.Node.Type().Kind() == parquet.ByteArray {
			unbounded = append(unbounded, path...)
		}
	}
	wopts, err := writerOptions(cfg, schema, unbounded)
	if err != nil {
		return nil, err
	}
	return &RowWriter{pw: parquet.NewWriter(w, wopts...), rowGroupRows: cfg.rowGroupRows}, nil
}

// Rows is the number of rows written so far.
func (w *RowWriter) Rows() int64 { return w.rows }

// GroupRows is the number of rows of the row group not yet flushed.
func (w *RowWriter) GroupRows() int { return w.groupRows }

// WriteRows appends rows, cutting a row group every rowGroupRows rows.
func (w *RowWriter) WriteRows(rows []parquet.Row) error {
	if w.closed {
		return errors.New("parquetfile: write after close")
	}
	for len(rows) > 0 {
		n := min(len(rows), w.rowGroupRows-w.groupRows)
		if _, err := w.pw.WriteRows(rows[:n]); err != nil {
			return fmt.Errorf("parquetfile: write rows: %w", err)
		}
		rows = rows[n:]
		w.groupRows += n
		w.rows += int64(n)
		if w.groupRows >= w.rowGroupRows {
			if err := w.Flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Flush ends the open row group, if it has rows.
func (w *RowWriter) Flush() error {
	if w.groupRows == 0 {
		return nil
	}
	if err := w.pw.Flush(); err != nil {
		return fmt.Errorf("parquetfile: flush row group: %w", err)
	}
	w.groupRows = 0
	return nil
}

// Close writes the last row group and the footer. It does not close the underlying writer.
func (w *RowWriter) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if err := w.pw.Close(); err != nil {
		return fmt.Errorf("parquetfile: close: %w", err)
	}
	return nil
}

// ReadRows calls fn with the rows of rg in order, in batches of at most 1024 that fn must not
// keep (the next batch reuses them). It never asks parquet-go's row reader for more rows than the
// group has left: past the end of a column chunk that reader tries to read one more page for
// every row still wanted, so a 1024-row read of a 30-row object cost about a thousand failed
// page reads (and page-header allocations) per column.
func ReadRows(rg parquet.RowGroup, fn func([]parquet.Row) error) error {
	rr := rg.Rows()
	defer rr.Close()
	left := rg.NumRows()
	buf := make([]parquet.Row, min(1024, left))
	for left > 0 {
		n, err := rr.ReadRows(buf[:min(int64(len(buf)), left)])
		if n > 0 {
			if ferr := fn(buf[:n]); ferr != nil {
				return ferr
			}
			left -= int64(n)
		}
		switch {
		case err == io.EOF && left > 0:
			return fmt.Errorf("parquetfile: row group ended %d rows before its footer's count", left)
		case err == io.EOF:
			return nil
		case err != nil:
			return err
		case n == 0:
			return io.ErrNoProgress
		}
	}
	return nil
}
