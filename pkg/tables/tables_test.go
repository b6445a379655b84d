package tables

import (
	"regexp"
	"strings"
	"testing"
)

// nullUnsafe matches a comparison with the query group that is unknown, and so drops the row,
// when the label is NULL: label <> $n or label != $n outside the NULL-safe NotOwn.
var nullUnsafe = regexp.MustCompile(`label\s*(<>|!=)`)

func TestWindowSQLLeavesOutOnlyRowsProvablyTheExportersOwn(t *testing.T) {
	for _, tb := range STL() {
		var parent *Table
		if tb.Parent != "" {
			p, _ := Lookup(tb.Parent)
			parent = &p
		}
		sql, err := tb.WindowSQL(parent)
		if err != nil {
			t.Fatal(err)
		}
		if nullUnsafe.MatchString(sql) {
			t.Errorf("%s: NULL-unsafe label comparison in %s", tb.Name, sql)
		}
		if !regexp.MustCompile(`CASE WHEN rtrim\((t|p)\.label\) = \$3 THEN false ELSE true END|NOT EXISTS \(SELECT 1 FROM stl_query q WHERE q.query = t.query AND rtrim\(q.label\) = \$3\)`).MatchString(sql) {
			t.Errorf("%s: no own-query filter in %s", tb.Name, sql)
		}
	}
}

// The count of rows no window holds uses the window statement's own-query filter, NULL-safe, and
// tests the time for NULL (a child: its parent's), for every STL table and custom queries.
func TestUnplacedSQLCountsNullTimesAndOrphansNullSafely(t *testing.T) {
	for _, tb := range STL() {
		var parent *Table
		if tb.Parent != "" {
			p, _ := Lookup(tb.Parent)
			parent = &p
		}
		sql, err := tb.UnplacedSQL(parent, "$7")
		if err != nil {
			t.Fatal(err)
		}
		if nullUnsafe.MatchString(sql) || !regexp.MustCompile(`rtrim\((t|p|q)\.label\) = \$7`).MatchString(sql) {
			t.Errorf("%s: own-query filter missing or NULL-unsafe in %s", tb.Name, sql)
		}
		want := "t." + tb.TimeColumn + " IS NULL"
		if parent != nil {
			want = "NOT EXISTS (SELECT 1 FROM " + parent.Name + " p WHERE p.query = c.query AND (p." + parent.TimeColumn + " IS NOT NULL OR "
		}
		if !strings.Contains(sql, want) {
			t.Errorf("%s: %s lacks %s", tb.Name, sql, want)
		}
	}
	if _, err := (Table{Name: "stl_explain", Parent: "stl_query"}).UnplacedSQL(nil, "$3"); err == nil {
		t.Error("a child without its parent must fail")
	}
	sql, err := Custom("c", "SELECT 1 AS t;", "t", nil).UnplacedSQL(nil, "$3")
	if err != nil || sql != `SELECT count(*) FROM (SELECT 1 AS t) AS src WHERE src."t" IS NULL` {
		t.Errorf("custom: %q %v", sql, err)
	}
}
