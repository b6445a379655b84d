package sim

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// DeleteOlderThan deletes the rows whose time is before cutoff from every STL table, as STL's
// retention does, and returns how many STL rows went. Child tables (stl_querytext, stl_explain)
// go with their parent row, whatever their own age; the ground truth of deleted statements goes
// too. It is one statement, so a reader sees the tables before or after, never in between.
func DeleteOlderThan(ctx context.Context, conn *pgx.Conn, cutoff time.Time) (int64, error) {
	var n int64
	if err := conn.QueryRow(ctx, retentionSQL(), cutoff.UTC()).Scan(&n); err != nil {
		return 0, fmt.Errorf("delete stl rows before %s: %w", cutoff.UTC().Format(time.RFC3339), err)
	}
	return n, nil
}

// retentionSQL deletes with data-modifying CTEs: children use the query ids their parent's
// DELETE returned, so they share one snapshot with it.
func retentionSQL() string {
	var ctes, counts []string
	all := tables.STL()
	for i, t := range all {
		name := fmt.Sprintf("d%d", i)
		switch {
		case t.HasOwnTime():
			returning := "1"
			switch t.Name {
			case "stl_query":
				returning = "query"
			case "stl_ddltext", "stl_utilitytext":
				returning = "xid, pid, starttime"
			}
			ctes = append(ctes, fmt.Sprintf("%s AS (DELETE FROM %s WHERE %s < $1 RETURNING %s)", name, t.Name, t.TimeColumn, returning))
		default:
			parent := fmt.Sprintf("d%d", indexOf(all, t.Parent))
			ctes = append(ctes, fmt.Sprintf("%s AS (DELETE FROM %s c USING %s p WHERE c.query = p.query RETURNING 1)", name, t.Name, parent))
		}
		counts = append(counts, fmt.Sprintf("(SELECT count(*) FROM %s)", name))
		switch t.Name {
		case "stl_query":
			ctes = append(ctes, fmt.Sprintf("s%d AS (DELETE FROM %s s USING %s p WHERE s.query = p.query)", i, statementTable, name))
		case "stl_ddltext", "stl_utilitytext":
			ctes = append(ctes, fmt.Sprintf("s%d AS (DELETE FROM %s s USING (SELECT DISTINCT xid, pid, starttime FROM %s) p WHERE s.tablename = '%s' AND s.xid = p.xid AND s.pid = p.pid AND s.starttime = p.starttime)",
				i, statementXidTable, name, t.Name))
		}
	}
	return "WITH " + strings.Join(ctes, ",\n") + "\nSELECT " + strings.Join(counts, " + ")
}

func indexOf(ts []tables.Table, name string) int {
	for i, t := range ts {
		if t.Name == name {
			return i
		}
	}
	return -1
}
