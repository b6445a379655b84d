package tables

import (
	"regexp"
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
