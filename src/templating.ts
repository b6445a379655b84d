// Template variable handling. Cluster names are data: they travel to the backend as a list and
// the backend quotes them. Only rawSql is text, and values spliced into it are escaped the way
// Grafana's SQL datasources do it, so a variable value cannot end a string literal.
import { ScopedVars } from '@grafana/data';
import { TemplateSrv } from '@grafana/runtime';

const quoteLiteral = (value: unknown) => `'${String(value).replace(/'/g, "''")}'`;

type VariableLike = { multi?: boolean; includeAll?: boolean };

/**
 * Formats a variable value for rawSql: multi-value and "All" variables become a comma-separated
 * list of quoted literals (for `IN (...)`); a single value is inserted with its quotes doubled so
 * that `'$var'` stays one literal.
 */
export function formatSqlValue(value: unknown, variable?: VariableLike): string {
  if (Array.isArray(value)) {
    return value.map(quoteLiteral).join(',');
  }
  if (variable?.multi || variable?.includeAll) {
    return quoteLiteral(value);
  }
  return String(value).replace(/'/g, "''");
}

// Cluster names are lower-case letters, digits, '-' and '_', so a comma cannot be part of one.
const LIST_SEPARATOR = ',';

/**
 * Expands each entry of a cluster list, so "$cluster" with the values c1 and c2 becomes
 * ["c1", "c2"]. Duplicates and empty names are dropped; the order of first appearance is kept.
 */
export function expandClusters(
  clusters: string[] | undefined,
  templateSrv: TemplateSrv,
  scopedVars: ScopedVars
): string[] {
  const out: string[] = [];
  for (const entry of clusters ?? []) {
    const replaced = templateSrv.replace(entry, scopedVars, (value: unknown) =>
      Array.isArray(value) ? value.join(LIST_SEPARATOR) : String(value)
    );
    for (const name of replaced.split(LIST_SEPARATOR)) {
      const trimmed = name.trim();
      if (trimmed !== '' && !out.includes(trimmed)) {
        out.push(trimmed);
      }
    }
  }
  return out;
}
