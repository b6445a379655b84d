package tables

import "fmt"

// UnplacedSQL is a scalar subquery that counts the rows of the table that no window statement
// can return, now or later, and that are not provably the exporter's own: rows whose time column
// is NULL (no window (lo, hi] holds them), and for a child table the rows that have no parent row
// with a time (the parent is missing, not yet visible, or has a NULL time). param is the
// placeholder of the query group for tables that filter their own queries (FiltersOwnQueries);
// custom queries take none. The own-query filter is the one of WindowSQL, so a row is counted
// unless it provably belongs to the exporter; every comparison is NULL-safe.
func (t Table) UnplacedSQL(parent *Table, param string) (string, error) {
	switch {
	case t.SQL != "":
		return fmt.Sprintf("SELECT count(*) FROM (%s) AS src WHERE src.%s IS NULL", t.SQL, quote(t.TimeColumn)), nil
	case t.Parent != "":
		if parent == nil || parent.Name != t.Parent {
			return "", fmt.Errorf("tables: %s needs its parent %s", t.Name, t.Parent)
		}
		// A child row is placed when a parent row with a time exists (the window of that time
		// returns it unless the parent is the exporter's), and provably the exporter's when a
		// parent row carries the query group. Neither: no window will ever return it.
		return fmt.Sprintf("SELECT count(*) FROM %s c WHERE NOT EXISTS (SELECT 1 FROM %s p WHERE p.query = c.query AND (p.%s IS NOT NULL OR %s))",
			t.Name, parent.Name, parent.TimeColumn, Own("p.label", param)), nil
	}
	return fmt.Sprintf("SELECT count(*) FROM %s t WHERE t.%s IS NULL AND %s", t.Name, t.TimeColumn, t.notOwn(param)), nil
}
