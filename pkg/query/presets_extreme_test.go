package query_test

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/stlarchive/redshift-stl-archive/pkg/query"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/duckdb"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/presets"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// extremeRows is how many rows of extreme values each table gets per cluster, besides one row
// whose every column but the time columns is NULL.
const extremeRows = 4

// extremeDay is the day of the extreme archive; rows end at 10:00 + i minutes.
var extremeDay = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

// extremeArchive writes, for two clusters and every catalog table, extremeRows rows whose
// integer columns hold their type's largest value (bigint 2^63-1, integer 2^31-1) and one row
// of NULLs, with DuckDB's own unrestricted connection, in the exporter's layout.
func extremeArchive(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	lo := extremeDay.Add(9 * time.Hour)
	for _, cluster := range []string{"east", "west"} {
		for _, tb := range tables.STL() {
			var sel []string
			for i := 0; i <= extremeRows; i++ {
				sel = append(sel, extremeRow(tb, i, i == extremeRows))
			}
			path := filepath.Join(root, filepath.FromSlash(tables.ObjectKey(tb.Name, cluster, lo, lo.Add(2*time.Hour))))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			q := fmt.Sprintf("COPY (%s) TO '%s' (FORMAT parquet)", strings.Join(sel, " UNION ALL "), path)
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("write %s: %v", tb.Name, err)
			}
		}
	}
	return root
}

// extremeRow is one SELECT of table's columns: the largest value of each integer type, text
// that the presets look for (alert event names, missing-statistics notes, table names), and
// times inside the day. A NULL row keeps its times so that time filters still see it.
func extremeRow(tb tables.Table, i int, null bool) string {
	end := extremeDay.Add(10*time.Hour + time.Duration(i)*time.Minute)
	var cols []string
	for _, c := range tb.Columns {
		typ := strings.ToLower(c.Type)
		var v string
		switch {
		case strings.HasPrefix(typ, "timestamp"):
			at := end
			if strings.HasPrefix(c.Name, "start") || strings.HasSuffix(c.Name, "start_time") {
				at = end.Add(-time.Second)
			}
			v = fmt.Sprintf("TIMESTAMP '%s'", at.Format("2006-01-02 15:04:05"))
		case null:
			v = "NULL"
		case typ == "bigint":
			v = fmt.Sprintf("CAST(%d AS BIGINT)", int64(math.MaxInt64)-int64(i))
		case typ == "integer" || typ == "smallint":
			v = fmt.Sprintf("CAST(%d AS INTEGER)", math.MaxInt32)
		default:
			switch c.Name {
			case "event":
				v = "'Nested Loop Join in the query plan: a join without a condition'"
			case "solution":
				v = "'Review the join predicates'"
			case "plannode":
				v = "'Tables missing statistics: public.big ------'"
			case "perm_table_name":
				v = "'public.big'"
			default:
				v = fmt.Sprintf("'%s %d'", c.Name, i)
			}
		}
		cols = append(cols, v+" AS "+c.Name)
	}
	return "SELECT " + strings.Join(cols, ", ")
}

func extremeService(t *testing.T) *query.Service {
	t.Helper()
	engine, err := duckdb.Open(context.Background(), extremeArchive(t), duckdb.Options{Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close() })
	catalog, err := presets.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	return &query.Service{Engine: engine, Presets: catalog}
}

func runPreset(t *testing.T, svc *query.Service, id string) *data.Frame {
	t.Helper()
	ans, err := svc.Run(context.Background(), query.Request{
		Model: query.Model{RefID: "A", QueryType: query.TypeDiagnostics, Preset: id},
		From:  extremeDay, To: extremeDay.Add(24 * time.Hour), Interval: time.Hour,
	})
	if err != nil {
		t.Fatalf("preset %s: %v", id, err)
	}
	if len(ans.Frames) != 1 {
		t.Fatalf("preset %s: %d frames", id, len(ans.Frames))
	}
	return ans.Frames[0]
}

// Every preset answers over an archive whose integer counters hold the largest values of their
// types in several rows (their sums are far beyond 2^63-1), and the sums are numeric fields
// with the exact magnitude.
func TestPresetsSurviveCountersAtTheInt64Limit(t *testing.T) {
	svc := extremeService(t)
	catalog, _ := presets.Builtin()
	for _, p := range catalog.All() {
		if p.FromStatus() {
			continue
		}
		t.Run(p.ID, func(t *testing.T) {
			f := runPreset(t, svc, p.ID)
			if n, _ := f.RowLen(); n == 0 {
				t.Errorf("no rows over the extreme archive")
			}
		})
	}
	const max = float64(math.MaxInt64)
	// Per cluster and table: extremeRows rows of 2^63-1-i (the NULL row adds nothing).
	var sum float64
	for i := 0; i < extremeRows; i++ {
		sum += max - float64(i)
	}
	scan := runPreset(t, svc, "scan_volume")
	for _, name := range []string{"rows", "bytes"} {
		fld, _ := scan.FieldByName(name)
		if fld == nil {
			t.Fatalf("scan_volume has no field %s", name)
		}
		if fld.Len() != 2 {
			t.Fatalf("scan_volume %s: %d rows, want one per cluster", name, fld.Len())
		}
		for i := 0; i < fld.Len(); i++ {
			v, ok := fld.ConcreteAt(i)
			got, isFloat := v.(float64)
			if !ok || !isFloat || math.Abs(got-sum) > sum*1e-12 {
				t.Errorf("scan_volume %s row %d: %v (%T), want %g", name, i, v, v, sum)
			}
		}
	}
	wlm := runPreset(t, svc, "wlm_queue_wait")
	var seen int
	for _, fld := range wlm.Fields {
		if fld.Name != "queue_seconds" && fld.Name != "exec_seconds" || fld.Labels["service_class"] != fmt.Sprint(math.MaxInt32) {
			continue // the NULL row's series (no service class) sums nothing
		}
		for i := 0; i < fld.Len(); i++ {
			v, ok := fld.ConcreteAt(i)
			got, isFloat := v.(float64)
			if !ok || !isFloat || math.Abs(got-sum/1e6) > sum/1e6*1e-12 {
				t.Errorf("wlm_queue_wait %s%v row %d: %v, want %g", fld.Name, fld.Labels, i, v, sum/1e6)
			}
			seen++
		}
	}
	if seen != 4 { // two clusters × two metrics, one service class, one hour
		t.Errorf("wlm_queue_wait: %d values, want 4", seen)
	}
}

// Annotations always have text and tags, also for rows whose every column is NULL but the
// times: Grafana shows an annotation without text as an empty marker nobody can read.
func TestAnnotationPresetsNeverHaveNullText(t *testing.T) {
	svc := extremeService(t)
	catalog, _ := presets.Builtin()
	n := 0
	for _, p := range catalog.All() {
		if p.Format != presets.Annotations {
			continue
		}
		n++
		f := runPreset(t, svc, p.ID)
		rows, _ := f.RowLen()
		if rows < 2 {
			t.Errorf("%s: %d annotations, want the NULL row's too", p.ID, rows)
		}
		for _, name := range []string{"text", "tags"} {
			fld, _ := f.FieldByName(name)
			if fld == nil {
				t.Errorf("%s: no %s field", p.ID, name)
				continue
			}
			for i := 0; i < fld.Len(); i++ {
				v, ok := fld.ConcreteAt(i)
				if s, _ := v.(string); !ok || strings.TrimSpace(s) == "" {
					t.Errorf("%s: %s of annotation %d is %v", p.ID, name, i, v)
				}
			}
		}
	}
	if n < 2 {
		t.Errorf("%d annotation presets, want ddl_annotations and alert_annotations at least", n)
	}
}

// sumOverColumn is a sum() or avg() whose argument is a bare (optionally qualified) column.
var sumOverColumn = regexp.MustCompile(`(?i)\b(sum|avg)\s*\(\s*(?:\w+\.)?(\w+)\s*\)`)

// No preset, in either dialect, sums or averages an integer column of the catalog as it is:
// DuckDB's sum of a bigint is a HUGEINT that can leave int64 and Trino's is a bigint that fails
// on overflow. The extreme archive above proves DuckDB; this holds Athena's SQL to the same
// spelling, which has no engine here.
func TestPresetSumsNeverAddBareIntegerColumns(t *testing.T) {
	integer := map[string]bool{}
	for _, tb := range tables.STL() {
		for _, c := range tb.Columns {
			switch strings.ToLower(c.Type) {
			case "bigint", "integer", "smallint", "int", "int2", "int4", "int8":
				integer[c.Name] = true
			}
		}
	}
	catalog, _ := presets.Builtin()
	for _, p := range catalog.All() {
		for dialect, text := range p.SQL {
			for _, m := range sumOverColumn.FindAllStringSubmatch(text, -1) {
				if integer[strings.ToLower(m[2])] {
					t.Errorf("preset %s (%s): %s adds integer column %s as it is; CAST it AS DECIMAL(38,0)", p.ID, dialect, m[0], m[2])
				}
			}
		}
	}
	// Guard the pattern itself.
	if !sumOverColumn.MatchString("sum(s.bytes)") || sumOverColumn.MatchString("sum(CAST(bytes AS DECIMAL(38,0)))") {
		t.Fatal("sumOverColumn does not tell a bare column from a cast")
	}
}
