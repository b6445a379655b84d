package duckdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"go/format"
	"os"
	"sort"
	"strings"
	"testing"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// The function allowlist (functions_allowed.go) is this policy applied to the linked DuckDB's
// duckdb_functions(). When DuckDB changes, TestFunctionAllowlistFollowsThePolicy fails and
// shows the difference; review it, then regenerate the file with
//
//	STLARCHIVE_WRITE_ALLOWLIST=1 go test -run TestFunctionAllowlistFollowsThePolicy ./pkg/query/duckdb/

// deniedFunctions are scalar and aggregate functions and macros that compute nothing from their
// arguments but read the engine, the session or the system, or act on them.
var deniedFunctions = map[string]string{
	"current_setting":             "reads a setting (the archive path is one)",
	"getvariable":                 "reads a session variable",
	"getenv":                      "reads the environment",
	"version":                     "system information",
	"stats":                       "reveals storage statistics",
	"nextval":                     "sequence",
	"currval":                     "sequence",
	"txid_current":                "transaction state",
	"in_search_path":              "catalog",
	"sleep_ms":                    "holds a worker doing nothing",
	"pg_sleep":                    "holds a worker doing nothing",
	"setseed":                     "changes session state",
	"write_log":                   "writes the engine's log",
	"parse_duckdb_log_message":    "reads the engine's log format",
	"json_serialize_sql":          "parses SQL text built at run time",
	"json_deserialize_sql":        "turns JSON into SQL text",
	"json_serialize_plan":         "binds SQL text built at run time, which reads the files it names",
	"json_execute_serialized_sql": "runs SQL built at run time",
	"user":                        "session information",
	"session_user":                "session information",
	"format_type":                 "catalog (duckdb_types)",
	"format_pg_type":              "catalog",
	"map_to_pg_oid":               "catalog",
	"get_block_size":              "storage (pragma_database_size)",
	"col_description":             "catalog",
	"obj_description":             "catalog",
	"shobj_description":           "catalog",
}

// deniedPrefixes are whole families: the catalog and settings (duckdb_, pragma_, pg_, has_,
// current_), file readers (read_, parquet_, glob), session and network information (inet_), and
// DuckDB's internal helpers (__internal).
var deniedPrefixes = []string{"duckdb_", "pragma_", "pg_", "has_", "current_", "inet_", "read_", "parquet_",
	"glob", "__internal", "sql_", "query", "which_", "icu_calendar"}

// allowedDespitePrefix are functions of a denied family that compute only on the clock.
var allowedDespitePrefix = map[string]bool{
	"current_date": true, "current_localtime": true, "current_localtimestamp": true,
}

// parserFunctions are names the parser gives to syntax, not listed as scalar functions:
// unnest() in a select list, GROUPING() of grouping sets.
var parserFunctions = []string{"unnest", "grouping", "grouping_id"}

func policyDenies(name string) (string, bool) {
	if why, ok := deniedFunctions[name]; ok {
		return why, true
	}
	if allowedDespitePrefix[name] {
		return "", false
	}
	for _, p := range deniedPrefixes {
		if strings.HasPrefix(name, p) {
			return "family " + p + "*", true
		}
	}
	return "", false
}

// builtin is one name of duckdb_functions() with its kinds and, for macros, their definitions.
type builtin struct {
	kinds  map[string]bool
	macros []string
}

func builtins(t *testing.T, db *sql.DB) map[string]*builtin {
	t.Helper()
	rows, err := db.Query(`SELECT lower(function_name), function_type, coalesce(macro_definition, '') FROM duckdb_functions()`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]*builtin{}
	for rows.Next() {
		var name, kind, def string
		if err := rows.Scan(&name, &kind, &def); err != nil {
			t.Fatal(err)
		}
		b := out[name]
		if b == nil {
			b = &builtin{kinds: map[string]bool{}}
			out[name] = b
		}
		b.kinds[kind] = true
		if def != "" {
			b.macros = append(b.macros, def)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// macroReach parses a macro's definition and returns what it calls.
func macroReach(t *testing.T, conn *sql.Conn, def string) walk {
	t.Helper()
	var out string
	if err := conn.QueryRowContext(context.Background(), "SELECT json_serialize_sql($1::VARCHAR)::VARCHAR", "SELECT ("+def+")").Scan(&out); err != nil {
		t.Fatal(err)
	}
	var p parsed
	if err := json.Unmarshal([]byte(out), &p); err != nil || p.Error || len(p.Statements) != 1 {
		t.Fatalf("macro definition %q does not parse: %v %s", def, err, p.ErrorMessage)
	}
	var tree any
	if err := json.Unmarshal(p.Statements[0], &tree); err != nil {
		t.Fatal(err)
	}
	var w walk
	w.visit(tree)
	return w
}

// policyAllowlist applies the policy: every scalar or aggregate function or scalar macro the
// policy does not deny, then, until nothing changes, minus every macro whose expansion reads a
// table, calls a table function or calls a function not on the list. It also returns why each
// macro left.
func policyAllowlist(t *testing.T, db *sql.DB) (map[string]bool, map[string]string) {
	t.Helper()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	all := builtins(t, db)
	allow := map[string]bool{}
	for name, b := range all {
		if !(b.kinds["scalar"] || b.kinds["aggregate"] || b.kinds["macro"]) {
			continue
		}
		if b.kinds["table"] || b.kinds["table_macro"] || b.kinds["pragma"] {
			// A name that is also a table function or pragma (range, generate_series, repeat,
			// unnest, version): the scalar may be allowed, the guard tells the uses apart.
		}
		if _, denied := policyDenies(name); denied {
			continue
		}
		allow[name] = true
	}
	for _, name := range parserFunctions {
		allow[name] = true
	}
	reach := map[string]walk{}
	for name, b := range all {
		for _, def := range b.macros {
			w := macroReach(t, conn, def)
			r := reach[name]
			r.functions = append(r.functions, w.functions...)
			r.tableFns = append(r.tableFns, w.tableFns...)
			r.tables = append(r.tables, w.tables...)
			reach[name] = r
		}
	}
	why := map[string]string{}
	for changed := true; changed; {
		changed = false
		for name := range allow {
			r, isMacro := reach[name]
			if !isMacro {
				continue
			}
			reason := ""
			switch {
			case len(r.tableFns) > 0:
				reason = "calls table function " + r.tableFns[0]
			case len(r.tables) > 0:
				reason = "reads " + r.tables[0].String()
			default:
				for _, fn := range r.functions {
					if !allow[strings.ToLower(fn)] {
						reason = "calls " + fn
						break
					}
				}
			}
			if reason != "" {
				delete(allow, name)
				why[name] = reason
				changed = true
			}
		}
	}
	return allow, why
}

func rawDB(t *testing.T) *sql.DB {
	t.Helper()
	c, err := duckdb.NewConnector("", nil)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	return db
}

func TestFunctionAllowlistFollowsThePolicy(t *testing.T) {
	db := rawDB(t)
	want, why := policyAllowlist(t, db)
	if os.Getenv("STLARCHIVE_WRITE_ALLOWLIST") != "" {
		writeAllowlist(t, want)
		return
	}
	var extra, missing []string
	for name := range allowedFunctions {
		if !want[name] {
			reason := why[name]
			if r, ok := policyDenies(name); ok {
				reason = r
			}
			extra = append(extra, fmt.Sprintf("%s (%s)", name, reason))
		}
	}
	for name := range want {
		if !allowedFunctions[name] {
			missing = append(missing, name)
		}
	}
	sort.Strings(extra)
	sort.Strings(missing)
	if len(extra) > 0 {
		t.Errorf("allowed, but the policy denies them or the linked DuckDB lacks them: %s", strings.Join(extra, ", "))
	}
	if len(missing) > 0 {
		t.Errorf("new functions the policy would allow; review and regenerate: %s", strings.Join(missing, ", "))
	}
}

// Every macro of the linked DuckDB is expanded, through the macros it calls, and none that is
// allowed reaches a table, a table function or a function off the list — the hole through which
// pg_get_viewdef read duckdb_views(). The macros named in the issue are checked by name too.
func TestNoAllowedMacroReachesTheCatalogOrSettings(t *testing.T) {
	db := rawDB(t)
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	all := builtins(t, db)
	macros := 0
	for name, b := range all {
		if len(b.macros) == 0 {
			continue
		}
		macros++
		if b.kinds["table_macro"] && allowedFunctions[name] {
			t.Errorf("table macro %s is allowed", name)
		}
		if !allowedFunctions[name] {
			continue
		}
		seen := map[string]bool{}
		var expand func(string, []string)
		expand = func(n string, path []string) {
			if seen[n] {
				return
			}
			seen[n] = true
			for _, def := range all[n].macros {
				w := macroReach(t, conn, def)
				if len(w.tableFns) > 0 || len(w.tables) > 0 {
					t.Errorf("allowed macro %s reaches %v %v through %v", name, w.tableFns, w.tables, path)
				}
				for _, fn := range w.functions {
					fn = strings.ToLower(fn)
					if !allowedFunctions[fn] {
						t.Errorf("allowed macro %s calls %s (not allowed) through %v", name, fn, path)
						continue
					}
					if all[fn] != nil && len(all[fn].macros) > 0 {
						expand(fn, append(path, fn))
					}
				}
			}
		}
		expand(name, []string{name})
	}
	if macros < 50 {
		t.Fatalf("only %d macros in duckdb_functions(): is macro_definition still filled?", macros)
	}
	for _, name := range []string{"pg_get_viewdef", "format_type", "get_block_size", "pg_get_constraintdef",
		"current_database", "current_schema", "current_query", "current_setting", "getvariable", "nextval", "sleep_ms"} {
		if allowedFunctions[name] {
			t.Errorf("%s is allowed", name)
		}
	}
}

// The guard refuses every built-in name that is not on the list, whichever way it is called,
// and lets every listed one through (the guard only reads the parse tree; arity is DuckDB's).
func TestGuardDecidesEveryBuiltinFunctionByTheList(t *testing.T) {
	a := newArchive(t)
	e := open(t, a.root, Options{})
	conn, err := e.db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	views := e.views.snapshot()
	for name, b := range builtins(t, rawDB(t)) {
		if !isPlainName(name) {
			continue // operators: only reachable as operators, which parse to allowed names
		}
		q := quoteIdent(name)
		shapes := []string{
			"SELECT " + q + "(1)",
			"SELECT (SELECT " + q + "())",
			"SELECT list_transform([1], x -> " + q + "(x))",
			"SELECT " + q + "(1) OVER ()",
		}
		for _, s := range shapes {
			err := check(context.Background(), conn, s, views)
			if allowedFunctions[name] {
				if err != nil && strings.Contains(err.Error(), "function "+name+" is not allowed") {
					t.Errorf("%s: allowed function refused: %v", s, err)
				}
				continue
			}
			if !isRefused(err) {
				t.Errorf("%s (%v): not refused: %v", s, keys(b.kinds), err)
			}
		}
		if b.kinds["table"] || b.kinds["table_macro"] {
			s := "SELECT * FROM " + q + "()"
			if err := check(context.Background(), conn, s, views); !tableFunctions[name] && !isRefused(err) {
				t.Errorf("%s: not refused: %v", s, err)
			}
		}
	}
}

func isRefused(err error) bool {
	_, ok := err.(*RefusedError)
	return ok
}

func isPlainName(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isWordByte(s[i]) {
			return false
		}
	}
	return s != ""
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func writeAllowlist(t *testing.T, allow map[string]bool) {
	t.Helper()
	names := keys(allow)
	var b strings.Builder
	b.WriteString("// Code generated by TestFunctionAllowlistFollowsThePolicy; DO NOT EDIT.\n\n")
	b.WriteString("package duckdb\n\n")
	b.WriteString("// allowedFunctions are the scalar, aggregate and window functions and scalar macros a query\n")
	b.WriteString("// may call, in lower case (see functions_policy_test.go for the policy that chose them).\n")
	b.WriteString("var allowedFunctions = map[string]bool{\n")
	for _, n := range names {
		fmt.Fprintf(&b, "\t%q: true,\n", n)
	}
	b.WriteString("}\n")
	src, err := format.Source([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("functions_allowed.go", src, 0o644); err != nil {
		t.Fatal(err)
	}
}
