package sim

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// Ground-truth tables: what the simulator issued, for tests that check what readers rebuild.
const (
	statementTable    = "sim_statement"
	statementXidTable = "sim_statement_xid"
)

// createLockKey serialises concurrent Create calls on one database: CREATE ... IF NOT EXISTS
// is not safe against itself running in parallel.
const createLockKey = 0x53544c53494d // "STLSIM"

var charTypeRe = regexp.MustCompile(`^(?:character|char)\((\d+)\)$`)

// pgType maps a catalog (Redshift) type to the PostgreSQL type that reads back the same way.
func pgType(redshift string) (string, error) {
	switch redshift {
	case "integer", "bigint":
		return redshift, nil
	case "timestamp":
		return "timestamp without time zone", nil
	}
	if m := charTypeRe.FindStringSubmatch(redshift); m != nil {
		return "character(" + m[1] + ")", nil
	}
	return "", fmt.Errorf("no PostgreSQL type for %q", redshift)
}

// Create creates the STL tables, their indexes, the Redshift look-alikes getdate() and
// svl_user_info, and the ground-truth tables, where they are missing. It fails when an existing
// STL table's columns differ from the catalog. It is safe to call again and concurrently.
func Create(ctx context.Context, conn *pgx.Conn) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("create stl tables: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(createLockKey)); err != nil {
		return fmt.Errorf("create stl tables: lock: %w", err)
	}
	// lz4 (PostgreSQL 14+, when built with it) compresses the long blank-padded text columns
	// several times faster than the default pglz.
	var lz4 bool
	if err := tx.QueryRow(ctx, `SELECT coalesce((SELECT 'lz4' = ANY(enumvals) FROM pg_settings
		WHERE name = 'default_toast_compression'), false)`).Scan(&lz4); err != nil {
		return fmt.Errorf("create stl tables: %w", err)
	}
	stmts, err := schemaStatements(lz4)
	if err != nil {
		return fmt.Errorf("create stl tables: %w", err)
	}
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			return fmt.Errorf("create stl tables: %w", err)
		}
	}
	if err := checkColumns(ctx, tx); err != nil {
		return fmt.Errorf("create stl tables: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("create stl tables: %w", err)
	}
	return nil
}

// compressFrom is the width from which a character(n) column is worth compressing: rows only
// reach PostgreSQL's TOAST threshold through such columns.
const compressFrom = 320

func schemaStatements(lz4 bool) ([]string, error) {
	var out []string
	compress := ""
	if lz4 {
		compress = " COMPRESSION lz4"
	}
	for _, t := range tables.STL() {
		cols := make([]string, len(t.Columns))
		hasQuery := false
		for i, c := range t.Columns {
			typ, err := pgType(c.Type)
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %w", t.Name, c.Name, err)
			}
			cols[i] = pgx.Identifier{c.Name}.Sanitize() + " " + typ
			if charLength(typ) >= compressFrom {
				cols[i] += compress
			}
			hasQuery = hasQuery || c.Name == "query"
		}
		// UNLOGGED: the tables hold a simulation, and the write-ahead log would double the cost
		// of every row. PostgreSQL empties them after a crash (not after a clean shutdown).
		out = append(out, fmt.Sprintf("CREATE UNLOGGED TABLE IF NOT EXISTS %s (%s)", t.Name, strings.Join(cols, ", ")))
		// The exporter reads windows by time and joins children to parents by query.
		if t.TimeColumn != "" {
			out = append(out, fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s_%s_idx ON %s (%s)", t.Name, t.TimeColumn, t.Name, t.TimeColumn))
		}
		if hasQuery {
			out = append(out, fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s_query_idx ON %s (query)", t.Name, t.Name))
		}
	}
	out = append(out,
		// Redshift's GETDATE() is the start of the current statement in UTC, without fractions.
		`CREATE OR REPLACE FUNCTION getdate() RETURNS timestamp without time zone
		 LANGUAGE sql STABLE
		 AS $$ SELECT date_trunc('second', statement_timestamp() AT TIME ZONE 'UTC') $$`,
		// Redshift's svl_user_info tells whether a user may see other users' STL rows.
		`CREATE OR REPLACE VIEW svl_user_info AS
		 SELECT usename::varchar(128) AS usename,
		        usesysid::bigint::integer AS usesysid,
		        usesuper,
		        (CASE WHEN usesuper THEN 'UNRESTRICTED' ELSE 'RESTRICTED' END)::varchar(12) AS syslog_access
		 FROM pg_user`,
		`CREATE UNLOGGED TABLE IF NOT EXISTS `+statementTable+` (query integer PRIMARY KEY, text text`+compress+` NOT NULL)`,
		`CREATE UNLOGGED TABLE IF NOT EXISTS `+statementXidTable+` (
		   tablename text NOT NULL, xid bigint NOT NULL, pid integer NOT NULL,
		   starttime timestamp without time zone NOT NULL, text text`+compress+` NOT NULL,
		   PRIMARY KEY (tablename, xid, pid, starttime))`,
	)
	return out, nil
}

// charLength is n of a character(n) type, 0 for other types.
func charLength(typ string) int {
	m := charTypeRe.FindStringSubmatch(typ)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// column is one column as information_schema describes it.
type column struct {
	Name     string
	DataType string // information_schema data_type, e.g. "character", "timestamp without time zone"
	Length   int    // character_maximum_length; 0 when not a character type
}

// expectedColumns is what information_schema must show for a catalog table after Create.
func expectedColumns(t tables.Table) ([]column, error) {
	out := make([]column, len(t.Columns))
	for i, c := range t.Columns {
		typ, err := pgType(c.Type)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", t.Name, c.Name, err)
		}
		col := column{Name: c.Name, DataType: typ}
		if n := charLength(typ); n > 0 {
			col.DataType, col.Length = "character", n
		}
		out[i] = col
	}
	return out, nil
}

// actualColumns reads a table's columns from information_schema in their order.
func actualColumns(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, table string) ([]column, error) {
	rows, err := q.Query(ctx, `SELECT column_name, data_type, coalesce(character_maximum_length, 0)
		FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = $1
		ORDER BY ordinal_position`, table)
	if err != nil {
		return nil, fmt.Errorf("read columns of %s: %w", table, err)
	}
	var out []column
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.Name, &c.DataType, &c.Length); err != nil {
			return nil, fmt.Errorf("read columns of %s: %w", table, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read columns of %s: %w", table, err)
	}
	return out, nil
}

func checkColumns(ctx context.Context, tx pgx.Tx) error {
	for _, t := range tables.STL() {
		want, err := expectedColumns(t)
		if err != nil {
			return err
		}
		got, err := actualColumns(ctx, tx, t.Name)
		if err != nil {
			return err
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("%s exists with other columns than the catalog's: %v", t.Name, got)
		}
	}
	return nil
}
