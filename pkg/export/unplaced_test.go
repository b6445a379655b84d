package export_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// Query ids of the rows the test adds, far above the simulator's (it counts up from a million).
const (
	unplacedCopies = 1_500_000_000 // copies with a NULL time, and their children
	ownNullTime    = 1_600_000_001 // an stl_query row of the exporter's own with a NULL time
	orphanA        = 1_700_000_001 // child rows without any parent row; A gets one later
	orphanB        = 1_700_000_002
)

type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// copyRows inserts copies of the rows of tb that where selects, with the column values of set
// (SQL over the source row t) in place of the source's; it returns the rows added.
func copyRows(t *testing.T, tx execer, tb tables.Table, where string, set map[string]string) int64 {
	t.Helper()
	cols := make([]string, len(tb.Columns))
	exprs := make([]string, len(tb.Columns))
	for i, c := range tb.Columns {
		cols[i], exprs[i] = c.Name, "t."+c.Name
		if e, ok := set[c.Name]; ok {
			exprs[i] = e
		}
	}
	tag, err := tx.Exec(context.Background(), fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s t WHERE %s",
		tb.Name, strings.Join(cols, ", "), strings.Join(exprs, ", "), tb.Name, where))
	if err != nil {
		t.Fatalf("copy rows of %s: %v", tb.Name, err)
	}
	return tag.RowsAffected()
}

// TestUnplacedRowsAreCountedAndShown adds to a simulated cluster rows that no export window can
// hold: rows with a NULL time in every table that has one (with NULL labels), child rows whose
// stl_query row has a NULL time, child rows without any stl_query row, and a child row with a
// NULL query; and, of the exporter's own, an stl_query row with a NULL time with its scan and
// text rows, which stay out. The pass counts each table's unplaced rows in its one statement per
// table; state, status JSON and health show them; the archive still equals the source; and once
// an orphan's parent arrives, its rows are exported and leave the count.
func TestUnplacedRowsAreCountedAndShown(t *testing.T) {
	c := newSimCluster(t, "unplaced", 2)
	root := t.TempDir()
	e := openExporter(t, testConfig(t, root, c.Cfg), export.Options{})
	ctx := context.Background()
	last := c.History(t, 30*time.Minute)
	waitPastLag(t, c, last)

	conn := c.Connect(t)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	want := map[string]int64{}
	var copied []int64 // stl_query ids copied with a NULL time
	rows, err := tx.Query(ctx, "SELECT query FROM stl_query q WHERE query < $1 AND label IS DISTINCT FROM $2 AND endtime IS NOT NULL"+
		" AND EXISTS (SELECT 1 FROM stl_querytext c WHERE c.query = q.query) AND EXISTS (SELECT 1 FROM stl_explain c WHERE c.query = q.query) ORDER BY query LIMIT 3", unplacedCopies, queryGroup)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var q int64
		if err := rows.Scan(&q); err != nil {
			t.Fatal(err)
		}
		copied = append(copied, q)
	}
	if rows.Close(); rows.Err() != nil || len(copied) != 3 {
		t.Fatalf("stl_query ids to copy: %v %v", copied, rows.Err())
	}
	ids := fmt.Sprintf("(%d, %d, %d)", copied[0], copied[1], copied[2])
	for _, tb := range tables.STL() {
		set := map[string]string{}
		for _, col := range tb.Columns {
			switch col.Name {
			case tb.TimeColumn:
				set[col.Name] = "NULL"
			case "label":
				set[col.Name] = "NULL" // no label proves a row the exporter's
			case "query":
				set[col.Name] = fmt.Sprintf("t.query + %d", unplacedCopies)
			case "xid":
				set[col.Name] = fmt.Sprintf("t.xid + %d", unplacedCopies)
			}
		}
		var where string
		switch {
		case tb.Parent != "":
			// The children of the copies: their parent row has a NULL time.
			where = "t.query IN " + ids
		case tb.Name == "stl_query":
			where = "t.query IN " + ids
		default:
			where = fmt.Sprintf("t.%s IS NOT NULL AND t.xid < %d ORDER BY t.%s LIMIT 2", tb.TimeColumn, unplacedCopies, tb.TimeColumn)
			if tb.Name == "stl_scan" {
				where = fmt.Sprintf("t.query < %d ORDER BY t.%s LIMIT 2", unplacedCopies, tb.TimeColumn)
			}
		}
		want[tb.Name] = copyRows(t, tx, tb, where, set)
		if want[tb.Name] == 0 {
			t.Fatalf("no row of %s copied with a NULL time", tb.Name)
		}
		if tb.Parent == "" {
			continue
		}
		// Orphans: rows of two queries that have no stl_query row at all, and one with a NULL query.
		q := copied[0]
		for _, id := range []int64{orphanA, orphanB} {
			want[tb.Name] += copyRows(t, tx, tb, fmt.Sprintf("t.query = %d", q), map[string]string{"query": fmt.Sprint(id)})
		}
		want[tb.Name] += copyRows(t, tx, tb, fmt.Sprintf("t.query = %d", q), map[string]string{"query": "NULL"})
		// The exporter's own: a child of its NULL-time stl_query row is provably its own.
		copyRows(t, tx, tb, fmt.Sprintf("t.query = %d", q), map[string]string{"query": fmt.Sprint(ownNullTime)})
	}
	// The exporter's own stl_query row with a NULL time, and a scan row of it: not counted.
	q, _ := tables.Lookup("stl_query")
	copyRows(t, tx, q, fmt.Sprintf("t.query = %d", copied[0]), map[string]string{"query": fmt.Sprint(ownNullTime), "endtime": "NULL", "label": fmt.Sprintf("'%-30s'", queryGroup)})
	scan, _ := tables.Lookup("stl_scan")
	copyRows(t, tx, scan, fmt.Sprintf("t.query = %d AND t.endtime IS NOT NULL", copied[0]), map[string]string{"query": fmt.Sprint(ownNullTime), "endtime": "NULL"})
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	// Verification is off in this configuration: the first cycle of the process counts them,
	// one statement per table, as a pass would.
	mustCycle(t, e)
	for _, name := range tables.Names() {
		p, err := e.Store().Get(ctx, "unplaced", name)
		if err != nil {
			t.Fatal(err)
		}
		if p.Unplaced.Rows != want[name] || p.Unplaced.Counted.IsZero() {
			t.Errorf("%s: the first cycle counted %+v, want %d unplaced rows", name, p.Unplaced, want[name])
		}
	}

	t.Logf("unplaced rows added per table: %v", want)
	res := e.VerifyCluster(ctx, "unplaced", export.VerifyOptions{Heal: true})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if res.Queries != int64(len(tables.Names())) {
		t.Errorf("the pass sent %d statements, want one per table (%d): the unplaced rows are counted in the same statement", res.Queries, len(tables.Names()))
	}
	firstSeen := map[string]time.Time{}
	for _, tv := range res.Tables {
		if tv.Err != nil {
			t.Fatalf("%s: %v", tv.Table, tv.Err)
		}
		if tv.Unplaced != want[tv.Table] {
			t.Errorf("%s: pass counted %d unplaced rows, want %d", tv.Table, tv.Unplaced, want[tv.Table])
		}
		p, err := e.Store().Get(ctx, "unplaced", tv.Table)
		if err != nil {
			t.Fatal(err)
		}
		if p.Unplaced.Rows != want[tv.Table] || p.Unplaced.FirstSeen.IsZero() || p.Unplaced.Counted.IsZero() {
			t.Errorf("%s: state %+v, want %d rows with a first sighting", tv.Table, p.Unplaced, want[tv.Table])
		}
		firstSeen[tv.Table] = p.Unplaced.FirstSeen
	}

	// Status as JSON (what status --json prints) and health.
	st, err := export.Status(ctx, e.Store(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var doc []struct {
		Table        string `json:"table"`
		Verification struct {
			Unplaced struct {
				Rows      int64      `json:"rows"`
				FirstSeen *time.Time `json:"firstSeen"`
			} `json:"unplaced"`
		} `json:"verification"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, d := range doc {
		if u := d.Verification.Unplaced; u.Rows != want[d.Table] || u.FirstSeen == nil {
			t.Errorf("status JSON of %s: unplaced %+v, want %d rows", d.Table, u, want[d.Table])
		}
		total += want[d.Table]
	}
	h := e.CheckCluster(ctx, "unplaced")
	line, _ := h.Summary()
	if h.Verification.UnplacedRows != total || !strings.Contains(line, fmt.Sprintf("%d row(s) on the source that no window can hold", total)) {
		t.Errorf("health: %d unplaced rows, want %d; %s", h.Verification.UnplacedRows, total, line)
	}

	// Everything else is archived exactly.
	mustCycle(t, e)
	assertArchiveEqualsSource(t, root, e.Store(), c)

	// The parent of orphan A arrives: its rows are exported with it and leave the count; the
	// first sighting of what remains is kept.
	at := c.SourceNow(t)
	copyRows(t, conn, q, fmt.Sprintf("t.query = %d", copied[0]), map[string]string{"query": fmt.Sprint(orphanA),
		"endtime": fmt.Sprintf("'%s'::timestamp", at.Format("2006-01-02 15:04:05.999999"))})
	waitPastLag(t, c, at)
	mustCycle(t, e)
	assertArchiveEqualsSource(t, root, e.Store(), c)
	res = e.VerifyCluster(ctx, "unplaced", export.VerifyOptions{Heal: true})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	for _, tv := range res.Tables {
		n := want[tv.Table]
		if tv.Table == "stl_querytext" || tv.Table == "stl_explain" {
			var a int64
			if err := conn.QueryRow(ctx, fmt.Sprintf("SELECT count(*) FROM %s WHERE query = $1", tv.Table), orphanA).Scan(&a); err != nil {
				t.Fatal(err)
			}
			n -= a
		}
		p, err := e.Store().Get(ctx, "unplaced", tv.Table)
		if err != nil {
			t.Fatal(err)
		}
		if tv.Unplaced != n || p.Unplaced.Rows != n || !p.Unplaced.FirstSeen.Equal(firstSeen[tv.Table]) {
			t.Errorf("%s after orphan A's parent arrived: counted %d, state %+v, want %d first seen %v", tv.Table, tv.Unplaced, p.Unplaced, n, firstSeen[tv.Table])
		}
	}
}
