package duckdb

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestHostileQueriesAreRefusedAndWriteNothing(t *testing.T) {
	a := newArchive(t)
	obj := a.write("stl_query", "c1", day1, queryRows(1, 3, day1))
	other := t.TempDir() // a sibling of the archive that must stay out of reach
	if err := os.WriteFile(filepath.Join(other, "secret.csv"), []byte("a,b\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := open(t, a.root, Options{})
	tmpTarget := filepath.Join(os.TempDir(), fmt.Sprintf("stlarchive-hostile-%d.csv", os.Getpid()))
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	watched := []string{a.root, other, cwd}
	before := snapshots(t, watched)

	r := func(s string) string {
		return strings.ReplaceAll(strings.ReplaceAll(s, "ROOT", a.root), "OTHER", other)
	}
	for _, tc := range []struct {
		query string
		says  string // the refusal names what was refused
	}{
		{"SELECT * FROM read_csv('/etc/passwd')", "read_csv"},
		{"SELECT * FROM read_text('/etc/hostname')", "read_text"},
		{"SELECT * FROM read_blob('/etc/passwd')", "read_blob"},
		{"SELECT * FROM read_json_auto('/etc/passwd')", "read_json_auto"},
		{"SELECT * FROM read_csv(['/etc/passwd'])", "read_csv"},
		{"SELECT * FROM sniff_csv('/etc/passwd')", "sniff_csv"},
		{"SELECT * FROM read_parquet('/other/dir/*.parquet')", "read_parquet"},
		{r("SELECT * FROM read_parquet('ROOT/stl_query/*/*/*.parquet')"), "read_parquet"},
		{r("SELECT * FROM parquet_metadata('" + obj + "')"), "parquet_metadata"},
		{r("SELECT * FROM read_text('ROOT/../*')"), "read_text"},
		{r("SELECT * FROM glob('ROOT/../*')"), "glob"},
		{"SELECT * FROM '/etc/passwd'", "/etc/passwd"},
		{"FROM '/etc/passwd'", "/etc/passwd"},
		{r("SELECT * FROM 'OTHER/secret.csv'"), "secret.csv"},
		{r("SELECT * FROM '" + obj + "'"), "not an archive table"},
		{`SELECT * FROM "/etc/passwd"`, "/etc/passwd"},
		{"SELECT * FROM stl_query WHERE query IN (SELECT 1 FROM read_csv('/etc/passwd'))", "read_csv"},
		{"WITH x AS (SELECT * FROM read_text('/etc/passwd')) SELECT * FROM x", "read_text"},
		{"SELECT * FROM stl_query, LATERAL (SELECT * FROM read_text('/etc/passwd'))", "read_text"},
		{"COPY (SELECT 1) TO '" + tmpTarget + "'", "COPY"},
		{r("COPY (SELECT 1) TO 'ROOT/x.csv'"), "COPY"},
		{r("COPY stl_query FROM 'OTHER/secret.csv'"), "COPY"},
		{r("EXPORT DATABASE 'OTHER/export'"), "EXPORT"},
		{r("IMPORT DATABASE 'OTHER'"), "IMPORT"},
		{r("ATTACH 'OTHER/x.duckdb' AS x"), "ATTACH"},
		{"ATTACH ':memory:' AS m", "ATTACH"},
		{"DETACH memory", "DETACH"},
		{"USE memory", "USE"},
		{"INSTALL httpfs", "INSTALL"},
		{"LOAD json", "LOAD"},
		{"SET enable_external_access = true", "SET"},
		{"RESET lock_configuration", "RESET"},
		{"SET VARIABLE x = 1", "SET"},
		{"PRAGMA enable_profiling", "PRAGMA"},
		{"CALL pragma_version()", "CALL"},
		{"SELECT * FROM pragma_version()", "pragma_version"},
		{"SELECT * FROM duckdb_settings()", "duckdb_settings"},
		{"SELECT * FROM duckdb_secrets()", "duckdb_secrets"},
		{"SELECT * FROM query('SELECT 1')", "query"},
		{"SELECT * FROM query_table('stl_query')", "query_table"},
		{"SELECT * FROM json_execute_serialized_sql('{}')", "json_execute_serialized_sql"},
		{"SELECT current_setting('allowed_directories')", "current_setting"},
		{"SELECT list_transform([1], x -> current_setting('temp_directory'))", "current_setting"},
		{"SELECT getenv('HOME')", "getenv"},
		{"SELECT getvariable('x')", "getvariable"},
		{"SELECT * FROM information_schema.tables", "information_schema.tables"},
		{"SHOW TABLES", "SHOW"},
		{"EXPLAIN SELECT 1", "EXPLAIN"},
		{"SELECT 1; SELECT 2", "2 statements"},
		{"SELECT * FROM stl_query; DROP VIEW stl_query", "DROP"},
		{"SELECT 1 /* ; */ ; -- harmless?\nDROP VIEW stl_query", "DROP"},
		{"SELECT 1 -- ; \n; DROP VIEW stl_query /* */", "DROP"},
		{"SELECT ';' AS s; CREATE TABLE t AS SELECT 1", "CREATE"},
		{"DROP VIEW stl_query", "DROP"},
		{"CREATE TABLE t AS SELECT 1", "CREATE"},
		{"CREATE VIEW v AS SELECT 1", "CREATE"},
		{"CREATE MACRO m(a) AS a", "CREATE"},
		{"CREATE SECRET (TYPE s3, KEY_ID 'x', SECRET 'y')", "CREATE"},
		{"INSERT INTO stl_query (userid) VALUES (1)", "INSERT"},
		{"UPDATE stl_query SET userid = 1", "UPDATE"},
		{"DELETE FROM stl_query", "DELETE"},
		{"BEGIN TRANSACTION", "BEGIN"},
		{"CHECKPOINT", "CHECKPOINT"},
		{"VACUUM", "VACUUM"},
		{"SELECT * FROM (PIVOT stl_query ON database USING count(*))", "PIVOT without IN list"},
	} {
		_, err := e.Query(context.Background(), tc.query)
		var re *RefusedError
		if !errors.As(err, &re) || !errors.Is(err, ErrRefused) {
			t.Errorf("%s: not refused: %v", tc.query, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: refusal does not say %q: %v", tc.query, tc.says, err)
		}
	}

	if after := snapshots(t, watched); !reflect.DeepEqual(before, after) {
		t.Errorf("files changed:\nbefore %v\nafter  %v", before, after)
	}
	if _, err := os.Stat(tmpTarget); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s exists: %v", tmpTarget, err)
	}
	// The views survived the DROP attempts.
	if n := scalarInt(t, e, "SELECT count(*) FROM stl_query"); n != 3 {
		t.Errorf("stl_query has %d rows after the attacks", n)
	}
}

func TestHarmlessQueryShapesAreAllowed(t *testing.T) {
	a := newArchive(t)
	a.write("stl_query", "c1", day1, queryRows(1, 3, day1))
	e := open(t, a.root, Options{})
	for _, q := range []string{
		"WITH q AS (SELECT * FROM stl_query) SELECT count(*) FROM q",
		"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT count(*) FROM n",
		"FROM stl_query SELECT count(*)",
		"SELECT count(*) FROM main.stl_query",
		"SELECT count(*) FROM memory.main.stl_query s JOIN stl_querytext t USING (query)",
		"SELECT count(*) FROM range(3)",
		"SELECT count(*) FROM generate_series(1, 3)",
		"SELECT count(*) FROM (SELECT unnest([1, 2, 3]))",
		"DESCRIBE stl_query",
		"SUMMARIZE SELECT query FROM stl_query",
		"SELECT count(*) FROM stl_query WHERE querytxt <> 'read_csv(''/etc/passwd'')'",
		"SELECT count(*) FROM (VALUES (1), (2)) v(x)",
		"SELECT 1 UNION ALL SELECT 2",
		"SELECT count(*) FROM stl_query; ",
		"/* leading comment */ SELECT count(*) FROM stl_query -- trailing comment",
		"SELECT $$dollar ; quoted$$ AS s",
		"SELECT E'it\\'s; fine' AS s",
		"FROM stl_query PIVOT (count(*) FOR database IN ('dev'))",
		"UNPIVOT stl_query ON query INTO NAME k VALUE v",
	} {
		if _, err := e.Query(context.Background(), q); err != nil {
			t.Errorf("%s: %v", q, err)
		}
	}
}

// The lockdown holds by itself, below the guard: statements sent straight to the engine's
// connections (as a guard bug would let through) cannot read outside the root, write, load
// extensions or undo the settings, on every connection of the pool.
func TestLockdownHoldsOnEveryConnectionWithoutTheGuard(t *testing.T) {
	a := newArchive(t)
	a.write("stl_query", "c1", day1, queryRows(1, 3, day1))
	other := t.TempDir()
	e := open(t, a.root, Options{})
	ctx := context.Background()
	before := snapshots(t, []string{a.root, other})

	held := make([]func(string) error, 0, maxConns)
	var conns []*sql.Conn
	for range maxConns {
		c, err := e.db.Conn(ctx) // all held at once: distinct connections
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		held = append(held, func(q string) error {
			rows, err := c.QueryContext(ctx, q)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
			}
			return rows.Err()
		})
	}
	for i, exec := range held {
		for _, q := range []string{
			"SELECT * FROM read_csv('/etc/passwd')",
			"SELECT * FROM read_text('" + other + "/*')",
			"SELECT * FROM read_text('" + a.root + "/../*')",
			"COPY (SELECT 1) TO '" + other + "/x.csv'",
			"ATTACH '" + other + "/x.duckdb' AS x",
			"EXPORT DATABASE '" + other + "/export'",
			"INSTALL httpfs",
			"LOAD httpfs",
			"SET enable_external_access = true",
			"SET allowed_directories = ['/']",
			"RESET allowed_directories",
			"SET lock_configuration = false",
			"SET autoload_known_extensions = true",
			"SET autoinstall_known_extensions = true",
			"SET allow_community_extensions = true",
			"SET temp_directory = '" + other + "'",
			"SELECT getenv('HOME')", // the CLI's function; the library has none
		} {
			if err := exec(q); err == nil {
				t.Errorf("connection %d ran %s", i, q)
			}
		}
		if err := exec("SELECT count(*) FROM stl_query"); err != nil {
			t.Errorf("connection %d cannot read the archive: %v", i, err)
		}
	}
	for _, c := range conns {
		c.Close()
	}
	if after := snapshots(t, []string{a.root, other}); !reflect.DeepEqual(before, after) {
		t.Errorf("files changed:\nbefore %v\nafter  %v", before, after)
	}
	var settings string
	if err := e.db.QueryRow(`SELECT string_agg(name || '=' || value, ' ' ORDER BY name) FROM duckdb_settings() WHERE name IN
		('enable_external_access', 'lock_configuration', 'autoload_known_extensions', 'autoinstall_known_extensions',
		 'allow_community_extensions', 'allow_unsigned_extensions', 'allow_persistent_secrets', 'temp_directory')`).Scan(&settings); err != nil {
		t.Fatal(err)
	}
	want := "allow_community_extensions=false allow_persistent_secrets=false allow_unsigned_extensions=false autoinstall_known_extensions=false autoload_known_extensions=false enable_external_access=false lock_configuration=true temp_directory="
	if settings != want {
		t.Errorf("settings %q", settings)
	}
	// Every lockdown setting is one of the database, not of a connection.
	var local int
	if err := e.db.QueryRow(`SELECT count(*) FROM duckdb_settings() WHERE scope <> 'GLOBAL' AND name IN
		('enable_external_access', 'allowed_directories', 'lock_configuration', 'autoload_known_extensions',
		 'autoinstall_known_extensions', 'allow_community_extensions', 'allow_unsigned_extensions',
		 'allow_persistent_secrets', 'temp_directory')`).Scan(&local); err != nil || local != 0 {
		t.Errorf("%d lockdown settings are not global (%v)", local, err)
	}
}

// Without a temp directory a query that outgrows the memory limit fails instead of spilling
// files anywhere.
func TestMemoryPressureFailsWithoutSpillingFiles(t *testing.T) {
	a := newArchive(t)
	e := open(t, a.root, Options{MemoryLimit: "64MB", Threads: 1})
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	before := snapshots(t, []string{cwd, a.root})
	_, err = e.Query(context.Background(), "SELECT count(*) FROM (SELECT i, md5(i::VARCHAR) AS h FROM range(10000000) r(i) ORDER BY h)")
	if err == nil || !strings.Contains(err.Error(), "Out of Memory") {
		t.Fatalf("want out of memory, got %v", err)
	}
	if after := snapshots(t, []string{cwd, a.root}); !reflect.DeepEqual(before, after) {
		t.Errorf("files changed:\nbefore %v\nafter  %v", before, after)
	}
}

func TestSplitStatementsFindsTopLevelSemicolons(t *testing.T) {
	for _, tc := range []struct {
		sql   string
		heads []string
	}{
		{"SELECT 1", []string{"SELECT"}},
		{"select 1;", []string{"SELECT"}},
		{"SELECT ';'; DROP x", []string{"SELECT", "DROP"}},
		{`SELECT ";"; copy x`, []string{"SELECT", "COPY"}},
		{"SELECT 1 -- ;\n", []string{"SELECT"}},
		{"/* ; /* nested ; */ ; */ SELECT 1", []string{"SELECT"}},
		{"SELECT $$;$$, $t$ ; $t$; ATTACH 'x'", []string{"SELECT", "ATTACH"}},
		{"SELECT $1; LOAD x", []string{"SELECT", "LOAD"}},
		{"SELECT E'\\';'; SET x=1", []string{"SELECT", "SET"}},
		{"SELECT 'it''s;'", []string{"SELECT"}},
		{" ; ;; ", nil},
		{"WITH a AS (SELECT 1) SELECT * FROM a", []string{"WITH"}},
		{"(SELECT 1)", []string{""}},
	} {
		spans := splitStatements(tc.sql)
		var heads []string
		for _, s := range spans {
			heads = append(heads, s.head)
		}
		if !reflect.DeepEqual(heads, tc.heads) {
			t.Errorf("%q: heads %q, want %q", tc.sql, heads, tc.heads)
		}
	}
	if s := splitStatements("  SELECT 1 ; -- done"); s[0].start != 2 || s[0].end != 10 {
		t.Errorf("span %+v", s[0])
	}
}

// snapshots records every file under dirs with a hash of its content.
func snapshots(t *testing.T, dirs []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				out[path] = "dir"
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			out[path] = fmt.Sprintf("%x", sha256.Sum256(b))
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	}
	return out
}
