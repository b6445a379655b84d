package sim

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

func workload(t testing.TB, o Options) *Workload {
	t.Helper()
	w, err := NewWorkload(o)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// stepThrough steps w over (from, from+span] in steps of size.
func stepThrough(t testing.TB, conn *pgx.Conn, w *Workload, from time.Time, span, size time.Duration) Stats {
	t.Helper()
	var total Stats
	for at := from; at.Before(from.Add(span)); at = at.Add(size) {
		s, err := w.Step(context.Background(), conn, at, at.Add(size))
		if err != nil {
			t.Fatal(err)
		}
		total.Add(s)
	}
	return total
}

func count(t testing.TB, conn *pgx.Conn, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// pendingQueries are the query ids with rows of table still to arrive.
func (w *Workload) pendingQueries(table int) map[int32]bool {
	out := map[int32]bool{}
	for _, p := range w.pending {
		if p.table == table {
			col := 1 // query is the second column of stl_query, stl_scan, stl_alert_event_log
			if table == tWLM {
				col = 3
			}
			out[p.values[col].(int32)] = true
		}
	}
	return out
}

func TestStepWritesConsistentData(t *testing.T) {
	conn := cluster(t)
	ctx := context.Background()
	w := workload(t, busy(7))
	stats := stepThrough(t, conn, w, epoch, 4*time.Minute, 20*time.Second)
	// The checks below join big tables; fresh tables have no statistics yet.
	if _, err := conn.Exec(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}

	t.Run("stats count the rows written", func(t *testing.T) {
		for _, name := range tables.Names() {
			if got := count(t, conn, "SELECT count(*) FROM "+name); got != stats.Rows[name] || got == 0 {
				t.Errorf("%s holds %d rows, stats say %d", name, got, stats.Rows[name])
			}
		}
	})

	t.Run("querytext reassembles to the statement", func(t *testing.T) {
		rows, err := conn.Query(ctx, `SELECT s.text, q.querytxt,
				array_agg(c.text ORDER BY c.sequence), array_agg(c.sequence ORDER BY c.sequence)
			FROM sim_statement s JOIN stl_query q USING (query) JOIN stl_querytext c USING (query)
			GROUP BY s.query, s.text, q.querytxt`)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		var n int
		for rows.Next() {
			var text, querytxt string
			var chunks []string
			var seqs []int32
			if err := rows.Scan(&text, &querytxt, &chunks, &seqs); err != nil {
				t.Fatal(err)
			}
			n++
			checkChunks(t, text, chunks, seqs, seen)
			if got, want := strings.TrimRight(querytxt, " "), strings.TrimRight(truncate(text, querytxtSize), " "); got != want {
				t.Errorf("querytxt is not the first 4000 characters of %q", text)
			}
			if utf8.RuneCountInString(text) > querytxtSize {
				seen["longer than querytxt"]++
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if int64(n) != stats.Rows["stl_query"] {
			t.Errorf("%d statements reassembled, %d queries written", n, stats.Rows["stl_query"])
		}
		for _, k := range []string{"longer than querytxt", "whole chunks", "ends in blanks", "inner chunk ends in a blank",
			"chunk of blanks", "escaped newline", "escaped backslash", "tab", "quote", "non-ASCII", "emoji"} {
			if seen[k] == 0 {
				t.Errorf("no statement with %s", k)
			}
		}
		t.Logf("edge cases: %v", seen)
	})

	t.Run("ddl and utility text reassembles to the statement", func(t *testing.T) {
		for _, table := range []string{"stl_ddltext", "stl_utilitytext"} {
			rows, err := conn.Query(ctx, `SELECT s.text, array_agg(c.text ORDER BY c.sequence), array_agg(c.sequence ORDER BY c.sequence),
					count(DISTINCT c.endtime), count(DISTINCT coalesce(c.label::text, E'\\x01NULL'))
				FROM sim_statement_xid s JOIN `+table+` c USING (xid, pid, starttime)
				WHERE s.tablename = $1 GROUP BY s.xid, s.pid, s.starttime, s.text`, table)
			if err != nil {
				t.Fatal(err)
			}
			var n int
			for rows.Next() {
				var text string
				var chunks []string
				var seqs []int32
				var ends, labels int64
				if err := rows.Scan(&text, &chunks, &seqs, &ends, &labels); err != nil {
					t.Fatal(err)
				}
				n++
				checkChunks(t, text, chunks, seqs, map[string]int{})
				if ends != 1 || labels != 1 {
					t.Errorf("chunks of %q have %d end times and %d labels", text, ends, labels)
				}
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if statements := count(t, conn, "SELECT count(DISTINCT (xid, pid, starttime)) FROM "+table); int64(n) != statements || n == 0 {
				t.Errorf("%s: %d statements reassembled of %d", table, n, statements)
			}
		}
	})

	t.Run("every child row has a parent", func(t *testing.T) {
		for _, child := range []string{"stl_querytext", "stl_explain"} {
			if n := count(t, conn, "SELECT count(*) FROM "+child+" c WHERE NOT EXISTS (SELECT 1 FROM stl_query p WHERE p.query = c.query)"); n != 0 {
				t.Errorf("%d %s rows without their stl_query row", n, child)
			}
		}
		if n := count(t, conn, "SELECT count(*) FROM stl_query q WHERE NOT EXISTS (SELECT 1 FROM sim_statement s WHERE s.query = q.query)"); n != 0 {
			t.Errorf("%d queries without ground truth", n)
		}
		// Rows of running queries arrive by their own times, before the query's stl_query row.
		running := w.pendingQueries(tQuery)
		for _, table := range []string{"stl_scan", "stl_wlm_query", "stl_alert_event_log"} {
			rows, err := conn.Query(ctx, "SELECT DISTINCT query FROM "+table+" c WHERE NOT EXISTS (SELECT 1 FROM stl_query p WHERE p.query = c.query)")
			if err != nil {
				t.Fatal(err)
			}
			ids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				if !running[id] {
					t.Errorf("%s has rows of query %d, which is neither written nor running", table, id)
				}
			}
		}
		waiting := w.pendingQueries(tWLM)
		rows, err := conn.Query(ctx, "SELECT query FROM stl_query q WHERE NOT EXISTS (SELECT 1 FROM stl_wlm_query w WHERE w.query = q.query)")
		if err != nil {
			t.Fatal(err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if !waiting[id] {
				t.Errorf("query %d has no stl_wlm_query row and none to come", id)
			}
		}
	})

	t.Run("wlm times nest inside the query and add up", func(t *testing.T) {
		n := count(t, conn, `SELECT count(*) FROM stl_wlm_query w JOIN stl_query q USING (query)
			WHERE NOT (q.starttime <= w.service_class_start_time
			  AND w.service_class_start_time <= w.queue_start_time
			  AND w.queue_start_time <= w.queue_end_time
			  AND w.queue_end_time <= w.exec_start_time
			  AND w.exec_start_time <= w.exec_end_time
			  AND w.exec_end_time <= w.service_class_end_time
			  AND w.service_class_end_time <= q.endtime
			  AND w.total_queue_time = (extract(epoch FROM w.queue_end_time - w.queue_start_time) * 1000000)::bigint
			  AND w.total_exec_time = (extract(epoch FROM w.exec_end_time - w.exec_start_time) * 1000000)::bigint
			  AND w.xid = q.xid AND w.userid = q.userid)`)
		if n != 0 {
			t.Errorf("%d stl_wlm_query rows inconsistent with their query", n)
		}
		for _, cond := range []string{"service_class IN (6, 7, 8)", "service_class >= 100", "service_class = 14", "total_queue_time > 0"} {
			if count(t, conn, "SELECT count(*) FROM stl_wlm_query WHERE "+cond) == 0 {
				t.Errorf("no stl_wlm_query row with %s", cond)
			}
		}
	})

	t.Run("scans lie within their query and cover every slice", func(t *testing.T) {
		if n := count(t, conn, `SELECT count(*) FROM stl_scan s JOIN stl_query q USING (query)
			WHERE s.starttime < q.starttime OR s.endtime > q.endtime OR s.endtime < s.starttime
			   OR s.rows > s.rows_pre_user_filter OR s.rows_pre_user_filter > s.rows_pre_filter`); n != 0 {
			t.Errorf("%d stl_scan rows outside their query or with inconsistent row counts", n)
		}
		if n := count(t, conn, "SELECT count(DISTINCT slice) FROM stl_scan"); n != int64(w.opt.Slices) {
			t.Errorf("%d slices scanned, want %d", n, w.opt.Slices)
		}
		if n := count(t, conn, `SELECT count(*) FROM stl_scan WHERE is_rrscan NOT IN ('t', 'f') OR runtime_filtering NOT IN ('t', 'f')`); n != 0 {
			t.Errorf("%d stl_scan rows with flags other than t/f", n)
		}
		if n := count(t, conn, "SELECT count(DISTINCT perm_table_name) FROM stl_scan"); n < 5 {
			t.Errorf("only %d tables scanned", n)
		}
	})

	t.Run("plans are trees with Redshift's notices", func(t *testing.T) {
		if n := count(t, conn, `SELECT count(*) FROM stl_explain c
			WHERE c.parentid <> 0 AND NOT EXISTS (SELECT 1 FROM stl_explain p WHERE p.query = c.query AND p.nodeid = c.parentid AND p.nodeid < c.nodeid)`); n != 0 {
			t.Errorf("%d plan nodes whose parent is missing", n)
		}
		if n := count(t, conn, `SELECT count(*) FROM (SELECT query FROM stl_explain GROUP BY query HAVING max(nodeid) <> count(*) OR min(nodeid) <> 1) x`); n != 0 {
			t.Errorf("%d plans whose node ids are not 1..n", n)
		}
		for _, like := range []string{"XN Hash Join DS_DIST_NONE%", "XN Seq Scan on sales%", "XN Nested Loop%", "----- Tables missing statistics: %", "XN Hash Join DS_BCAST_INNER%"} {
			if count(t, conn, "SELECT count(*) FROM stl_explain WHERE plannode LIKE $1", like) == 0 {
				t.Errorf("no plan node like %q", like)
			}
		}
	})

	t.Run("alerts use Redshift's event names", func(t *testing.T) {
		names := []string{alertMissingStats.name, alertNestedLoop.name, alertSelective.name, alertDeleted.name, alertDistributed.name, alertBroadcast.name}
		for _, name := range names {
			if count(t, conn, "SELECT count(*) FROM stl_alert_event_log WHERE trim(split_part(event, ':', 1)) = $1 AND solution <> ''", name) == 0 {
				t.Errorf("no alert %q", name)
			}
		}
		if n := count(t, conn, "SELECT count(*) FROM stl_alert_event_log WHERE NOT (trim(split_part(event, ':', 1)) = ANY($1))", names); n != 0 {
			t.Errorf("%d alerts with unknown names", n)
		}
	})

	t.Run("users, databases and query ids look like one cluster", func(t *testing.T) {
		if n := count(t, conn, "SELECT count(*) FROM stl_query WHERE userid <> 1 AND userid NOT BETWEEN 100 AND 110"); n != 0 {
			t.Errorf("%d queries of unexpected users", n)
		}
		if count(t, conn, "SELECT count(*) FROM stl_query WHERE userid = 1") == 0 {
			t.Error("no system queries")
		}
		if n := count(t, conn, "SELECT count(DISTINCT database) FROM stl_query"); n < 2 {
			t.Errorf("%d databases", n)
		}
		if n := count(t, conn, "SELECT count(*) - count(DISTINCT query) FROM stl_query"); n != 0 {
			t.Errorf("%d duplicate query ids", n)
		}
		if n := count(t, conn, `SELECT count(*) FROM (SELECT query, lag(query) OVER (ORDER BY starttime, query) AS prev FROM stl_query) x
			WHERE prev >= query`); n != 0 {
			t.Errorf("%d query ids do not increase with start time", n)
		}
	})

	t.Run("natural keys are unique", func(t *testing.T) {
		for _, tb := range tables.STL() {
			key := strings.Join(tb.Key, ", ")
			if n := count(t, conn, fmt.Sprintf("SELECT count(*) - count(DISTINCT (%s)) FROM %s", key, tb.Name)); n != 0 {
				t.Errorf("%s: %d duplicates of (%s)", tb.Name, n, key)
			}
		}
	})

	t.Run("odd labels that are not the exporter's appear in every labelled table", func(t *testing.T) {
		group := w.opt.QueryGroup
		kinds := map[string]string{
			"NULL":            "label IS NULL",
			"blank":           "label = ''",
			"non-ASCII":       "label::text ~ '[^\\x01-\\x7e]'",
			"look-alike":      "label::text IN ($1 || '2', ' ' || $1, upper($1))",
			"trailing blanks": "label = 'etl_nightly'",
		}
		for _, table := range []string{"stl_query", "stl_ddltext", "stl_utilitytext"} {
			for kind, where := range kinds {
				if count(t, conn, "SELECT count(*) FROM "+table+" WHERE "+where+" AND $1 <> ''", group) == 0 {
					t.Errorf("%s: no %s labels", table, kind)
				}
			}
		}
	})

	t.Run("the exporter's own statements carry its query group", func(t *testing.T) {
		group := w.opt.QueryGroup
		if count(t, conn, "SELECT count(*) FROM stl_query WHERE label = $1 AND querytxt LIKE 'SELECT %FROM stl_%'", group) == 0 {
			t.Error("no labelled exporter reads in stl_query")
		}
		if count(t, conn, "SELECT count(*) FROM stl_scan s JOIN stl_query q USING (query) WHERE q.label = $1", group) == 0 {
			t.Error("no scans of exporter reads")
		}
		if count(t, conn, "SELECT count(*) FROM stl_utilitytext WHERE label = $1", group) == 0 {
			t.Error("no labelled exporter statements in stl_utilitytext")
		}
		if count(t, conn, "SELECT count(*) FROM stl_utilitytext WHERE text LIKE $1", "SET query_group TO '"+group+"'%") == 0 {
			t.Error("the exporter never sets its query group")
		}
	})
}

// checkChunks checks one statement's chunks against its ground truth and notes which edge
// cases it covers in seen.
func checkChunks(t *testing.T, text string, chunks []string, seqs []int32, seen map[string]int) {
	t.Helper()
	for i, s := range seqs {
		if int(s) != i {
			t.Fatalf("sequences %v of %q do not run 0..n-1", seqs, text)
		}
	}
	want := max(1, (utf8.RuneCountInString(text)+chunkSize-1)/chunkSize)
	if len(chunks) != want {
		t.Errorf("%d chunks for %d characters", len(chunks), utf8.RuneCountInString(text))
	}
	for _, c := range chunks {
		if utf8.RuneCountInString(c) != chunkSize {
			t.Fatalf("chunk %q is not blank-padded to %d characters", c, chunkSize)
		}
	}
	if got := Reassemble(chunks); got != strings.TrimRight(text, " ") {
		t.Errorf("reassembled\n%q\nwant\n%q", got, text)
	}
	// With the length from the ground truth, even trailing blanks come back.
	if got := truncate(strings.Join(chunks, ""), utf8.RuneCountInString(text)); got != text {
		t.Errorf("padded chunks cut at the statement's length are not the statement %q", text)
	}
	note := func(k string, ok bool) {
		if ok {
			seen[k]++
		}
	}
	n := utf8.RuneCountInString(text)
	note("whole chunks", n%chunkSize == 0 && n > 0)
	note("ends in blanks", strings.HasSuffix(text, " "))
	for _, c := range chunks[:len(chunks)-1] {
		note("inner chunk ends in a blank", strings.HasSuffix(c, " "))
		note("chunk of blanks", strings.TrimSpace(c) == "")
	}
	note("escaped newline", strings.Contains(text, `\n`))
	note("escaped backslash", strings.Contains(text, `\\`))
	note("tab", strings.Contains(text, "\t"))
	note("quote", strings.Contains(text, "''"))
	note("non-ASCII", strings.ContainsFunc(text, func(r rune) bool { return r > 127 && r < 0x10000 }))
	note("emoji", strings.ContainsFunc(text, func(r rune) bool { return r >= 0x10000 }))
}

func TestLateRowsArriveWithinMaxLateness(t *testing.T) {
	tests := []struct {
		name        string
		maxLateness time.Duration
		wantLate    bool
	}{
		{"late rows up to 20s", 20 * time.Second, true},
		{"no lateness allowed", 0, false},
	}
	own := map[string]string{}
	for _, tb := range tables.STL() {
		if tb.TimeColumn != "" {
			own[tb.Name] = tb.TimeColumn
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := cluster(t)
			o := busy(11)
			o.Rate, o.LateShare, o.MaxLateness = 10, 0.3, tt.maxLateness
			w := workload(t, o)
			late := map[string]int64{}
			var statsLate int64
			size := 5 * time.Second
			for from := epoch; from.Before(epoch.Add(4 * time.Minute)); from = from.Add(size) {
				to := from.Add(size)
				before := map[string][2]int64{}
				for name, col := range own {
					before[name] = [2]int64{
						count(t, conn, fmt.Sprintf("SELECT count(*) FROM %s WHERE %s <= $1", name, col), from.Add(-tt.maxLateness)),
						count(t, conn, fmt.Sprintf("SELECT count(*) FROM %s WHERE %s <= $1", name, col), from),
					}
				}
				s, err := w.Step(context.Background(), conn, from, to)
				if err != nil {
					t.Fatal(err)
				}
				statsLate += s.Late
				for name, col := range own {
					old := count(t, conn, fmt.Sprintf("SELECT count(*) FROM %s WHERE %s <= $1", name, col), from.Add(-tt.maxLateness))
					if old != before[name][0] {
						t.Fatalf("step (%v, %v] wrote %d %s rows older than MaxLateness before its start", from, to, old-before[name][0], name)
					}
					late[name] += count(t, conn, fmt.Sprintf("SELECT count(*) FROM %s WHERE %s <= $1", name, col), from) - before[name][1]
					if n := count(t, conn, fmt.Sprintf("SELECT count(*) FROM %s WHERE %s > $1", name, col), to); n != 0 {
						t.Fatalf("step (%v, %v] wrote %d %s rows from the future", from, to, n, name)
					}
				}
			}
			for name := range own {
				if tt.wantLate != (late[name] > 0) {
					t.Errorf("%s: %d late rows", name, late[name])
				}
			}
			if tt.wantLate != (statsLate > 0) {
				t.Errorf("stats counted %d late rows", statsLate)
			}
		})
	}
}

// digest fingerprints the content of every table.
func digest(t *testing.T, conn *pgx.Conn) map[string]string {
	out := map[string]string{}
	for _, name := range tableNames {
		var d string
		if err := conn.QueryRow(context.Background(), fmt.Sprintf("SELECT coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '') FROM %s t", name)).Scan(&d); err != nil {
			t.Fatal(err)
		}
		out[name] = d
	}
	return out
}

func TestActivityDoesNotDependOnStepSize(t *testing.T) {
	ctx := context.Background()
	span := 5 * time.Minute
	o := busy(5)
	o.Rate = 5
	one := cluster(t)
	if _, err := workload(t, o).Backfill(ctx, one, epoch, epoch.Add(span)); err != nil {
		t.Fatal(err)
	}
	many := cluster(t)
	w := workload(t, o)
	for at, i := epoch, 0; at.Before(epoch.Add(span)); i++ {
		next := at.Add(time.Duration(1+i%7) * 1300 * time.Millisecond)
		if next.After(epoch.Add(span)) {
			next = epoch.Add(span)
		}
		if _, err := w.Step(ctx, many, at, next); err != nil {
			t.Fatal(err)
		}
		at = next
	}
	other := cluster(t)
	o.Seed++
	if _, err := workload(t, o).Backfill(ctx, other, epoch, epoch.Add(span)); err != nil {
		t.Fatal(err)
	}
	a, b, c := digest(t, one), digest(t, many), digest(t, other)
	for _, name := range tableNames {
		if a[name] != b[name] {
			t.Errorf("%s differs between one backfill and many small steps", name)
		}
		if a[name] == c[name] {
			t.Errorf("%s is the same for another seed", name)
		}
	}
}

func TestQueryIDsContinueAcrossWorkloads(t *testing.T) {
	conn := cluster(t)
	ctx := context.Background()
	if _, err := workload(t, busy(1)).Backfill(ctx, conn, epoch, epoch.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	last := count(t, conn, "SELECT max(query) FROM stl_query")
	lastXid := count(t, conn, "SELECT max(xid) FROM stl_query")
	later := epoch.Add(time.Hour)
	if _, err := workload(t, busy(1)).Backfill(ctx, conn, later, later.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if first := count(t, conn, "SELECT min(query) FROM stl_query WHERE starttime > $1", later); first <= last {
		t.Errorf("second workload started at query %d, not after %d", first, last)
	}
	if first := count(t, conn, "SELECT min(xid) FROM stl_query WHERE starttime > $1", later); first <= lastXid {
		t.Errorf("second workload started at xid %d, not after %d", first, lastXid)
	}
	if n := count(t, conn, "SELECT count(*) - count(DISTINCT query) FROM stl_query"); n != 0 {
		t.Errorf("%d duplicate query ids", n)
	}
}

func TestBackfillWritesTheRequestedVolume(t *testing.T) {
	conn := cluster(t)
	o := DefaultOptions()
	o.Rate = 0.2
	w := workload(t, o)
	var progress int
	o.Progress = func(from, to time.Time, s Stats) { progress++ }
	w.opt.Progress = o.Progress
	s, err := w.Backfill(context.Background(), conn, epoch, epoch.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := 0.2 * 86400
	if q := float64(s.Rows["stl_query"]); q < want*0.95 || q > want*1.05 {
		t.Errorf("%v queries in a day at 0.2 per second, want about %v", q, want)
	}
	for _, name := range tables.Names() {
		if got := count(t, conn, "SELECT count(*) FROM "+name); got != s.Rows[name] {
			t.Errorf("%s holds %d rows, stats say %d", name, got, s.Rows[name])
		}
	}
	if s.Rows["stl_scan"] < s.Rows["stl_query"] || s.Rows["stl_querytext"] < s.Rows["stl_query"] {
		t.Errorf("too few scans or text chunks: %v", s.Rows)
	}
	if progress < 2 {
		t.Errorf("progress reported %d times", progress)
	}
	t.Logf("one day at 0.2 queries/s: %d rows %v", s.Total(), s.Rows)
}

func TestRunWritesUntilCancelled(t *testing.T) {
	conn := cluster(t)
	o := busy(3)
	o.Rate = 50
	w := workload(t, o)
	var clock time.Time
	if err := conn.QueryRow(context.Background(), "SELECT getdate()").Scan(&clock); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3500*time.Millisecond)
	defer cancel()
	if err := Run(ctx, conn, w, 200*time.Millisecond); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := count(t, conn, "SELECT count(*) FROM stl_query"); n == 0 {
		t.Fatal("Run wrote no queries")
	}
	if n := count(t, conn, "SELECT count(*) FROM stl_query WHERE starttime <= $1", clock); n != 0 {
		t.Errorf("%d queries started before the simulated cluster did", n)
	}
	if n := count(t, conn, "SELECT count(*) FROM stl_query WHERE endtime > getdate()"); n != 0 {
		t.Errorf("%d queries end in the future", n)
	}
}

func TestFailedStepWritesNothingAndCanBeRetried(t *testing.T) {
	ctx := context.Background()
	o := busy(13)
	o.Rate = 5
	clean := cluster(t)
	stepThrough(t, clean, workload(t, o), epoch, 2*time.Minute, time.Minute)

	conn := cluster(t)
	w := workload(t, o)
	stepThrough(t, conn, w, epoch, time.Minute, time.Minute)
	before := count(t, conn, "SELECT count(*) FROM stl_query")
	if _, err := conn.Exec(ctx, "ALTER TABLE stl_scan RENAME TO stl_scan_away"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Step(ctx, conn, epoch.Add(time.Minute), epoch.Add(2*time.Minute)); err == nil {
		t.Fatal("step without stl_scan succeeded")
	}
	if after := count(t, conn, "SELECT count(*) FROM stl_query"); after != before {
		t.Errorf("failed step left %d stl_query rows behind", after-before)
	}
	if _, err := conn.Exec(ctx, "ALTER TABLE stl_scan_away RENAME TO stl_scan"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Step(ctx, conn, epoch.Add(time.Minute), epoch.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	a, b := digest(t, clean), digest(t, conn)
	for _, name := range tableNames {
		if a[name] != b[name] {
			t.Errorf("%s differs from a run without the failure", name)
		}
	}
}

func TestNewWorkloadRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Options)
	}{
		{"negative rate", func(o *Options) { o.Rate = -1 }},
		{"share above one", func(o *Options) { o.LateShare = 1.5 }},
		{"negative lateness", func(o *Options) { o.MaxLateness = -time.Second }},
		{"own queries without a query group", func(o *Options) { o.QueryGroup = "" }},
		{"too many slices", func(o *Options) { o.Slices = 5000 }},
	}
	if _, err := NewWorkload(DefaultOptions()); err != nil {
		t.Fatalf("default options rejected: %v", err)
	}
	for _, tt := range tests {
		o := DefaultOptions()
		tt.edit(&o)
		if _, err := NewWorkload(o); err == nil {
			t.Errorf("%s accepted", tt.name)
		}
	}
}

// An exporter that reads each window once it is MaxLateness behind the simulated clock must see
// every row of it: nothing may arrive in a window after that.
func TestWindowsMaxLatenessBehindAreFinal(t *testing.T) {
	conn := cluster(t)
	ctx := context.Background()
	o := busy(17)
	o.Rate, o.LateShare, o.MaxLateness = 10, 0.3, 15*time.Second
	w := workload(t, o)
	type window struct {
		lo, hi time.Time
		rows   map[string]int64
	}
	readWindow := func(lo, hi time.Time) map[string]int64 {
		out := map[string]int64{}
		for _, tb := range tables.STL() {
			var parent *tables.Table
			if tb.Parent != "" {
				p, _ := tables.Lookup(tb.Parent)
				parent = &p
			}
			sql, err := tb.WindowSQL(parent)
			if err != nil {
				t.Fatal(err)
			}
			out[tb.Name] = count(t, conn, "SELECT count(*) FROM ("+sql+") x", lo, hi, o.QueryGroup)
		}
		return out
	}
	var windows []window
	watermark := epoch
	size := 4 * time.Second
	for i, at := 0, epoch; at.Before(epoch.Add(2 * time.Minute)); i, at = i+1, at.Add(size) {
		if _, err := w.Step(ctx, conn, at, at.Add(size)); err != nil {
			t.Fatal(err)
		}
		if i%8 == 0 { // keep the planner's statistics current, as autovacuum would
			if _, err := conn.Exec(ctx, "ANALYZE"); err != nil {
				t.Fatal(err)
			}
		}
		hi := at.Add(size).Add(-o.MaxLateness)
		if hi.After(watermark) {
			windows = append(windows, window{watermark, hi, readWindow(watermark, hi)})
			watermark = hi
		}
	}
	var seen int64
	for _, win := range windows {
		now := readWindow(win.lo, win.hi)
		for name, n := range now {
			if n != win.rows[name] {
				t.Errorf("%s in (%v, %v]: %d rows when read, %d at the end", name, win.lo, win.hi, win.rows[name], n)
			}
			seen += n
		}
	}
	if seen == 0 {
		t.Fatal("the windows held no rows")
	}
}
