import { SelectableValue } from '@grafana/data';
import { SQLEditor } from '@grafana/plugin-ui';
import { Button, InlineField, Select, Stack, Text } from '@grafana/ui';
import React, { useCallback, useMemo, useState } from 'react';

import type { DataSource } from '../../datasource';
import { QueryFormat, StlQuery } from '../../types';
import { formatSql } from './formatSql';
import { MacroReference } from './MacroReference';
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
  const engine = datasource.engine;
  const language = useMemo(
    () => ({
      ...archiveSqlLanguage(getTables, macros.value ?? []),
      formatter: (sql: string) => formatSql(sql, engine),
    }),
    [getTables, macros.value, engine]
  );
  const [showMacros, setShowMacros] = useState(false);

  const onFormat = () => {
    const rawSql = formatSql(query.rawSql ?? '', engine);
    if (rawSql !== query.rawSql) {
      onChange({ ...query, rawSql });
    }
  };

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
      <Stack direction="row" gap={1}>
        <Button
          variant="secondary"
          size="sm"
          icon="brackets-curly"
          onClick={onFormat}
          disabled={!query.rawSql?.trim()}
          tooltip="Lay out the SQL; macros and template variables stay as written"
        >
          Format SQL
        </Button>
        <Button
          variant="secondary"
          fill="text"
          size="sm"
          icon="question-circle"
          aria-expanded={showMacros}
          onClick={() => setShowMacros(!showMacros)}
          disabled={!macros.value}
        >
          {showMacros ? 'Hide macros' : 'Macros'}
        </Button>
      </Stack>
      {showMacros && macros.value && <MacroReference macros={macros.value} />}
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
