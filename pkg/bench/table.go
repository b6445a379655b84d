package bench

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// scanTable is the catalog entry whose shape the benchmark table copies.
func scanTable() (tables.Table, error) {
	t, ok := tables.Lookup("stl_scan")
	if !ok {
		return tables.Table{}, fmt.Errorf("bench: stl_scan is not in the table catalog")
	}
	return t, nil
}

// tableName names the benchmark table of a size, so tables of several sizes live side by side
// and never collide with an stl_scan fixture of the simulator.
func tableName(rows int) string { return fmt.Sprintf("bench_stl_scan_%d", rows) }

var pgTypeRe = regexp.MustCompile(`^(integer|bigint|smallint|boolean|real|double precision|date|timestamp|timestamptz|` +
	`(character|char|varchar|character varying)\(\d+\)|numeric\(\d+,\s*\d+\))$`)

// pgType maps a catalog (Redshift) type to PostgreSQL. The STL types are spelled the same in
// both; anything else is refused rather than guessed.
func pgType(redshift string) (string, error) {
	t := strings.ToLower(strings.TrimSpace(redshift))
	if !pgTypeRe.MatchString(t) {
		return "", fmt.Errorf("bench: no PostgreSQL type for Redshift type %q", redshift)
	}
	return t, nil
}

// fillExpr is the value of one column for series row g. Names the catalog knows get values
// shaped like a busy cluster's scans; others get a plain value of their type.
func fillExpr(c tables.Column, typ string) string {
	// Scans arrive 20 ms apart with up to 1 ms of jitter and take 19 ms, so endtime grows
	// with g like the time column of a real window.
	const at = "(TIMESTAMP '2026-11-01 00:00:00' + g * INTERVAL '20 milliseconds' + ((g * 7919) % 997) * INTERVAL '1 microsecond')"
	switch c.Name {
	case "userid":
		return "100 + g % 13"
	case "query":
		return "1000000 + g / 25"
	case "slice":
		return "g % 16"
	case "segment":
		return "(g / 16) % 6"
	case "step":
		return "g % 4"
	case "tasknum":
		return "g % 32"
	case "starttime":
		return at
	case "endtime":
		return at + " + INTERVAL '19 milliseconds'"
	case "rows", "rows_pre_user_filter":
		return "(g * 7919) % 1000003"
	case "rows_pre_filter":
		return "(g * 7919) % 1000003 * 3"
	case "bytes":
		return "(g * 7919) % 1000003 * 64"
	case "type":
		return "CASE WHEN g % 5 = 0 THEN 1 ELSE 2 END"
	case "tbl":
		return "100000 + g % 10"
	case "perm_table_name":
		return "(ARRAY['orders','lineitem','customer','part','supplier','nation','region','partsupp'," +
			"'Internal Worktable','S3 Subquery spectrum_sales'])[1 + g % 10]"
	case "checksum", "topology_signature":
		return "(g * 2654435761) % 4294967296"
	}
	switch {
	case typ == "character(1)" || typ == "char(1)":
		return "CASE WHEN g % 3 = 0 THEN 't' ELSE 'f' END"
	case strings.HasPrefix(typ, "char") || strings.HasPrefix(typ, "varchar"):
		return "'x'"
	case typ == "bigint":
		return "(g * 31) % 100000"
	case typ == "timestamp" || typ == "timestamptz":
		return at
	case typ == "boolean":
		return "g % 2 = 0"
	case typ == "date":
		return "DATE '2026-11-01'"
	}
	return "g % 7"
}

// ensureTable creates the benchmark table with n rows unless it exists. It is created and filled
// in one transaction, so a table that exists is complete.
func ensureTable(ctx context.Context, conn *pgx.Conn, n int) (string, []string, error) {
	t, err := scanTable()
	if err != nil {
		return "", nil, err
	}
	name := tableName(n)
	var cols, defs, exprs []string
	for _, c := range t.Columns {
		typ, err := pgType(c.Type)
		if err != nil {
			return "", nil, err
		}
		cols = append(cols, c.Name)
		defs = append(defs, pgx.Identifier{c.Name}.Sanitize()+" "+typ)
		exprs = append(exprs, fmt.Sprintf("(%s)::%s", fillExpr(c, typ), typ))
	}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", name).Scan(&exists); err != nil {
		return "", nil, fmt.Errorf("bench: look for %s: %w", name, err)
	}
	if exists {
		return name, cols, nil
	}
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		// Unlogged: the table is a disposable fixture, and reading it costs the same.
		if _, err := tx.Exec(ctx, fmt.Sprintf("CREATE UNLOGGED TABLE %s (%s)", name, strings.Join(defs, ", "))); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, fmt.Sprintf("INSERT INTO %s SELECT %s FROM generate_series(1, $1::bigint) AS g",
			name, strings.Join(exprs, ", ")), n)
		return err
	})
	if err != nil {
		return "", nil, fmt.Errorf("bench: create %s: %w", name, err)
	}
	return name, cols, nil
}

func selectSQL(table string, cols []string) string {
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = pgx.Identifier{c}.Sanitize()
	}
	return fmt.Sprintf("SELECT %s FROM %s", strings.Join(quoted, ", "), pgx.Identifier{table}.Sanitize())
}
