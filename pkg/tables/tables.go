// Package tables is the catalog of what the exporter can archive: the eight STL tables with their
// columns, the column that orders each in time (or the parent whose time a child table shares),
// and custom queries from configuration. It builds the SQL that reads one window of a table and
// names the archive partitions. It talks to no server.
package tables

import (
	_ "embed"
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Column is one source column with its Redshift type as the catalog declares it.
type Column struct {
	Name string `yaml:"name"`
	Type string `yaml:"type"`
}

// Table describes one archivable table or custom query.
type Table struct {
	// Name is the source table, and the archive folder and engine view name.
	Name string `yaml:"name"`
	// TimeColumn orders rows in time; windows are (lo, hi] on it. Empty for child tables.
	TimeColumn string `yaml:"timeColumn"`
	// Parent is the table whose TimeColumn a child shares through a join on query: stl_querytext
	// and stl_explain carry no time of their own.
	Parent string `yaml:"parent"`
	// Key is the natural key, for readers that want to check uniqueness.
	Key []string `yaml:"key"`
	// Columns in source order. Empty for custom queries: their columns come from the result.
	Columns []Column `yaml:"columns"`
	// SQL is a custom query's SELECT; empty for STL tables.
	SQL string `yaml:"-"`
}

//go:embed stl.yaml
var stlYAML []byte

var stl = mustLoad(stlYAML)

func mustLoad(b []byte) []Table {
	var doc struct {
		Tables []Table `yaml:"tables"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		panic(fmt.Sprintf("tables: embedded catalog: %v", err))
	}
	return doc.Tables
}

// STL returns the eight STL tables, parents before children.
func STL() []Table {
	out := make([]Table, len(stl))
	copy(out, stl)
	return out
}

// Names returns the names of the STL tables in catalog order.
func Names() []string {
	out := make([]string, len(stl))
	for i, t := range stl {
		out[i] = t.Name
	}
	return out
}

// Lookup returns the STL table with that name.
func Lookup(name string) (Table, bool) {
	for _, t := range stl {
		if t.Name == name {
			return t, true
		}
	}
	return Table{}, false
}

// TextChunkColumn is the 200-character chunk column of stl_querytext, stl_ddltext and
// stl_utilitytext. Its padding is part of the statement text, so it is archived byte-exact.
const TextChunkColumn = "text"

// KeepsPadding reports whether a char(n) column of this table keeps its trailing blanks.
func (t Table) KeepsPadding(column string) bool {
	return column == TextChunkColumn && t.hasColumn("sequence")
}

// HasOwnTime reports whether the table is windowed on its own column (not a parent's).
func (t Table) HasOwnTime() bool { return t.Parent == "" }

func (t Table) hasColumn(name string) bool {
	for _, c := range t.Columns {
		if c.Name == name {
			return true
		}
	}
	return false
}

// Custom makes a table from a custom query of the configuration. The query's rows are windowed
// on timeColumn of its result.
func Custom(name, sql, timeColumn string, key []string) Table {
	return Table{Name: name, SQL: strings.TrimRight(strings.TrimSpace(sql), ";"), TimeColumn: timeColumn, Key: key}
}

var identRe = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// ValidName reports whether s can name an archived table: lower-case letters, digits and
// underscores, so that it needs no quoting in DuckDB, Athena or Glue.
func ValidName(s string) bool { return len(s) <= 128 && identRe.MatchString(s) }

// quote quotes an identifier for the source (Redshift and PostgreSQL agree).
func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// WindowSQL is the statement that reads the rows of one window. It takes the parameters
// $1 lo (exclusive) and $2 hi (inclusive), both timestamps, and for STL tables (see
// FiltersOwnQueries) $3, the exporter's own query group, whose rows it leaves out. parent must be
// given for child tables.
//
// Child tables are read joined to the parent rows of the same window in the same statement, so a
// query that finishes between two reads can never have its text without its row or the reverse.
func (t Table) WindowSQL(parent *Table) (string, error) {
	switch {
	case t.SQL != "":
		return fmt.Sprintf("SELECT * FROM (%s) AS src WHERE src.%s > $1 AND src.%s <= $2",
			t.SQL, quote(t.TimeColumn), quote(t.TimeColumn)), nil
	case t.Parent != "":
		if parent == nil || parent.Name != t.Parent {
			return "", fmt.Errorf("tables: %s needs its parent %s", t.Name, t.Parent)
		}
		return fmt.Sprintf("SELECT %s FROM %s c JOIN %s p ON p.query = c.query WHERE p.%s > $1 AND p.%s <= $2 AND %s",
			t.columnList("c."), t.Name, parent.Name, parent.TimeColumn, parent.TimeColumn, NotOwn("p.label", "$3")), nil
	}
	own := NotOwn("t.label", "$3")
	if !t.hasColumn("label") {
		// Rows without a label belong to a query; the query's stl_query row carries the label.
		// A row is left out only when such a row exists and is provably the exporter's: a NULL
		// query or label makes the inner predicate unknown, so NOT EXISTS keeps the row.
		own = "NOT EXISTS (SELECT 1 FROM stl_query q WHERE q.query = t.query AND " + Own("q.label", "$3") + ")"
	}
	return fmt.Sprintf("SELECT %s FROM %s t WHERE t.%s > $1 AND t.%s <= $2 AND %s",
		t.columnList("t."), t.Name, t.TimeColumn, t.TimeColumn, own), nil
}

// Own is the predicate that is true only when label (a character(n) column) provably holds the
// exporter's query group, given as param; it is NULL, never true, when either side is NULL.
// Redshift stores label blank-padded (character(320), character(30) in older catalogs), so the
// padded value is trimmed before the comparison; only trailing blanks go, so ' stlarchive' and
// 'stlarchive2' stay someone else's. The query group itself never ends in a blank
// (config.queryGroupProblem).
func Own(label, param string) string {
	return fmt.Sprintf("rtrim(%s) = %s", label, param)
}

// NotOwn is the NULL-safe negation of Own: true for every row except the exporter's own, also
// when the label is NULL (a plain label <> $n is unknown there and silently drops the row).
// CASE rather than IS DISTINCT FROM because Redshift documents CASE and not the latter.
func NotOwn(label, param string) string {
	return fmt.Sprintf("CASE WHEN %s THEN false ELSE true END", Own(label, param))
}

// FiltersOwnQueries reports whether WindowSQL takes the exporter's query group as $3. Custom
// queries read the user's own tables, where the exporter leaves no trace.
func (t Table) FiltersOwnQueries() bool { return t.SQL == "" }

// OldestSQL is the statement that returns the oldest time still on the source (NULL when empty):
// the start of a first backfill, and the test for a gap after an outage.
func (t Table) OldestSQL(parent *Table) (string, error) {
	switch {
	case t.SQL != "":
		return fmt.Sprintf("SELECT min(src.%s) FROM (%s) AS src", quote(t.TimeColumn), t.SQL), nil
	case t.Parent != "":
		if parent == nil || parent.Name != t.Parent {
			return "", fmt.Errorf("tables: %s needs its parent %s", t.Name, t.Parent)
		}
		return fmt.Sprintf("SELECT min(p.%s) FROM %s c JOIN %s p ON p.query = c.query", parent.TimeColumn, t.Name, parent.Name), nil
	}
	return fmt.Sprintf("SELECT min(%s) FROM %s", t.TimeColumn, t.Name), nil
}

func (t Table) columnList(prefix string) string {
	var b strings.Builder
	for i, c := range t.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(prefix)
		b.WriteString(c.Name)
	}
	return b.String()
}
