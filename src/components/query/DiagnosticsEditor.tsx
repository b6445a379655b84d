import { SelectableValue, TimeRange } from '@grafana/data';
import { Alert, Button, InlineField, Select, Stack, Text } from '@grafana/ui';
import React, { useCallback, useMemo, useState } from 'react';

import type { DataSource } from '../../datasource';
import { PresetFormat, PresetInfo, PresetSql, StlQuery } from '../../types';
import { ClusterPicker } from './ClusterPicker';
import { PresetSqlPreview } from './PresetSqlPreview';
import { useResource } from './useResource';

interface Props {
  datasource: DataSource;
  query: StlQuery;
  onChange: (query: StlQuery) => void;
  onRunQuery: () => void;
  range?: TimeRange;
}

// Presets for template variables are offered by the variable editor instead.
const isPanelPreset = (p: PresetInfo) => p.format !== 'variable' && !p.id.startsWith('var_');

const FORMAT_LABELS: Record<PresetFormat, string> = {
  time_series: 'time series',
  table: 'table',
  annotations: 'annotations',
  variable: 'variable values',
};

export function DiagnosticsEditor({ datasource, query, onChange, onRunQuery, range }: Props) {
  const presets = useResource(useCallback(() => datasource.getPresets(), [datasource]));
  const [showSql, setShowSql] = useState(false);

  // The preset's SQL becomes the query's; its format carries over where a SQL query has it.
  const onEditAsSql = (sql: PresetSql) => {
    const format = sql.format === 'time_series' || sql.format === 'table' ? sql.format : undefined;
    onChange({ ...query, queryType: 'sql', rawSql: sql.sql, format, preset: undefined });
    onRunQuery();
  };

  const options = useMemo(
    () =>
      (presets.value ?? []).filter(isPanelPreset).map((p): SelectableValue<string> => ({
        label: p.title,
        value: p.id,
        description: FORMAT_LABELS[p.format] ?? p.format,
      })),
    [presets.value]
  );
  const selected = presets.value?.find((p) => p.id === query.preset);

  return (
    <Stack direction="column" gap={1}>
      {presets.error && (
        <Alert title="Could not load diagnostics presets" severity="error">
          {presets.error}
        </Alert>
      )}
      <InlineField label="Preset" labelWidth={14} tooltip="A diagnostic query over the archive of every cluster">
        <Select
          inputId="stl-preset"
          options={options}
          value={query.preset ?? null}
          isLoading={presets.loading}
          onChange={(v: SelectableValue<string>) => {
            onChange({ ...query, preset: v.value });
            onRunQuery();
          }}
          width={40}
        />
      </InlineField>
      {selected?.description && (
        <div data-testid="stl-preset-description">
          <Text color="secondary">{selected.description}</Text>
        </div>
      )}
      {query.preset && (
        <div>
          <Button
            variant="secondary"
            fill="text"
            size="sm"
            icon={showSql ? 'angle-down' : 'angle-right'}
            aria-expanded={showSql}
            onClick={() => setShowSql(!showSql)}
          >
            {showSql ? 'Hide SQL' : 'Show SQL'}
          </Button>
          {showSql && (
            <PresetSqlPreview datasource={datasource} query={query} range={range} onEditAsSql={onEditAsSql} />
          )}
        </div>
      )}
      <InlineField label="Clusters" labelWidth={14} tooltip="Leave empty for all clusters">
        <ClusterPicker
          datasource={datasource}
          inputId="stl-clusters"
          value={query.clusters ?? []}
          onChange={(clusters) => {
            onChange({ ...query, clusters });
            onRunQuery();
          }}
        />
      </InlineField>
    </Stack>
  );
}
