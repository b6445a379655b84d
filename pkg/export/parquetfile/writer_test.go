package parquetfile_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/jackc/pgx/v5"
	"github.com/parquet-go/parquet-go"

	"github.com/stlarchive/redshift-stl-archive/pkg/export/parquetfile"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/source"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func connect(t *testing.T) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.Database(t, "parquetfile"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	return conn
}

// export streams the query into a Parquet file in a temporary folder and returns its path.
func export(t *testing.T, conn *pgx.Conn, query string, opts source.Options, wopts ...parquetfile.Option) (string, []source.Column) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "out.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var w *parquetfile.Writer
	var cols []source.Column
	n, err := source.Stream(context.Background(), conn, query, nil, opts,
		func(c []source.Column) error {
			cols = c
			w, err = parquetfile.NewWriter(f, c, wopts...)
			return err
		},
		func(b *source.Batch) error { return w.Write(b) })
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Rows() != n {
		t.Fatalf("writer has %d rows, stream %d", w.Rows(), n)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path, cols
}

func openFile(t *testing.T, path string) *parquet.File {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// readRows reads every row of the file with parquet-go, as the text the expectations use.
func readRows(t *testing.T, path string, cols []source.Column) [][]any {
	t.Helper()
	f := openFile(t, path)
	var out [][]any
	for _, rg := range f.RowGroups() {
		rows := rg.Rows()
		buf := make([]parquet.Row, 64)
		for {
			n, err := rows.ReadRows(buf)
			for _, row := range buf[:n] {
				vals := make([]any, len(cols))
				for _, v := range row {
					vals[v.Column()] = textOf(cols[v.Column()], v)
				}
				out = append(out, vals)
			}
			if err != nil {
				break
			}
		}
		rows.Close()
	}
	return out
}

func textOf(c source.Column, v parquet.Value) any {
	if v.IsNull() {
		return nil
	}
	switch c.Kind {
	case source.KindInt16, source.KindInt32:
		return strconv.Itoa(int(v.Int32()))
	case source.KindInt64:
		return strconv.FormatInt(v.Int64(), 10)
	case source.KindFloat32, source.KindFloat64:
		return strconv.FormatFloat(v.Double(), 'g', -1, 64)
	case source.KindBool:
		return strconv.FormatBool(v.Boolean())
	case source.KindTimestamp:
		return time.UnixMicro(v.Int64()).UTC().Format("2006-01-02 15:04:05.999999")
	case source.KindTimestampTZ:
		return time.UnixMicro(v.Int64()).UTC().Format("2006-01-02 15:04:05.999999-07")
	case source.KindDate:
		return time.Unix(int64(v.Int32())*86400, 0).UTC().Format("2006-01-02")
	case source.KindNumeric:
		if c.Unscaled() {
			return scaled(v.Int64(), c.Scale)
		}
	}
	return string(v.ByteArray())
}

func scaled(u int64, scale int) string {
	s := strconv.FormatInt(u, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if scale > 0 {
		if len(s) <= scale {
			s = strings.Repeat("0", scale-len(s)+1) + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// fidelityTable is one column per type the archive must carry; want holds each row's value as
// text, as PostgreSQL, parquet-go and DuckDB must all agree on it. nil is NULL.
var fidelityTable = []struct {
	name, typ string
	duckType  string
	values    []string // SQL literals of rows 1..4
	want      []any
}{
	{"id", "integer", "INTEGER", []string{"1", "2", "3", "4"}, []any{"1", "2", "3", "4"}},
	{"small", "smallint", "SMALLINT", []string{"32767", "-32768", "0", "NULL"}, []any{"32767", "-32768", "0", nil}},
	{"big", "bigint", "BIGINT", []string{"9223372036854775807", "-9223372036854775808", "0", "NULL"},
		[]any{"9223372036854775807", "-9223372036854775808", "0", nil}},
	{"flag", "char(1)", "VARCHAR", []string{"'t'", "' '", "'f'", "NULL"}, []any{"t", "", "f", nil}},
	{"perm_table_name", "character(136)", "VARCHAR", []string{"'orders'", "'line item  '", "''", "NULL"},
		[]any{"orders", "line item", "", nil}},
	{"text", "character(20)", "VARCHAR", []string{"'SELECT a'", "'  lead'", "''", "NULL"},
		[]any{"SELECT a            ", "  lead              ", "                    ", nil}},
	{"note", "varchar(40)", "VARCHAR", []string{"'trailing  '", "''", "' '", "NULL"}, []any{"trailing  ", "", " ", nil}},
	{"ts", "timestamp", "TIMESTAMP", []string{"'1999-12-31 23:59:59.999999'", "'1900-01-01 00:00:00.000001'", "'9999-12-31 23:59:59.999999'", "NULL"},
		[]any{"1999-12-31 23:59:59.999999", "1900-01-01 00:00:00.000001", "9999-12-31 23:59:59.999999", nil}},
	{"tstz", "timestamptz", "TIMESTAMP WITH TIME ZONE", []string{"'2026-11-29 10:00:00.123456+02'", "'1970-01-01 00:00:00+00'", "'2000-01-01 00:00:00.5+00'", "NULL"},
		[]any{"2026-11-29 08:00:00.123456+00", "1970-01-01 00:00:00+00", "2000-01-01 00:00:00.5+00", nil}},
	{"amount", "numeric(12,2)", "DECIMAL(12,2)", []string{"1234567890.12", "-0.01", "0", "NULL"}, []any{"1234567890.12", "-0.01", "0.00", nil}},
	{"exact", "numeric(18,4)", "DECIMAL(18,4)", []string{"12345678901234.5678", "-0.0001", "-99999999999999.9999", "NULL"},
		[]any{"12345678901234.5678", "-0.0001", "-99999999999999.9999", nil}},
	{"wide", "numeric(38,10)", "VARCHAR", []string{"1234567890123456789012345678.1234567891", "-0.0001", "0", "NULL"},
		[]any{"1234567890123456789012345678.1234567891", "-0.0001000000", "0.0000000000", nil}},
	{"free", "numeric", "VARCHAR", []string{"0.000000000000000000001", "-12345678901234567890.5", "0", "NULL"},
		[]any{"0.000000000000000000001", "-12345678901234567890.5", "0", nil}},
	{"ok", "boolean", "BOOLEAN", []string{"true", "false", "false", "NULL"}, []any{"true", "false", "false", nil}},
	{"ratio", "double precision", "DOUBLE", []string{"1.5", "-2.25e300", "0.25", "NULL"}, []any{"1.5", "-2.25e+300", "0.25", nil}},
	{"day", "date", "DATE", []string{"'1969-07-20'", "'2000-01-01'", "'9999-12-31'", "NULL"}, []any{"1969-07-20", "2000-01-01", "9999-12-31", nil}},
	{"body", "text", "VARCHAR", []string{`E'quote '' dq " backslash \\ newline \n tab \t é 東京 🙂'`, "''", `'\N'`, "NULL"},
		[]any{"quote ' dq \" backslash \\ newline \n tab \t é 東京 🙂", "", `\N`, nil}},
}

func createFidelityTable(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	var defs []string
	rows := make([][]string, 4)
	for _, c := range fidelityTable {
		defs = append(defs, c.name+" "+c.typ)
		for r, v := range c.values {
			rows[r] = append(rows[r], v)
		}
	}
	var vals []string
	for _, r := range rows {
		vals = append(vals, "("+strings.Join(r, ", ")+")")
	}
	ddl := fmt.Sprintf("CREATE TABLE fidelity (%s); INSERT INTO fidelity VALUES %s",
		strings.Join(defs, ", "), strings.Join(vals, ", "))
	if _, err := conn.Exec(context.Background(), ddl); err != nil {
		t.Fatal(err)
	}
}

func keepText(col string) bool { return col == "text" }

func TestRoundTripKeepsEveryValueAndType(t *testing.T) {
	conn := connect(t)
	createFidelityTable(t, conn)
	for _, comp := range []struct {
		name string
		c    parquetfile.Compression
	}{{"snappy", parquetfile.Snappy}, {"zstd", parquetfile.ZstdFastest}, {"none", parquetfile.Uncompressed}} {
		t.Run(comp.name, func(t *testing.T) {
			path, cols := export(t, conn, "SELECT * FROM fidelity ORDER BY id", source.Options{KeepPadding: keepText},
				parquetfile.WithCompression(comp.c))

			names := openFile(t, path).Schema().Columns()
			for i, c := range fidelityTable {
				if len(names) <= i || names[i][0] != c.name {
					t.Fatalf("file columns %v, want source order", names)
				}
			}

			got := readRows(t, path, cols)
			compareTable(t, "parquet-go", got)
			compareTable(t, "duckdb", readDuckDB(t, path))
		})
	}
}

func compareTable(t *testing.T, reader string, got [][]any) {
	t.Helper()
	if len(got) != 4 {
		t.Fatalf("%s: %d rows, want 4", reader, len(got))
	}
	for i, c := range fidelityTable {
		for r, want := range c.want {
			if got[r][i] != want {
				t.Errorf("%s: %s row %d: got %#v, want %#v", reader, c.name, r+1, got[r][i], want)
			}
		}
	}
}

// readDuckDB reads the file with DuckDB as text, and checks the types DuckDB infers.
func readDuckDB(t *testing.T, path string) [][]any {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "SET TimeZone = 'UTC'"); err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf("read_parquet('%s')", strings.ReplaceAll(path, "'", "''"))

	types, err := db.QueryContext(ctx, "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "+src+")")
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for types.Next() {
		var name, typ string
		if err := types.Scan(&name, &typ); err != nil {
			t.Fatal(err)
		}
		if c := fidelityTable[i]; name != c.name || typ != c.duckType {
			t.Errorf("duckdb sees %s %s, want %s %s", name, typ, c.name, c.duckType)
		}
		i++
	}
	types.Close()

	var casts []string
	for _, c := range fidelityTable {
		casts = append(casts, fmt.Sprintf("CAST(%q AS VARCHAR)", c.name))
	}
	rows, err := db.QueryContext(ctx, "SELECT "+strings.Join(casts, ", ")+" FROM "+src+" ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		vals := make([]sql.NullString, len(fidelityTable))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]any, len(vals))
		for i, v := range vals {
			if v.Valid {
				row[i] = v.String
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEmptyResultIsAValidFileWithTheSchema(t *testing.T) {
	conn := connect(t)
	createFidelityTable(t, conn)
	path, _ := export(t, conn, "SELECT * FROM fidelity WHERE id < 0", source.Options{KeepPadding: keepText})
	f := openFile(t, path)
	if f.NumRows() != 0 || len(f.Schema().Columns()) != len(fidelityTable) {
		t.Fatalf("%d rows, %d columns", f.NumRows(), len(f.Schema().Columns()))
	}
	if got := readDuckDB(t, path); len(got) != 0 {
		t.Fatalf("duckdb read %d rows", len(got))
	}
}

func TestRowGroupsAreCutAtTheConfiguredSize(t *testing.T) {
	conn := connect(t)
	const n = 10_007
	path, cols := export(t, conn, fmt.Sprintf("SELECT g::bigint AS n, 'row ' || g AS label FROM generate_series(1, %d) g", n),
		source.Options{BatchRows: 300}, parquetfile.WithRowGroupRows(1000))
	f := openFile(t, path)
	groups := f.RowGroups()
	if len(groups) != 11 {
		t.Fatalf("%d row groups, want 11", len(groups))
	}
	for i, rg := range groups[:10] {
		if rg.NumRows() != 1000 {
			t.Fatalf("row group %d has %d rows", i, rg.NumRows())
		}
	}
	rows := readRows(t, path, cols)
	if len(rows) != n {
		t.Fatalf("%d rows, want %d", len(rows), n)
	}
	for i, r := range rows {
		if r[0] != strconv.Itoa(i+1) || r[1] != fmt.Sprintf("row %d", i+1) {
			t.Fatalf("row %d: %v", i, r)
		}
	}
}

func TestWriterRefusesDuplicateColumnNames(t *testing.T) {
	cols := []source.Column{{Name: "a", Kind: source.KindInt32}, {Name: "a", Kind: source.KindText}}
	if _, err := parquetfile.NewWriter(&bytes.Buffer{}, cols); err == nil {
		t.Fatal("no error for a duplicate column")
	}
}

func TestWriterRefusesMismatchedBatchesAndWritesAfterClose(t *testing.T) {
	cols := []source.Column{{Name: "a", Kind: source.KindInt32}}
	w, err := parquetfile.NewWriter(&bytes.Buffer{}, cols)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(&source.Batch{Len: 0, Cols: make([]source.Vector, 2)}); err == nil {
		t.Error("no error for a batch with two columns")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(&source.Batch{Cols: make([]source.Vector, 1)}); err == nil {
		t.Error("no error for a write after close")
	}
}

// TestReadRowsGivesEveryRowOfEachGroupInOrder reads files of several row groups, and of fewer
// rows than one batch, back through ReadRows: every row once, in order, and no more.
func TestReadRowsGivesEveryRowOfEachGroupInOrder(t *testing.T) {
	schema := parquet.NewSchema("row", parquet.Group{
		"n": parquet.Optional(parquet.Int(64)),
		"s": parquet.Optional(parquet.String()),
	})
	for _, rows := range []int{0, 1, 30, 1024, 2500} {
		var buf bytes.Buffer
		w, err := parquetfile.NewRowWriter(&buf, schema, parquetfile.WithRowGroupRows(1000))
		if err != nil {
			t.Fatal(err)
		}
		for i := range rows {
			r := parquet.Row{parquet.Int64Value(int64(i)).Level(0, 1, 0), parquet.ByteArrayValue([]byte(strconv.Itoa(i))).Level(0, 1, 1)}
			if err := w.WriteRows([]parquet.Row{r}); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		f, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		next := 0
		for _, rg := range f.RowGroups() {
			err := parquetfile.ReadRows(rg, func(batch []parquet.Row) error {
				for _, r := range batch {
					if got := r[0].Int64(); got != int64(next) || string(r[1].ByteArray()) != strconv.Itoa(next) {
						return fmt.Errorf("row %d reads %v", next, r)
					}
					next++
				}
				return nil
			})
			if err != nil {
				t.Fatalf("%d rows: %v", rows, err)
			}
		}
		if next != rows {
			t.Errorf("%d rows written, %d read", rows, next)
		}
	}
}
