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
