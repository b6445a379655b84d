import { TimeRange } from '@grafana/data';
import { Alert, Button, Field, Stack, Text } from '@grafana/ui';
import React, { useCallback, useState } from 'react';

import type { DataSource } from '../../datasource';
import { PresetSql, StlQuery } from '../../types';
import { useResource } from './useResource';

interface Props {
  datasource: DataSource;
  query: StlQuery;
  range?: TimeRange;
  /** Turns the preset into a SQL query of the user's own, starting from the preset's SQL. */
  onEditAsSql: (sql: PresetSql) => void;
}

const codeStyle: React.CSSProperties = {
  maxHeight: 320,
  overflow: 'auto',
  whiteSpace: 'pre',
  margin: 0,
};

/**
 * The SQL a preset runs, read-only, in the dialect of the datasource's engine, as Grafana's SQL
 * datasources preview the SQL their builder generates: with its macros (what "Edit as SQL"
 * starts from) and, on request, expanded for the dashboard's range and clusters.
 */
export function PresetSqlPreview({ datasource, query, range, onEditAsSql }: Props) {
  const [expanded, setExpanded] = useState(false);
  const preset = query.preset ?? '';
  const from = range?.from.valueOf();
  const to = range?.to.valueOf();
  const clusters = (query.clusters ?? []).join('\n');
  const load = useCallback(
    () => datasource.getPresetSql(preset, range, clusters ? clusters.split('\n') : []),
    // The range object changes identity on every render of some hosts; its bounds say enough.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [datasource, preset, from, to, clusters]
  );
  const sql = useResource(load);

  if (sql.loading) {
    return <Text color="secondary">Loading the preset&apos;s SQL…</Text>;
  }
  if (sql.error || !sql.value) {
    return (
      <Alert title="No SQL to show" severity="info">
        {sql.error ?? 'The backend returned no SQL for this preset.'}
      </Alert>
    );
  }
  const value = sql.value;
  return (
    <Stack direction="column" gap={1}>
      <Field
        label={`SQL of the preset (${value.dialect === 'athena' ? 'Athena / Trino' : 'DuckDB'})`}
        description={
          expanded ? 'As the engine receives it for the dashboard time range and clusters.' : 'With its macros.'
        }
      >
        <pre aria-label="Preset SQL" style={codeStyle}>
          {expanded ? value.expanded : value.sql}
        </pre>
      </Field>
      <Stack direction="row" gap={1}>
        <Button
          variant="secondary"
          size="sm"
          icon="pen"
          onClick={() => onEditAsSql(value)}
          tooltip="Switch this query to SQL, starting from the preset's SQL with its macros"
        >
          Edit as SQL
        </Button>
        <Button variant="secondary" fill="text" size="sm" onClick={() => setExpanded(!expanded)}>
          {expanded ? 'Show with macros' : 'Show expanded'}
        </Button>
      </Stack>
    </Stack>
  );
}
