package export_test

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/archivetest"
	"github.com/stlarchive/redshift-stl-archive/pkg/sim"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

func TestQueryTextReassembledFromTheArchiveEqualsTheIssuedStatement(t *testing.T) {
	c := newSimCluster(t, "text", 4)
	root := t.TempDir()
	e := openExporter(t, testConfig(t, root, c.Cfg), export.Options{})
	last := c.History(t, 40*time.Minute)
	waitPastLag(t, c, last)
	mustCycle(t, e)

	type chunk struct {
		seq  int
		text string
	}
	chunks := map[string][]chunk{}
	err := archivetest.Each(root, "stl_querytext", "text", []string{"query", "sequence", "text"}, func(v []string) {
		seq, _ := strconv.Atoi(v[1])
		chunks[v[0]] = append(chunks[v[0]], chunk{seq, v[2]})
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := c.Conn.Query(context.Background(), "SELECT query::text, text FROM sim_statement s WHERE EXISTS (SELECT 1 FROM stl_query q WHERE q.query = s.query AND "+tables.NotOwn("q.label", "$1")+")", queryGroup)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	checked, long, multibyte := 0, 0, 0
	for rows.Next() {
		var query, issued string
		if err := rows.Scan(&query, &issued); err != nil {
			t.Fatal(err)
		}
		cs := chunks[query]
		if len(cs) == 0 {
			t.Errorf("query %s: no text in the archive", query)
			continue
		}
		sort.Slice(cs, func(i, j int) bool { return cs[i].seq < cs[j].seq })
		parts := make([]string, len(cs))
		for i, ch := range cs {
			if ch.seq != i {
				t.Fatalf("query %s: chunk %d is missing", query, i)
			}
			parts[i] = ch.text
		}
		got := sim.Reassemble(parts)
		if want := strings.TrimRight(issued, " "); got != want {
			t.Errorf("query %s: reassembled\n%q\nissued\n%q", query, got, want)
		}
		checked++
		if len(cs) > 20 {
			long++
		}
		if strings.ContainsFunc(issued, func(r rune) bool { return r > 0x7f }) {
			multibyte++
		}
	}
	if checked < 100 || long == 0 || multibyte == 0 {
		t.Errorf("too little text checked: %d statements, %d over 4000 characters, %d with non-ASCII", checked, long, multibyte)
	}
	t.Logf("%d statements reassembled exactly (%d over 4000 characters, %d with non-ASCII)", checked, long, multibyte)
}

func TestCustomQueryRoundTripsEveryType(t *testing.T) {
	c := newSimCluster(t, "custom", 0)
	ctx := context.Background()
	_, err := c.Conn.Exec(ctx, `CREATE TABLE orders (
		order_id integer, customer_id bigint, code char(8), note varchar(100),
		ordered_at timestamp, amount numeric(12,2), paid boolean, big numeric(38,10));
	INSERT INTO orders VALUES
		(1, 9000000000001, 'AB', 'trailing blanks stay  ', getdate() - interval '1 hour' + interval '0.000001 second', 2500.10, true, 12345678901234567890.0123456789),
		(2, -5, 'ABCDEFGH', 'quote '' and \ and é and 日本', getdate() - interval '50 minutes' + interval '0.123456 second', 99999.99, false, -0.0000000001),
		(3, 0, NULL, NULL, getdate() - interval '40 minutes', 2000.01, NULL, NULL),
		(4, 7, 'x', 'too small: filtered out', getdate() - interval '30 minutes', 1999.99, true, 1)`)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	cfg := testConfig(t, root, c.Cfg)
	cfg.Export.Tables = nil
	cfg.CustomQueries = []config.CustomQuery{{Name: "big_orders",
		SQL:        "SELECT order_id, customer_id, code, note, ordered_at, amount, paid, big FROM orders WHERE amount > 2000",
		TimeColumn: "ordered_at", KeyColumns: []string{"order_id"}}}
	e := openExporter(t, cfg, export.Options{})
	mustCycle(t, e)

	cols := []string{"order_id", "customer_id", "code", "note", "ordered_at", "amount", "paid", "big"}
	got := map[string]bool{}
	if err := archivetest.Each(root, "big_orders", "custom", cols, func(v []string) { got[strings.Join(v, "|")] = true }); err != nil {
		t.Fatal(err)
	}
	rows, err := c.Conn.Query(ctx, `SELECT concat_ws('|', order_id, customer_id, coalesce(rtrim(code), '∅'), coalesce(note, '∅'),
		to_char(ordered_at, 'YYYY-MM-DD HH24:MI:SS.US'), amount, coalesce(paid::text, '∅'), coalesce(big::text, '∅'))
		FROM orders WHERE amount > 2000`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var want string
		rows.Scan(&want)
		if !got[want] {
			t.Errorf("source row not archived as it is:\n%q\narchive: %v", want, got)
		}
		n++
	}
	if n != 3 || len(got) != 3 {
		t.Errorf("archive holds %d rows, source %d", len(got), n)
	}
}
