package source_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stlarchive/redshift-stl-archive/pkg/export/source"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func connect(t *testing.T) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.Database(t, "source"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	return conn
}

// collected is a whole result copied out of the recycled batches.
type collected struct {
	cols    []source.Column
	rows    [][]any // nil for NULL; int64, float64, bool or string otherwise
	batches []int
}

func collect(t *testing.T, conn *pgx.Conn, sql string, args []any, opts source.Options) (*collected, error) {
	t.Helper()
	var c collected
	starts := 0
	n, err := source.Stream(context.Background(), conn, sql, args, opts,
		func(cols []source.Column) error { starts++; c.cols = cols; return nil },
		func(b *source.Batch) error {
			c.batches = append(c.batches, b.Len)
			for r := range b.Len {
				row := make([]any, len(b.Cols))
				for i := range b.Cols {
					row[i] = valueAt(c.cols[i], &b.Cols[i], r)
				}
				c.rows = append(c.rows, row)
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	if starts != 1 {
		t.Fatalf("start called %d times, want 1", starts)
	}
	if n != int64(len(c.rows)) {
		t.Fatalf("Stream returned %d rows, each saw %d", n, len(c.rows))
	}
	return &c, nil
}

func valueAt(c source.Column, v *source.Vector, r int) any {
	if v.Null[r] {
		return nil
	}
	switch c.Kind {
	case source.KindText:
		return string(v.Text(r))
	case source.KindNumeric:
		if c.Unscaled() {
			return v.Ints[r]
		}
		return string(v.Text(r))
	case source.KindFloat32, source.KindFloat64:
		return v.Floats[r]
	case source.KindBool:
		return v.Bools[r]
	}
	return v.Ints[r]
}

func micros(s string) int64 {
	ts, err := time.Parse("2006-01-02 15:04:05.999999Z07:00", s)
	if err != nil {
		panic(err)
	}
	return ts.UnixMicro()
}

func days(s string) int64 {
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return d.Unix() / 86400
}

// TestStreamDecodesEveryKindExactly reads every kind, numeric both as Redshift sends it to a
// client that negotiated no binary support (text, the exporter's way) and in binary.
func TestStreamDecodesEveryKindExactly(t *testing.T) {
	for _, binaryNumeric := range []bool{false, true} {
		t.Run(fmt.Sprintf("binary numeric %v", binaryNumeric), func(t *testing.T) {
			testStreamDecodesEveryKindExactly(t, source.Options{BinaryNumeric: binaryNumeric})
		})
	}
}

func testStreamDecodesEveryKindExactly(t *testing.T, opts source.Options) {
	conn := connect(t)
	tests := []struct {
		expr       string
		kind       source.Kind
		prec, scal int
		want       any
	}{
		{"32767::smallint", source.KindInt16, 0, 0, int64(32767)},
		{"(-32768)::smallint", source.KindInt16, 0, 0, int64(-32768)},
		{"2147483647::integer", source.KindInt32, 0, 0, int64(2147483647)},
		{"(-2147483648)::integer", source.KindInt32, 0, 0, int64(-2147483648)},
		{"9223372036854775807::bigint", source.KindInt64, 0, 0, int64(9223372036854775807)},
		{"(-9223372036854775808)::bigint", source.KindInt64, 0, 0, int64(-9223372036854775808)},
		{"1.5::real", source.KindFloat32, 0, 0, 1.5},
		{"(-2.25e300)::double precision", source.KindFloat64, 0, 0, -2.25e300},
		{"true", source.KindBool, 0, 0, true},
		{"false", source.KindBool, 0, 0, false},
		{"12345678901234.5678::numeric(18,4)", source.KindNumeric, 18, 4, int64(123456789012345678)},
		{"(-0.0001)::numeric(12,4)", source.KindNumeric, 12, 4, int64(-1)},
		{"0::numeric(12,2)", source.KindNumeric, 12, 2, int64(0)},
		{"1234567890.12::numeric(12,2)", source.KindNumeric, 12, 2, int64(123456789012)},
		{"12345678901234567890123456.1234567891::numeric(38,10)", source.KindNumeric, 38, 10, "12345678901234567890123456.1234567891"},
		{"(-0.0001)::numeric(38,10)", source.KindNumeric, 38, 10, "-0.0001000000"},
		{"0::numeric", source.KindNumeric, 0, 0, "0"},
		{"123456789012345678901234567890.000100::numeric", source.KindNumeric, 0, 0, "123456789012345678901234567890.000100"},
		{"(-0.0001)::numeric", source.KindNumeric, 0, 0, "-0.0001"},
		{"(-42)::numeric(10,0)", source.KindNumeric, 10, 0, int64(-42)},
		{"99999999999999999999999999999999999999::numeric(38,0)", source.KindNumeric, 38, 0, "99999999999999999999999999999999999999"},
		{"(-9999999999999999999999999999.9999999999)::numeric(38,10)", source.KindNumeric, 38, 10, "-9999999999999999999999999999.9999999999"},
		{"0.5::numeric(38,10)", source.KindNumeric, 38, 10, "0.5000000000"},
		{"(-0.0000000001)::numeric(18,10)", source.KindNumeric, 18, 10, int64(-1)},
		{"999999999999999999::numeric(18,0)", source.KindNumeric, 18, 0, int64(999999999999999999)},
		{"'0001-01-01 00:00:00'::timestamp", source.KindTimestamp, 0, 0, micros("0001-01-01 00:00:00Z")},
		{"'1999-12-31 23:59:59.999999'::timestamp", source.KindTimestamp, 0, 0, micros("1999-12-31 23:59:59.999999Z")},
		{"'1900-01-01 00:00:00.000001'::timestamp", source.KindTimestamp, 0, 0, micros("1900-01-01 00:00:00.000001Z")},
		{"'2000-01-01 00:00:00'::timestamp", source.KindTimestamp, 0, 0, micros("2000-01-01 00:00:00Z")},
		{"'9999-12-31 23:59:59.999999'::timestamp", source.KindTimestamp, 0, 0, micros("9999-12-31 23:59:59.999999Z")},
		{"'2026-11-29 10:00:00.123456+02'::timestamptz", source.KindTimestampTZ, 0, 0, micros("2026-11-29 08:00:00.123456Z")},
		{"'1969-07-20'::date", source.KindDate, 0, 0, days("1969-07-20")},
		{"'2100-02-28'::date", source.KindDate, 0, 0, days("2100-02-28")},
		{"E'quote '' backslash \\\\ newline \\n tab \\t é 東京 🙂'::text", source.KindText, 0, 0, "quote ' backslash \\ newline \n tab \t é 東京 🙂"},
		{"'trailing  '::varchar(20)", source.KindText, 0, 0, "trailing  "},
		{"'padded'::char(10)", source.KindText, 0, 0, "padded"},
		{"'pg_class'::name", source.KindText, 0, 0, "pg_class"},
		{"''::text", source.KindText, 0, 0, ""},
	}
	var sel []string
	for i, tt := range tests {
		sel = append(sel, fmt.Sprintf("%s AS c%d", tt.expr, i))
		// The same type once more as NULL: every kind must carry NULLs.
		typed := tt.expr[strings.LastIndex(tt.expr, "::")+2:]
		if tt.kind == source.KindBool {
			typed = "boolean"
		}
		sel = append(sel, fmt.Sprintf("NULL::%s AS n%d", typed, i))
	}
	got, err := collect(t, conn, "SELECT "+strings.Join(sel, ", "), nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.rows) != 1 {
		t.Fatalf("got %d rows, want 1", len(got.rows))
	}
	for i, tt := range tests {
		c, v := got.cols[2*i], got.rows[0][2*i]
		if c.Kind != tt.kind || c.Precision != tt.prec || c.Scale != tt.scal {
			t.Errorf("%s: column %+v, want kind %v numeric(%d,%d)", tt.expr, c, tt.kind, tt.prec, tt.scal)
		}
		if v != tt.want {
			t.Errorf("%s: got %#v, want %#v", tt.expr, v, tt.want)
		}
		if n := got.rows[0][2*i+1]; n != nil {
			t.Errorf("NULL %s: got %#v", tt.expr, n)
		}
	}
}

func TestStreamTrimsCharPaddingExceptWhereKept(t *testing.T) {
	conn := connect(t)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, `CREATE TABLE chunks (flag char(1), name char(20), text char(12), note varchar(12));
		INSERT INTO chunks VALUES (' ', 'orders', 'SELECT * ', 'keep me  '), ('t', NULL, '  a b  ', NULL)`); err != nil {
		t.Fatal(err)
	}
	opts := source.Options{KeepPadding: func(col string) bool { return col == "text" }}
	got, err := collect(t, conn, "SELECT flag, name, text, note FROM chunks ORDER BY flag", nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]any{
		{"", "orders", "SELECT *    ", "keep me  "},
		{"t", nil, "  a b       ", nil},
	}
	for r := range want {
		for i := range want[r] {
			if got.rows[r][i] != want[r][i] {
				t.Errorf("row %d %s: got %q, want %q", r, got.cols[i].Name, got.rows[r][i], want[r][i])
			}
		}
	}
	if !got.cols[2].KeepPadding || got.cols[1].KeepPadding || got.cols[3].KeepPadding {
		t.Errorf("KeepPadding on columns: %+v", got.cols)
	}
}

func TestStreamCallsStartWhenThereAreNoRows(t *testing.T) {
	conn := connect(t)
	got, err := collect(t, conn, "SELECT g AS id, 'x'::text AS label FROM generate_series(1, 10) g WHERE g > $1", []any{100}, source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.cols) != 2 || got.cols[0].Name != "id" || got.cols[0].Kind != source.KindInt32 || got.cols[1].Kind != source.KindText {
		t.Fatalf("columns %+v", got.cols)
	}
	if len(got.batches) != 0 {
		t.Fatalf("each called %d times for an empty result", len(got.batches))
	}
}

func TestStreamSplitsLargeResultsIntoBoundedBatches(t *testing.T) {
	conn := connect(t)
	tests := []struct {
		name string
		opts source.Options
		max  int
	}{
		{"by rows", source.Options{BatchRows: 1000}, 1000},
		{"by bytes", source.Options{BatchBytes: 64 << 10}, (64<<10)/(8+100) + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := collect(t, conn, "SELECT g::bigint AS n, repeat('x', 100) AS pad FROM generate_series(1, 10007) g", nil, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.rows) != 10007 {
				t.Fatalf("got %d rows", len(got.rows))
			}
			for i, row := range got.rows {
				if row[0] != int64(i+1) || row[1] != strings.Repeat("x", 100) {
					t.Fatalf("row %d: %v", i, row)
				}
			}
			for _, n := range got.batches {
				if n > tt.max {
					t.Fatalf("batch of %d rows, want at most %d", n, tt.max)
				}
			}
			if len(got.batches) < 10007/tt.max {
				t.Fatalf("%d batches", len(got.batches))
			}
		})
	}
}

func TestStreamRecyclesTwoBatches(t *testing.T) {
	conn := connect(t)
	seen := map[*source.Batch]bool{}
	_, err := source.Stream(context.Background(), conn, "SELECT g FROM generate_series(1, 5000) g", nil,
		source.Options{BatchRows: 500}, func([]source.Column) error { return nil },
		func(b *source.Batch) error { seen[b] = true; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 {
		t.Fatalf("%d distinct batches, want 2", len(seen))
	}
}

func TestStreamReadsUndecodedTypesAsText(t *testing.T) {
	conn := connect(t)
	got, err := collect(t, conn, `SELECT '1 day 02:00:00'::interval AS iv, '{"a": 1}'::jsonb AS doc,
		'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS id, NULL::interval AS missing`, nil, source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []any{"1 day 02:00:00", `{"a": 1}`, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", nil}
	for i, w := range want {
		if got.cols[i].Kind != source.KindText || got.rows[0][i] != w {
			t.Errorf("%s: %v %#v, want text %#v", got.cols[i].Name, got.cols[i].Kind, got.rows[0][i], w)
		}
	}
}

func TestStreamRefusesValuesWithoutExactForm(t *testing.T) {
	tests := []struct{ name, expr string }{
		{"numeric NaN", "'NaN'::numeric"},
		{"numeric NaN in a scaled column", "'NaN'::numeric(10,2)"},
		{"infinite timestamp", "'infinity'::timestamp"},
		{"infinite date", "'-infinity'::date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := connect(t)
			_, err := collect(t, conn, "SELECT 1 AS ok, "+tt.expr+" AS odd_value", nil, source.Options{})
			if err == nil || !strings.Contains(err.Error(), `"odd_value"`) {
				t.Fatalf("got %v, want an error naming odd_value", err)
			}
		})
	}
}

func TestStreamStopsAtTheFirstCallbackError(t *testing.T) {
	conn := connect(t)
	stop := errors.New("disk full")
	calls := 0
	_, err := source.Stream(context.Background(), conn, "SELECT generate_series(1, 1000000) AS g", nil,
		source.Options{BatchRows: 100}, func([]source.Column) error { return nil },
		func(*source.Batch) error { calls++; return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("got %v, want the callback's error", err)
	}
	if calls != 1 {
		t.Fatalf("each called %d times after failing", calls)
	}
}

func TestBufferedReadsStreamTheSameRowsAndKeepTheConnUsable(t *testing.T) {
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(pgtest.Database(t, "source"))
	if err != nil {
		t.Fatal(err)
	}
	source.BufferReads(cfg, 0)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for round := range 2 {
		var sum, n int64
		_, err := source.Stream(ctx, conn, "SELECT g::bigint, md5(g::text) FROM generate_series(1, 200000) g", nil, source.Options{},
			func([]source.Column) error { return nil },
			func(b *source.Batch) error {
				for r := range b.Len {
					sum += b.Cols[0].Ints[r]
					if len(b.Cols[1].Text(r)) != 32 {
						t.Fatalf("md5 of %d bytes", len(b.Cols[1].Text(r)))
					}
				}
				n += int64(b.Len)
				return nil
			})
		if err != nil {
			t.Fatal(err)
		}
		if n != 200000 || sum != 200000*200001/2 {
			t.Fatalf("round %d: %d rows summing to %d", round, n, sum)
		}
	}
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("conn after streaming: %v %d", err, one)
	}
}

func TestStreamReturnsStartErrorWithoutReadingRows(t *testing.T) {
	conn := connect(t)
	refuse := errors.New("no writer for this schema")
	calls := 0
	_, err := source.Stream(context.Background(), conn, "SELECT g FROM generate_series(1, 10) g", nil, source.Options{},
		func([]source.Column) error { return refuse },
		func(*source.Batch) error { calls++; return nil })
	if !errors.Is(err, refuse) || calls != 0 {
		t.Fatalf("got %v after %d batches, want the start error and none", err, calls)
	}
	var one int
	if err := conn.QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil {
		t.Fatalf("conn unusable after a refused start: %v", err)
	}
}

func TestStreamStopsWhenTheContextIsCancelled(t *testing.T) {
	conn := connect(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := source.Stream(ctx, conn, "SELECT generate_series(1, 100000000) AS g", nil, source.Options{BatchRows: 100},
		func([]source.Column) error { return nil },
		func(*source.Batch) error { cancel(); return nil })
	if err == nil {
		t.Fatal("no error after cancelling")
	}
}
