import { QueryEditorProps, SelectableValue } from '@grafana/data';
import { InlineField, Input, RadioButtonGroup, Stack, Text } from '@grafana/ui';
import React, { ChangeEvent } from 'react';

import type { DataSource } from '../datasource';
import { DEFAULT_PRESET, QueryType, StlArchiveOptions, StlQuery } from '../types';
import { ClusterPicker } from './query/ClusterPicker';
import { DiagnosticsEditor } from './query/DiagnosticsEditor';
import { RawSqlEditor } from './query/RawSqlEditor';

export type Props = QueryEditorProps<DataSource, StlQuery, StlArchiveOptions>;

const QUERY_TYPES: Array<SelectableValue<QueryType>> = [
  { label: 'Diagnostics', value: 'diagnostics', description: 'Ready-made queries over the archive' },
  { label: 'SQL', value: 'sql', description: 'Your own SQL over the archive, with macros' },
  { label: 'Export status', value: 'status', description: 'Watermarks, lag and gaps per cluster and table' },
];

export function QueryEditor({ datasource, query: stored, onChange, onRunQuery, range }: Props) {
  // Queries saved before a type was chosen (e.g. a new annotation) are diagnostics queries; every
  // change made here then carries the type explicitly.
  const queryType = stored.queryType ?? 'diagnostics';
  const query: StlQuery = { ...stored, queryType };

  const onQueryTypeChange = (next: QueryType) => {
    onChange({
      ...query,
      queryType: next,
      preset: next === 'diagnostics' ? (query.preset ?? DEFAULT_PRESET) : query.preset,
    });
    onRunQuery();
  };

  const onLimitChange = (e: ChangeEvent<HTMLInputElement>) => {
    const limit = parseInt(e.currentTarget.value, 10);
    onChange({ ...query, limit: Number.isFinite(limit) && limit > 0 ? limit : undefined });
  };

  return (
    <Stack direction="column" gap={1}>
      <InlineField label="Query type" labelWidth={14}>
        <RadioButtonGroup<QueryType> options={QUERY_TYPES} value={queryType} onChange={onQueryTypeChange} />
      </InlineField>
      {queryType === 'diagnostics' && (
        <DiagnosticsEditor
          datasource={datasource}
          query={query}
          onChange={onChange}
          onRunQuery={onRunQuery}
          range={range}
        />
      )}
      {queryType === 'sql' && (
        <RawSqlEditor datasource={datasource} query={query} onChange={onChange} onRunQuery={onRunQuery} />
      )}
      {queryType === 'status' && (
        <>
          <Text color="secondary">Shows the export watermark, lag, row count and gaps of every cluster and table.</Text>
          <InlineField label="Clusters" labelWidth={14} tooltip="Leave empty for all clusters">
            <ClusterPicker
              datasource={datasource}
              inputId="stl-status-clusters"
              value={query.clusters ?? []}
              onChange={(clusters) => {
                onChange({ ...query, clusters });
                onRunQuery();
              }}
            />
          </InlineField>
        </>
      )}
      {queryType !== 'status' && (
        <InlineField
          label="Row limit"
          labelWidth={14}
          tooltip="At most this many rows; the datasource's maximum applies when empty"
        >
          <Input
            id="stl-limit"
            type="number"
            min={1}
            width={16}
            value={query.limit ?? ''}
            placeholder="default"
            onChange={onLimitChange}
            onBlur={onRunQuery}
          />
        </InlineField>
      )}
    </Stack>
  );
}
