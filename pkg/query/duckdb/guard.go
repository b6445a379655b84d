package duckdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// The guard decides whether a user's SQL may run. DuckDB's own parser classifies it
// (json_serialize_sql serialises SELECT statements only, and shows every table and function a
// query names); the small lexer below only finds statement boundaries for messages and for the
// row-limit wrapper. A second, independent check happens at prepare time (the prepared statement
// must be of type SELECT), and under both sits the engine's own lockdown.

// tableFunctions are the table functions a query may call: generators that touch no file and
// reveal nothing about the host. Everything else (read_*, parquet_*, glob, query, duckdb_*,
// pragma_*, which_secret, …) is refused: the views are the only way to the data.
var tableFunctions = map[string]bool{
	"range":           true,
	"generate_series": true,
	"unnest":          true,
	"json_each":       true,
	"json_tree":       true,
}

// Scalar, aggregate and window functions are allowed by name from allowedFunctions
// (functions_allowed.go), generated from the linked DuckDB's duckdb_functions() and reviewed:
// nothing that reads files, settings, the catalog, sequences, logs or system information, and no
// built-in macro whose expansion reaches any of those. The parse tree shows a macro as a plain
// function name, so a denylist would let every new macro through; a name not on the list is
// refused.

// parsed is the answer of json_serialize_sql.
type parsed struct {
	Error        bool              `json:"error"`
	ErrorType    string            `json:"error_type"`
	ErrorMessage string            `json:"error_message"`
	Statements   []json.RawMessage `json:"statements"`
}

// check refuses anything but one SELECT (or WITH … SELECT) that reads only the given views.
func check(ctx context.Context, conn *sql.Conn, text string, views viewSet) error {
	var out string
	if err := conn.QueryRowContext(ctx, "SELECT json_serialize_sql($1::VARCHAR)::VARCHAR", text).Scan(&out); err != nil {
		return fmt.Errorf("parse query: %w", err)
	}
	var p parsed
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		return fmt.Errorf("parse query: decode parser output: %w", err)
	}
	spans := splitStatements(text)
	if p.Error {
		if p.ErrorType == "not implemented" {
			// The parser serialises SELECT only: something in the text is another statement.
			return refused("%s", describeStatements(spans))
		}
		return fmt.Errorf("%w: %s", ErrInvalid, p.ErrorMessage)
	}
	switch len(p.Statements) {
	case 0:
		return fmt.Errorf("%w: empty query", ErrInvalid)
	case 1:
	default:
		return refused("%d statements in one query; send exactly one SELECT or WITH query", len(p.Statements))
	}
	var tree any
	if err := json.Unmarshal(p.Statements[0], &tree); err != nil {
		return fmt.Errorf("parse query: decode statement: %w", err)
	}
	var w walk
	w.visit(tree)
	return w.verdict(views)
}

// walk collects what a statement refers to.
type walk struct {
	ctes      map[string]bool
	tables    []tableRef
	tableFns  []string
	functions []string
	show      []string
}

type tableRef struct{ catalog, schema, name string }

func (r tableRef) String() string {
	parts := make([]string, 0, 3)
	for _, p := range []string{r.catalog, r.schema, r.name} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ".")
}

func (w *walk) visit(node any) {
	switch n := node.(type) {
	case []any:
		for _, c := range n {
			w.visit(c)
		}
	case map[string]any:
		w.note(n)
		for _, c := range n {
			w.visit(c)
		}
	}
}

func (w *walk) note(n map[string]any) {
	str := func(key string) string { s, _ := n[key].(string); return s }
	switch str("type") {
	case "BASE_TABLE":
		w.tables = append(w.tables, tableRef{catalog: str("catalog_name"), schema: str("schema_name"), name: str("table_name")})
	case "TABLE_FUNCTION":
		fn, _ := n["function"].(map[string]any)
		name, _ := fn["function_name"].(string)
		w.tableFns = append(w.tableFns, name)
	case "SHOW_REF":
		// DESCRIBE/SUMMARIZE of a query carry the query (walked like any other); SHOW TABLES,
		// SHOW ALL TABLES and friends name a catalog listing instead.
		if name := str("table_name"); name != "" {
			w.show = append(w.show, name)
		}
	}
	if class := str("class"); class == "FUNCTION" || class == "WINDOW" {
		name := str("function_name")
		catalog, schema := strings.ToLower(str("catalog")), strings.ToLower(str("schema"))
		if (catalog != "" && catalog != "system") || (schema != "" && schema != "main" && schema != "pg_catalog") {
			// The parser qualifies some built-ins itself ([1, 2] is main.list_value); any other
			// qualification could pick a function other than the built-in of that name.
			name = strings.Trim(catalog+"."+schema, ".") + "." + name
		}
		w.functions = append(w.functions, name)
	}
	if name := str("ctename"); name != "" {
		w.addCTE(name)
	}
	if cm, ok := n["cte_map"].(map[string]any); ok {
		entries, _ := cm["map"].([]any)
		for _, e := range entries {
			if kv, ok := e.(map[string]any); ok {
				if k, ok := kv["key"].(string); ok {
					w.addCTE(k)
				}
			}
		}
	}
}

func (w *walk) addCTE(name string) {
	if w.ctes == nil {
		w.ctes = map[string]bool{}
	}
	w.ctes[strings.ToLower(name)] = true
}

func (w *walk) verdict(views viewSet) error {
	for _, fn := range w.tableFns {
		if !tableFunctions[strings.ToLower(fn)] {
			return refused("table function %s is not allowed: the archive is read through its views only (%s)", fn, viewList(views.usable))
		}
	}
	for _, fn := range w.functions {
		if !allowedFunctions[strings.ToLower(fn)] {
			return refused("function %s is not allowed: queries may call scalar, aggregate and window functions that compute on their arguments, not ones that read settings, the catalog or the system", fn)
		}
	}
	if len(w.show) > 0 {
		return refused("SHOW %s is not allowed; the views are: %s", w.show[0], viewList(views.usable))
	}
	for _, t := range w.tables {
		name := strings.ToLower(t.name)
		local := (t.catalog == "" || strings.EqualFold(t.catalog, "memory")) && (t.schema == "" || strings.EqualFold(t.schema, "main"))
		if t.catalog == "" && t.schema == "" && w.ctes[name] {
			continue
		}
		if local && views.usable[name] {
			continue
		}
		if why, ok := views.broken[name]; local && ok {
			// The archive's fault, not the query's.
			return fmt.Errorf("table %s cannot be read: %s", name, why)
		}
		return refused("%q is not an archive table; the views are: %s", t.String(), viewList(views.usable))
	}
	return nil
}

func viewList(views map[string]bool) string {
	names := make([]string, 0, len(views))
	for v := range views {
		names = append(names, v)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// describeStatements names the statements of a text that the parser would not serialise.
func describeStatements(spans []span) string {
	if len(spans) > 1 {
		heads := make([]string, len(spans))
		for i, s := range spans {
			heads[i] = s.head
		}
		return fmt.Sprintf("%d statements in one query (%s); send exactly one SELECT or WITH query", len(spans), strings.Join(heads, ", "))
	}
	head := ""
	if len(spans) == 1 {
		head = spans[0].head
	}
	switch head {
	case "", "SELECT", "WITH", "FROM", "VALUES", "TABLE":
		// A query that DuckDB turns into more than one statement, such as PIVOT without an IN
		// list (it first creates an ENUM type of the pivot values).
		return "the query needs more than one statement to run (a PIVOT without IN list?); write it as one plain SELECT"
	}
	return fmt.Sprintf("%s statements are not allowed; only SELECT or WITH queries are", head)
}

// span is one top-level statement of a SQL text: the byte range from its first to the end of its
// last significant token (comments and the closing semicolon excluded), and its first keyword.
type span struct {
	start, end int
	head       string
}

// splitStatements cuts SQL text at top-level semicolons, skipping strings, quoted identifiers,
// dollar-quoted strings and comments the way DuckDB's lexer does.
func splitStatements(s string) []span {
	var out []span
	cur := span{start: -1}
	flush := func() {
		if cur.start >= 0 {
			out = append(out, cur)
		}
		cur = span{start: -1}
	}
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ';':
			flush()
			i++
			continue
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
			continue
		case strings.HasPrefix(s[i:], "--"):
			if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
				i += j + 1
			} else {
				i = len(s)
			}
			continue
		case strings.HasPrefix(s[i:], "/*"):
			i = skipBlockComment(s, i)
			continue
		}
		start := i
		word := ""
		switch {
		case c == '\'':
			i = skipQuoted(s, i, '\'', false)
		case c == '"':
			i = skipQuoted(s, i, '"', false)
		case c == '$':
			i = skipDollar(s, i)
		case isWordByte(c):
			for i < len(s) && isWordByte(s[i]) {
				i++
			}
			word = s[start:i]
			if (word == "E" || word == "e") && i < len(s) && s[i] == '\'' {
				i = skipQuoted(s, i, '\'', true)
				word = ""
			}
		default:
			i++
		}
		if cur.start < 0 {
			cur.start = start
			cur.head = strings.ToUpper(word)
		}
		cur.end = i
	}
	flush()
	return out
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// skipQuoted returns the index after the quoted token starting at i; a doubled quote escapes
// itself, and in E-strings (E'…') a backslash escapes the next byte.
func skipQuoted(s string, i int, q byte, backslash bool) int {
	for i++; i < len(s); i++ {
		switch {
		case backslash && s[i] == '\\':
			i++
		case s[i] == q:
			if i+1 < len(s) && s[i+1] == q {
				i++
				continue
			}
			return i + 1
		}
	}
	return len(s)
}

// skipBlockComment returns the index after a /* */ comment; like PostgreSQL's, they nest.
func skipBlockComment(s string, i int) int {
	depth := 0
	for i < len(s) {
		switch {
		case strings.HasPrefix(s[i:], "/*"):
			depth++
			i += 2
		case strings.HasPrefix(s[i:], "*/"):
			depth--
			i += 2
			if depth == 0 {
				return i
			}
		default:
			i++
		}
	}
	return len(s)
}

// skipDollar returns the index after a $tag$…$tag$ string, or after the lone $ of a parameter
// such as $1.
func skipDollar(s string, i int) int {
	j := i + 1
	for j < len(s) && s[j] != '$' && (isWordByte(s[j]) && !(j == i+1 && s[j] >= '0' && s[j] <= '9')) {
		j++
	}
	if j >= len(s) || s[j] != '$' {
		return i + 1
	}
	tag := s[i : j+1]
	if k := strings.Index(s[j+1:], tag); k >= 0 {
		return j + 1 + k + len(tag)
	}
	return len(s)
}
