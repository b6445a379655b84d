import { SelectableValue } from '@grafana/data';
import { SQLEditor } from '@grafana/plugin-ui';
import { InlineField, Select, Stack, Text } from '@grafana/ui';
import React, { useCallback, useMemo } from 'react';

import type { DataSource } from '../../datasource';
import { QueryFormat, StlQuery } from '../../types';
import { archiveSqlLanguage } from './sqlLanguage';
import { useResource } from './useResource';

const FORMATS: Array<SelectableValue<QueryFormat>> = [
  { label: 'Time series', value: 'time_series' },
  { label: 'Table', value: 'table' },
];

interface Props {
  datasource: DataSource;
  query: StlQuery;
  onChange: (query: StlQuery) => void;
  onRunQuery: () => void;
  /** Variable queries return one column of values; the result format does not apply. */
  showFormat?: boolean;
}

export function RawSqlEditor({ datasource, query, onChange, onRunQuery, showFormat = true }: Props) {
  const macros = useResource(useCallback(() => datasource.getMacros(), [datasource]));
  const getTables = useCallback(() => datasource.getTables(), [datasource]);
  const language = useMemo(() => archiveSqlLanguage(getTables, macros.value ?? []), [getTables, macros.value]);

  const onSqlChange = (rawSql: string, run: boolean) => {
    if (rawSql !== query.rawSql || run) {
      onChange({ ...query, rawSql });
    }
    if (run) {
      onRunQuery();
    }
  };

  return (
    <Stack direction="column" gap={1}>
      {/* Macros must be known before the editor mounts: the completion provider reads them once. */}
      {macros.loading ? (
        <Text color="secondary">Loading SQL editor…</Text>
      ) : (
        <div data-testid="stl-sql-editor">
          <SQLEditor
            query={query.rawSql ?? ''}
            language={language}
            onChange={onSqlChange}
            onBlur={(rawSql) => {
              onChange({ ...query, rawSql });
              onRunQuery();
            }}
          />
        </div>
      )}
      {macros.error && <Text color="warning">Macro completion unavailable: {macros.error}</Text>}
      {showFormat && (
        <InlineField label="Format" labelWidth={14}>
          <Select<QueryFormat>
            inputId="stl-format"
            options={FORMATS}
            value={query.format ?? 'time_series'}
            onChange={(v) => {
              onChange({ ...query, format: v.value });
              onRunQuery();
            }}
            width={20}
          />
        </InlineField>
      )}
    </Stack>
  );
}
