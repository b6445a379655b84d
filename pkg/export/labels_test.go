package export_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/archivetest"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// oddLabels are labels a source can carry besides the exporter's own query group. Every row
// with one of them belongs to someone else and must be archived.
var oddLabels = []*string{
	nil, // NULL
	ptr(""),
	ptr("   "),
	ptr("etl nightly   "),
	ptr("Grafana 🚀 über-ärger"),
	ptr("stlarchive2"),
	ptr(" stlarchive"),
	ptr("STLARCHIVE"),
	ptr("stlarchive\t"),
	ptr("xstlarchive"),
}

func ptr(s string) *string { return &s }

// TestEveryLabelButTheExportersOwnIsArchived writes one row per label into every STL table
// (children through their stl_query row, label-less tables through the query they belong to)
// and checks that the archive holds exactly the rows whose label is not the exporter's query
// group: NULL, blank, padded, non-ASCII and look-alike labels are kept, the exporter's own
// (blank-padded by character(320), as Redshift stores it) is left out.
func TestEveryLabelButTheExportersOwnIsArchived(t *testing.T) {
	c := newSimCluster(t, "labels", 0)
	root := t.TempDir()
	e := openExporter(t, testConfig(t, root, c.Cfg), export.Options{})
	ctx := context.Background()
	end := c.SourceNow(t).Add(-time.Minute).Truncate(time.Microsecond)

	labels := append(slices.Clone(oddLabels), ptr(queryGroup), ptr(queryGroup+"   "))
	own := func(i int) bool { return i >= len(oddLabels) }
	// A stl_scan / stl_wlm_query / stl_alert_event_log row of a query absent from stl_query
	// has no label that could make it the exporter's: it is kept too.
	const orphan = 9999
	for i, label := range labels {
		id := 5000 + i
		for _, tb := range tables.STL() {
			if err := insertRow(ctx, c, tb, id, label, end); err != nil {
				t.Fatalf("insert %s: %v", tb.Name, err)
			}
		}
	}
	for _, tb := range tables.STL() {
		if tb.HasOwnTime() && tb.Name != "stl_query" && !hasCol(tb, "label") {
			if err := insertRow(ctx, c, tb, orphan, nil, end); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitPastLag(t, c, end)
	mustCycle(t, e)

	for _, tb := range tables.STL() {
		idCol := "query"
		if !hasCol(tb, "query") {
			idCol = "xid"
		}
		got := map[int]int{}
		if err := archivetest.Each(root, tb.Name, "labels", []string{idCol}, func(v []string) {
			id, _ := strconv.Atoi(v[0])
			got[id]++
		}); err != nil {
			t.Fatal(err)
		}
		want := map[int]int{}
		for i := range labels {
			if !own(i) {
				want[5000+i] = 1
			}
		}
		if tb.HasOwnTime() && tb.Name != "stl_query" && !hasCol(tb, "label") {
			want[orphan] = 1
		}
		for id, n := range want {
			if got[id] != n {
				t.Errorf("%s: label %s: archive holds %d rows, want %d", tb.Name, describe(labels[id-5000]), got[id], n)
			}
		}
		for id, n := range got {
			if want[id] == 0 {
				t.Errorf("%s: label %s: archive holds %d rows of the exporter's own", tb.Name, describe(labels[id-5000]), n)
			}
		}
	}
	assertArchiveEqualsSource(t, root, e.Store(), c)
}

func describe(l *string) string {
	if l == nil {
		return "NULL"
	}
	return strconv.Quote(*l)
}

func hasCol(t tables.Table, name string) bool {
	for _, c := range t.Columns {
		if c.Name == name {
			return true
		}
	}
	return false
}

// insertRow writes one row of tb for query (or xid) id, ending at end, with label where the
// table has one. Other columns get plain values of their type.
func insertRow(ctx context.Context, c *simCluster, tb tables.Table, id int, label *string, end time.Time) error {
	names := make([]string, len(tb.Columns))
	marks := make([]string, len(tb.Columns))
	args := make([]any, len(tb.Columns))
	for i, col := range tb.Columns {
		names[i], marks[i] = col.Name, fmt.Sprintf("$%d", i+1)
		switch {
		case col.Name == "label":
			args[i] = label
		case col.Name == "query" || col.Name == "xid":
			args[i] = id
		case col.Name == "userid":
			args[i] = 101
		case col.Type == "timestamp":
			args[i] = end
		case col.Type == "integer" || col.Type == "bigint":
			args[i] = 0
		default:
			args[i] = "x"
		}
	}
	_, err := c.Conn.Exec(ctx, fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", tb.Name,
		strings.Join(names, ", "), strings.Join(marks, ", ")), args...)
	return err
}
