package parquetfile_test

import (
	"fmt"
	"io"
	"testing"

	"github.com/stlarchive/redshift-stl-archive/pkg/export/parquetfile"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/source"
)

// scanShapedBatch is a batch shaped like stl_scan: 35 columns, mostly integers and timestamps,
// nine short char columns.
func scanShapedBatch(rows int) ([]source.Column, *source.Batch) {
	var cols []source.Column
	add := func(n int, k source.Kind) {
		for range n {
			cols = append(cols, source.Column{Name: fmt.Sprintf("c%d", len(cols)), Kind: k})
		}
	}
	add(14, source.KindInt32)
	add(10, source.KindInt64)
	add(2, source.KindTimestamp)
	add(9, source.KindText)
	names := []string{"orders", "lineitem", "customer", "part", "supplier", "nation", "region", "partsupp"}
	b := &source.Batch{Len: rows, Cols: make([]source.Vector, len(cols))}
	for ci, c := range cols {
		v := &b.Cols[ci]
		for r := range rows {
			v.Null = append(v.Null, false)
			switch c.Kind {
			case source.KindInt32:
				v.Ints = append(v.Ints, int64((r*7919+ci)%1000))
			case source.KindInt64:
				v.Ints = append(v.Ints, int64(r*7919%1000003)*int64(ci))
			case source.KindTimestamp:
				v.Ints = append(v.Ints, 1_793_000_000_000_000+int64(r)*20_000+int64(ci))
			case source.KindText:
				s := "f"
				if ci == len(cols)-1 {
					s = names[r%len(names)]
				} else if r%3 == 0 {
					s = "t"
				}
				v.Bytes = append(v.Bytes, s...)
				v.Ends = append(v.Ends, len(v.Bytes))
			}
		}
	}
	return cols, b
}

// BenchmarkWriteScanShapedMillion measures the CPU of writing one million stl_scan-shaped rows.
func BenchmarkWriteScanShapedMillion(b *testing.B) {
	for _, comp := range []struct {
		name string
		c    parquetfile.Compression
	}{{"snappy", parquetfile.Snappy}, {"zstd", parquetfile.ZstdFastest}, {"none", parquetfile.Uncompressed}} {
		b.Run(comp.name, func(b *testing.B) {
			cols, batch := scanShapedBatch(4096)
			var size countingWriter
			for b.Loop() {
				w, err := parquetfile.NewWriter(&size, cols, parquetfile.WithCompression(comp.c))
				if err != nil {
					b.Fatal(err)
				}
				for range 1_000_000 / 4096 {
					if err := w.Write(batch); err != nil {
						b.Fatal(err)
					}
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(size)/float64(b.N)/(1<<20), "MiB/file")
		})
	}
}

type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}

var _ io.Writer = (*countingWriter)(nil)
