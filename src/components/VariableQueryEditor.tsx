import { QueryEditorProps, SelectableValue } from '@grafana/data';
import { InlineField, Select, Stack } from '@grafana/ui';
import React from 'react';

import type { DataSource } from '../datasource';
import { StlArchiveOptions, StlQuery, VariablePresetId } from '../types';
import { ClusterPicker } from './query/ClusterPicker';
import { RawSqlEditor } from './query/RawSqlEditor';

type Props = QueryEditorProps<DataSource, StlQuery, StlArchiveOptions, StlQuery>;

type Source = VariablePresetId | 'sql';

const SOURCES: Array<SelectableValue<Source>> = [
  { label: 'Clusters', value: 'var_clusters' },
  { label: 'Databases', value: 'var_databases' },
  { label: 'Users', value: 'var_users' },
  { label: 'Tables', value: 'var_tables' },
  { label: 'WLM service classes', value: 'var_service_classes' },
  { label: 'SQL (first column)', value: 'sql' },
];

const DEFAULT_SOURCE: VariablePresetId = 'var_clusters';

function sourceOf(query: StlQuery): Source {
  if (query.queryType === 'sql') {
    return 'sql';
  }
  const preset = SOURCES.find((s) => s.value === query.preset)?.value;
  return preset ?? DEFAULT_SOURCE;
}

/** Values of a template variable: one of the archive's dimensions, or one column of SQL. */
export function VariableQueryEditor({ datasource, query, onChange, onRunQuery }: Props) {
  const source = sourceOf(query);

  const onSourceChange = (v: SelectableValue<Source>) => {
    const next = v.value ?? DEFAULT_SOURCE;
    onChange(
      next === 'sql'
        ? { ...query, queryType: 'sql', format: 'table' }
        : { ...query, queryType: 'diagnostics', preset: next }
    );
  };

  return (
    <Stack direction="column" gap={1}>
      <InlineField label="Values of" labelWidth={14}>
        <Select<Source>
          inputId="stl-variable-source"
          options={SOURCES}
          value={source}
          onChange={onSourceChange}
          width={30}
        />
      </InlineField>
      {source === 'sql' ? (
        <RawSqlEditor
          datasource={datasource}
          query={{ ...query, queryType: 'sql' }}
          onChange={onChange}
          onRunQuery={onRunQuery}
          showFormat={false}
        />
      ) : (
        source !== 'var_clusters' && (
          <InlineField label="Clusters" labelWidth={14} tooltip="Leave empty for all clusters">
            <ClusterPicker
              datasource={datasource}
              inputId="stl-variable-clusters"
              value={query.clusters ?? []}
              onChange={(clusters) => onChange({ ...query, clusters })}
            />
          </InlineField>
        )
      )}
    </Stack>
  );
}
