package export

import (
	"context"
	"fmt"

	"github.com/stlarchive/redshift-stl-archive/pkg/redshift"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// unplacedBucket is the bucket of the verification statement's row that counts the table's
// unplaced rows: those with a NULL time, and child rows without a parent row that has one. No
// window statement returns them, so neither the export nor a heal archives them; the pass counts
// them in the same statement, and status, health and the alert rule show them.
const unplacedBucket = -2

// unplacedSQL is the verification statement's branch that counts the unplaced rows, with the
// query group as $3 like the rest of the statement (see verifySQL).
func unplacedSQL(t tables.Table, parent *tables.Table) (string, error) {
	count, err := t.UnplacedSQL(parent, "$3")
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("\nUNION ALL\nSELECT %d, (%s), 0, NULL", unplacedBucket, count), nil
}

// countUnplaced counts the unplaced rows alone, for a pass with no window to verify: one
// statement.
func (e *Exporter) countUnplaced(ctx context.Context, conn *redshift.Conn, t tables.Table, parent *tables.Table) (int64, error) {
	param, args := "$1", []any{e.cfg.QueryGroup}
	if !t.FiltersOwnQueries() {
		args = nil
	}
	sql, err := t.UnplacedSQL(parent, param)
	if err != nil {
		return 0, err
	}
	var n int64
	conn.CountQuery()
	if err := conn.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		return 0, conn.Wrap("count unplaced "+t.Name, err)
	}
	return n, nil
}
