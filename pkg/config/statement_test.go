package config

import (
	"strings"
	"testing"
)

func TestStatementCheckAcceptsOneSelectOrWith(t *testing.T) {
	for _, sql := range []string{
		"SELECT 1",
		"select order_id from sales.orders;",
		"  WITH t AS (SELECT 1 AS x) SELECT x FROM t ;  ",
		"-- big orders\nSELECT 1",
		"/* outer /* nested */ still comment */ SELECT 1",
		"SELECT ';' AS semi, 'it''s' AS q, \"odd;name\" FROM t",
		`SELECT 'it\'s; fine' AS q`,
		"SELECT 1; -- trailing comment",
		"SELECT 1;\n/* done */",
		// Redshift reads a backslash-escaped quote as part of the literal: one statement.
		`SELECT 'a\'; DELETE FROM t --'`,
	} {
		if msg := statementProblem(sql); msg != "" {
			t.Errorf("statementProblem(%q) = %q, want accepted", sql, msg)
		}
	}
}

func TestStatementCheckRejectsEverythingElse(t *testing.T) {
	cases := map[string]string{
		"":                               "required",
		"-- only a comment":              "required",
		"DELETE FROM t":                  "must start with SELECT or WITH, got DELETE",
		"SELECTx 1":                      "got SELECTX",
		"(SELECT 1)":                     `got "("`,
		"'SELECT' 1":                     "must start with SELECT or WITH",
		"SELECT 1; SELECT 2":             "must be one statement",
		"SELECT 1;\nDROP TABLE t":        "must be one statement",
		"SELECT 1; 'x'":                  "must be one statement",
		"SELECT 'unterminated":           "unterminated string literal",
		`SELECT "x`:                      "unterminated quoted identifier",
		"SELECT 1 /* open":               "unterminated /* comment",
		"/* c */ INSERT INTO t SELECT 1": "got INSERT",
		"SELECT 'a\\''; DELETE FROM t":   "must be one statement",
	}
	for sql, want := range cases {
		got := statementProblem(sql)
		if want == "" {
			if got != "" {
				t.Errorf("statementProblem(%q) = %q, want accepted", sql, got)
			}
			continue
		}
		if !strings.Contains(got, want) {
			t.Errorf("statementProblem(%q) = %q, want %q", sql, got, want)
		}
	}
}
