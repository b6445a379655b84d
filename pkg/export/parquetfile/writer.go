// Package parquetfile writes typed column batches from package source into one Parquet file.
// It owns the mapping from source kinds to Parquet types and the shape of the files: every
// column optional, row groups of about 128k rows, Snappy pages. It does not name, place or
// upload files: it writes to an io.Writer it is given and never closes it.
package parquetfile

import (
	"errors"
	"fmt"
	"io"
	"reflect"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/zstd"
	"github.com/parquet-go/parquet-go/encoding"

	"github.com/stlarchive/redshift-stl-archive/pkg/export/source"
)

// Compression is the codec of the data pages.
type Compression int

const (
	// Snappy is the default: on stl_scan-shaped rows it costs almost nothing over no
	// compression and makes files 2.4× smaller.
	Snappy Compression = iota
	// ZstdFastest makes stl_scan files 45% smaller than Snappy for about 0.65 s more CPU per
	// million rows (a fifth more than the whole Snappy export): worth it where storage or
	// transfer costs more than CPU.
	ZstdFastest
	// Uncompressed writes pages as they are.
	Uncompressed
)

// DefaultRowGroupRows is the row count at which a row group is cut.
const DefaultRowGroupRows = 128 * 1024

type config struct {
	compression  Compression
	rowGroupRows int
}

// Option changes how a Writer writes.
type Option func(*config)

// WithCompression sets the page codec.
func WithCompression(c Compression) Option { return func(cfg *config) { cfg.compression = c } }

// WithRowGroupRows sets the number of rows per row group (the last one may hold fewer).
func WithRowGroupRows(n int) Option {
	return func(cfg *config) {
		if n > 0 {
			cfg.rowGroupRows = n
		}
	}
}

// Writer writes batches of one result as a Parquet file. It holds one row group of encoded
// pages in memory (about 10 MiB for 128k stl_scan rows) and nothing of the batches it was given.
type Writer struct {
	pw           *parquet.Writer
	cols         []source.Column
	rowGroupRows int
	groupRows    int   // rows in the open row group
	rows         int64 // rows written
	vals         []parquet.Value
	closed       bool
}

// NewWriter starts a Parquet file with one optional column per source column, in order.
func NewWriter(w io.Writer, cols []source.Column, opts ...Option) (*Writer, error) {
	cfg := config{compression: Snappy, rowGroupRows: DefaultRowGroupRows}
	for _, o := range opts {
		o(&cfg)
	}
	root, err := schemaOf(cols)
	if err != nil {
		return nil, err
	}
	var unbounded []string
	for _, c := range cols {
		if c.Kind == source.KindText || c.Kind == source.KindNumeric && !c.Unscaled() {
			unbounded = append(unbounded, c.Name)
		}
	}
	wopts, err := writerOptions(cfg, parquet.NewSchema("row", root), unbounded)
	if err != nil {
		return nil, err
	}
	pw := parquet.NewWriter(w, wopts...)
	return &Writer{pw: pw, cols: cols, rowGroupRows: cfg.rowGroupRows}, nil
}

// writerOptions are the settings of every archive file: the codec, statistics in the column
// index and chunks only, and no min/max for the unbounded columns.
func writerOptions(cfg config, schema *parquet.Schema, unbounded []string) ([]parquet.WriterOption, error) {
	var codec compress.Codec
	switch cfg.compression {
	case Snappy:
		codec = fastSnappy{}
	case ZstdFastest:
		codec = &zstd.Codec{Level: zstd.SpeedFastest}
	case Uncompressed:
		codec = &parquet.Uncompressed
	default:
		return nil, fmt.Errorf("parquetfile: unknown compression %d", cfg.compression)
	}
	// The codec is set explicitly: parquet-go's own default would be LZ4 HC, which is an order
	// of magnitude slower than the export's read.
	wopts := []parquet.WriterOption{
		schema,
		parquet.Compression(codec),
		// Min/max go to the column index and the chunk statistics, which readers use; copies
		// in every data page header would cost their computation a second time.
		parquet.DataPageStatistics(false),
	}
	for _, name := range unbounded {
		// Min/max of text pages cost a quarter of the writer's CPU on stl_scan and prune
		// nothing: STL text (table names, flags, statement chunks) is not sorted, so every
		// row group spans almost the whole range; and a byte-wise min/max of decimal text
		// would be wrong. Time and number columns keep theirs.
		wopts = append(wopts, parquet.SkipPageBounds(name))
	}
	return wopts, nil
}

// Rows is the number of rows written so far.
func (w *Writer) Rows() int64 { return w.rows }

// Write appends the rows of b. b must have the columns NewWriter was given; it is not retained.
func (w *Writer) Write(b *source.Batch) error {
	if w.closed {
		return errors.New("parquetfile: write after close")
	}
	if len(b.Cols) != len(w.cols) {
		return fmt.Errorf("parquetfile: batch has %d columns, file %d", len(b.Cols), len(w.cols))
	}
	for off := 0; off < b.Len; {
		n := min(b.Len-off, w.rowGroupRows-w.groupRows)
		if err := w.writeRange(b, off, off+n); err != nil {
			return err
		}
		off += n
		w.groupRows += n
		w.rows += int64(n)
		if w.groupRows >= w.rowGroupRows {
			// Cutting row groups ourselves bounds the memory of buffered pages and gives
			// readers units they can skip by their statistics.
			if err := w.pw.Flush(); err != nil {
				return fmt.Errorf("parquetfile: flush row group: %w", err)
			}
			w.groupRows = 0
		}
	}
	return nil
}

// writeRange writes rows [lo, hi) of b, column by column.
func (w *Writer) writeRange(b *source.Batch, lo, hi int) error {
	n := hi - lo
	if cap(w.vals) < n {
		w.vals = make([]parquet.Value, n)
	}
	vals := w.vals[:n]
	cws := w.pw.ColumnWriters()
	for ci := range w.cols {
		fillValues(vals, ci, &w.cols[ci], &b.Cols[ci], lo)
		if _, err := cws[ci].WriteRowValues(vals); err != nil {
			return fmt.Errorf("parquetfile: write column %q: %w", w.cols[ci].Name, err)
		}
	}
	return nil
}

// fillValues sets vals to rows lo… of v, column ci, NULLs at definition level 0 and values at 1.
func fillValues(vals []parquet.Value, ci int, c *source.Column, v *source.Vector, lo int) {
	null := v.Null[lo : lo+len(vals)]
	switch c.Kind {
	case source.KindInt16, source.KindInt32, source.KindDate:
		for i, x := range v.Ints[lo : lo+len(vals)] {
			vals[i] = parquet.Int32Value(int32(x))
		}
	case source.KindInt64, source.KindTimestamp, source.KindTimestampTZ:
		for i, x := range v.Ints[lo : lo+len(vals)] {
			vals[i] = parquet.Int64Value(x)
		}
	case source.KindFloat32:
		for i, x := range v.Floats[lo : lo+len(vals)] {
			vals[i] = parquet.FloatValue(float32(x))
		}
	case source.KindFloat64:
		for i, x := range v.Floats[lo : lo+len(vals)] {
			vals[i] = parquet.DoubleValue(x)
		}
	case source.KindBool:
		for i, x := range v.Bools[lo : lo+len(vals)] {
			vals[i] = parquet.BooleanValue(x)
		}
	case source.KindNumeric:
		if c.Unscaled() {
			for i, x := range v.Ints[lo : lo+len(vals)] {
				vals[i] = parquet.Int64Value(x)
			}
			break
		}
		fillBytes(vals, v, lo)
	default:
		fillBytes(vals, v, lo)
	}
	// The in-place setters inline; Value.Level does not and costs a third of a second per
	// million rows of a 35-column table.
	for i := range vals {
		if null[i] {
			vals[i] = parquet.Value{}
		} else {
			vals[i].SetDefinitionLevel(1)
		}
		vals[i].SetColumnIndex(ci)
	}
}

func fillBytes(vals []parquet.Value, v *source.Vector, lo int) {
	start := 0
	if lo > 0 {
		start = v.Ends[lo-1]
	}
	for i, end := range v.Ends[lo : lo+len(vals)] {
		// The column buffer copies the bytes, so the batch can be refilled afterwards.
		vals[i] = parquet.ByteArrayValue(v.Bytes[start:end])
		start = end
	}
}

// Close writes the last row group and the footer. It does not close the underlying writer.
// A file with no rows is a valid Parquet file with the schema and no row groups.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if err := w.pw.Close(); err != nil {
		return fmt.Errorf("parquetfile: close: %w", err)
	}
	return nil
}

// schemaOf maps source columns to optional Parquet leaves, keeping their order.
func schemaOf(cols []source.Column) (parquet.Node, error) {
	fields := make(group, len(cols))
	seen := make(map[string]bool, len(cols))
	for i, c := range cols {
		if seen[c.Name] {
			return nil, fmt.Errorf("parquetfile: column %q appears twice", c.Name)
		}
		seen[c.Name] = true
		leaf, err := leafOf(c)
		if err != nil {
			return nil, err
		}
		fields[i] = field{Node: parquet.Optional(leaf), name: c.Name}
	}
	return fields, nil
}

func leafOf(c source.Column) (parquet.Node, error) {
	switch c.Kind {
	case source.KindText:
		return parquet.String(), nil
	case source.KindInt16:
		return parquet.Int(16), nil
	case source.KindInt32:
		return parquet.Int(32), nil
	case source.KindInt64:
		return parquet.Int(64), nil
	case source.KindFloat32:
		return parquet.Leaf(parquet.FloatType), nil
	case source.KindFloat64:
		return parquet.Leaf(parquet.DoubleType), nil
	case source.KindBool:
		return parquet.Leaf(parquet.BooleanType), nil
	case source.KindNumeric:
		if c.Unscaled() {
			return parquet.Decimal(c.Scale, c.Precision, parquet.Int64Type), nil
		}
		// Wider or unconstrained numerics stay exact as decimal text.
		return parquet.String(), nil
	case source.KindTimestamp:
		// Not adjusted to UTC: a Redshift timestamp is a wall-clock time without a zone, and
		// readers (DuckDB) then see a plain TIMESTAMP instead of TIMESTAMPTZ.
		return parquet.TimestampAdjusted(parquet.Microsecond, false), nil
	case source.KindTimestampTZ:
		return parquet.TimestampAdjusted(parquet.Microsecond, true), nil
	case source.KindDate:
		return parquet.Date(), nil
	}
	return nil, fmt.Errorf("parquetfile: column %q has unsupported kind %v", c.Name, c.Kind)
}

// group is a Parquet group whose fields keep the order they were given in; parquet.Group is a
// map and would sort columns by name.
type group []parquet.Field

func (g group) ID() int                     { return 0 }
func (g group) String() string              { return parquet.NewSchema("row", g).String() }
func (g group) Type() parquet.Type          { return parquet.Group{}.Type() }
func (g group) Optional() bool              { return false }
func (g group) Repeated() bool              { return false }
func (g group) Required() bool              { return true }
func (g group) Leaf() bool                  { return false }
func (g group) Fields() []parquet.Field     { return g }
func (g group) Encoding() encoding.Encoding { return nil }
func (g group) Compression() compress.Codec { return nil }
func (g group) GoType() reflect.Type        { return reflect.TypeFor[map[string]any]() }

var _ parquet.Node = group(nil)

type field struct {
	parquet.Node
	name string
}

func (f field) Name() string { return f.name }

// Value is only used by parquet-go's reflection-based row construction, which this package
// never calls: it writes values column by column.
func (f field) Value(base reflect.Value) reflect.Value {
	if base.Kind() == reflect.Map {
		return base.MapIndex(reflect.ValueOf(f.name))
	}
	return reflect.Value{}
}
