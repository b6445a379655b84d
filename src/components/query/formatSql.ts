import { format } from 'sql-formatter';

import type { QueryEngine } from '../../types';

// Macros ($__timeFilter(endtime), $__timeGroup(endtime, '5m')) and template variables ($cluster,
// ${cluster:csv}) are not SQL; the formatter takes them as parameters and keeps each whole. A
// macro's arguments may hold parentheses-free text and quoted strings.
const TEMPLATE_TOKEN = String.raw`\$__\w+(?:\((?:[^()']|'(?:[^']|'')*')*\))?|\$\{[^}]*\}|\$\w+`;

/**
 * Lays out SQL over the archive in the dialect of the datasource's engine (DuckDB, or Trino for
 * Athena), leaving macros, template variables, string literals and the case of words as written.
 * SQL the formatter cannot parse is returned unchanged, so formatting never loses a query.
 */
export function formatSql(sql: string, engine: QueryEngine = 'duckdb'): string {
  try {
    return format(sql, {
      language: engine === 'athena' ? 'trino' : 'duckdb',
      paramTypes: { custom: [{ regex: TEMPLATE_TOKEN }] },
      tabWidth: 2,
    });
  } catch {
    return sql;
  }
}
