package catalog_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/stlarchive/redshift-stl-archive/pkg/catalog"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/parquetfile"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/source"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/pgtest"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// The Glue type of every column type the STL catalog declares, and of every other type the
// exporter maps, must read the Parquet leaf the exporter actually writes for it: the column is
// read from PostgreSQL (standing in for Redshift) by package source and written by package
// parquetfile, as an export does, and the file's schema is checked against the rules by which
// Athena's Parquet reader maps physical and logical types to Hive types.
func TestGlueTypesReadTheParquetTheExporterWrites(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.Database(t, "catalog"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })

	typs := []string{"smallint", "integer", "bigint", "real", "double precision", "boolean", "date",
		"timestamp", "timestamptz", "numeric(18,4)", "numeric(10)", "numeric(19,4)", "numeric", "character(10)",
		"varchar(20)", "text"}
	for _, tb := range tables.STL() {
		for _, c := range tb.Columns {
			if !slices.Contains(typs, c.Type) {
				typs = append(typs, c.Type)
			}
		}
	}
	exprs := make([]string, len(typs))
	for i, typ := range typs {
		exprs[i] = fmt.Sprintf("CAST(NULL AS %s) AS c%d", typ, i)
	}

	var buf bytes.Buffer
	var w *parquetfile.Writer
	_, err = source.Stream(ctx, conn, "SELECT "+strings.Join(exprs, ", "), nil, source.Options{},
		func(cols []source.Column) (err error) {
			w, err = parquetfile.NewWriter(&buf, cols)
			return err
		},
		func(b *source.Batch) error { return w.Write(b) })
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	fields := f.Schema().Fields()
	if len(fields) != len(typs) {
		t.Fatalf("file has %d columns, want %d", len(fields), len(typs))
	}
	for i, typ := range typs {
		glueType := catalog.GlueType(typ)
		if err := athenaReads(glueType, fields[i]); err != nil {
			t.Errorf("%s → Glue %s: %v", typ, glueType, err)
		}
	}
}

// athenaReads checks that a Hive column of glueType reads the Parquet leaf n.
func athenaReads(glueType string, n parquet.Node) error {
	kind := n.Type().Kind()
	var lt format.LogicalTypeValue
	if l := n.Type().LogicalType(); l != nil {
		lt = l.Value
	}
	intOf := func(want parquet.Kind, bits int8) error {
		it, isInt := lt.(*format.IntType)
		if kind != want || lt != nil && (!isInt || it.BitWidth != bits || !it.IsSigned) {
			return fmt.Errorf("Parquet %v %v is not a signed %d-bit integer", kind, lt, bits)
		}
		return nil
	}
	plain := func(want parquet.Kind) error {
		if kind != want || lt != nil {
			return fmt.Errorf("Parquet %v %v, want plain %v", kind, lt, want)
		}
		return nil
	}
	switch glueType {
	case "smallint":
		return intOf(parquet.Int32, 16)
	case "int":
		return intOf(parquet.Int32, 32)
	case "bigint":
		return intOf(parquet.Int64, 64)
	case "float":
		return plain(parquet.Float)
	case "double":
		return plain(parquet.Double)
	case "boolean":
		return plain(parquet.Boolean)
	case "date":
		if _, ok := lt.(*format.DateType); kind != parquet.Int32 || !ok {
			return fmt.Errorf("Parquet %v %v is not a DATE", kind, lt)
		}
		return nil
	case "timestamp":
		ts, ok := lt.(*format.TimestampType)
		if kind != parquet.Int64 || !ok {
			return fmt.Errorf("Parquet %v %v is not an int64 TIMESTAMP", kind, lt)
		}
		switch ts.Unit.Value.(type) {
		case *format.MilliSeconds, *format.MicroSeconds:
			return nil
		}
		return fmt.Errorf("timestamp unit %v: Athena reads milli- and microseconds", ts.Unit.Value)
	case "string":
		if _, ok := lt.(*format.StringType); kind != parquet.ByteArray || !ok {
			return fmt.Errorf("Parquet %v %v is not a UTF-8 string", kind, lt)
		}
		return nil
	}
	var p, s int32
	if _, err := fmt.Sscanf(glueType, "decimal(%d,%d)", &p, &s); err == nil {
		d, ok := lt.(*format.DecimalType)
		if !ok || d.Precision != p || d.Scale != s {
			return fmt.Errorf("Parquet %v %v is not DECIMAL(%d,%d)", kind, lt, p, s)
		}
		return nil
	}
	return fmt.Errorf("no rule for Glue type %s", glueType)
}
