import { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { ConfigSection } from '@grafana/plugin-ui';
import { Divider, Field, Input, Stack } from '@grafana/ui';
import React from 'react';

import { StlArchiveOptions, StlArchiveSecureJsonData } from '../types';
import { ClustersEditor } from './config/ClustersEditor';
import { CustomQueriesEditor } from './config/CustomQueriesEditor';
import { DurationInput } from './config/DurationInput';
import { ExportSettingsEditor } from './config/ExportSettingsEditor';
import { positiveInt, withJsonData } from './config/jsonData';

export type Props = DataSourcePluginOptionsEditorProps<StlArchiveOptions, StlArchiveSecureJsonData>;

export function ConfigEditor({ options, onOptionsChange }: Props) {
  const { jsonData } = options;
  const archive = jsonData.archive ?? {};
  const state = jsonData.state ?? {};
  const query = jsonData.query ?? {};

  return (
    <Stack direction="column" gap={2}>
      <ConfigSection title="Archive" description="Where the Parquet archive and the export progress are kept">
        <Field
          label="Archive path"
          description="Directory of the Parquet archive, partitioned by table, cluster and day"
        >
          <Input
            id="stl-archive-path"
            width={60}
            value={archive.path ?? ''}
            placeholder="/var/lib/grafana/stl-archive"
            onChange={(e) =>
              onOptionsChange(withJsonData(options, 'archive', { ...archive, path: e.currentTarget.value }))
            }
          />
        </Field>
        <Field
          label="State path"
          description="File that remembers where each export stopped; empty keeps it under the archive"
        >
          <Input
            id="stl-state-path"
            width={60}
            value={state.path ?? ''}
            placeholder="<archive path>/.state/export.db"
            onChange={(e) => onOptionsChange(withJsonData(options, 'state', { ...state, path: e.currentTarget.value }))}
          />
        </Field>
      </ConfigSection>
      <Divider />
      <ConfigSection title="Clusters" description="Redshift clusters whose STL tables are exported">
        <ClustersEditor options={options} onOptionsChange={onOptionsChange} />
      </ConfigSection>
      <Divider />
      <ConfigSection title="Export" description="How often and what to export">
        <ExportSettingsEditor
          value={jsonData.export ?? {}}
          onChange={(value) => onOptionsChange(withJsonData(options, 'export', value))}
        />
      </ConfigSection>
      <Divider />
      <ConfigSection title="Query limits" description="Limits applied to every query over the archive">
        <Stack direction="row" gap={2}>
          <DurationInput
            id="stl-query-timeout"
            label="Timeout"
            value={query.timeout}
            placeholder="30s"
            onChange={(timeout) => onOptionsChange(withJsonData(options, 'query', { ...query, timeout }))}
          />
          <Field label="Max rows">
            <Input
              id="stl-query-max-rows"
              type="number"
              min={1}
              width={16}
              value={query.maxRows ?? ''}
              placeholder="100000"
              onChange={(e) =>
                onOptionsChange(
                  withJsonData(options, 'query', { ...query, maxRows: positiveInt(e.currentTarget.value) })
                )
              }
            />
          </Field>
        </Stack>
      </ConfigSection>
      <Divider />
      <ConfigSection
        title="Custom queries"
        description="Your own queries, exported from each cluster with the same exactly-once guarantee"
        isCollapsible
        isInitiallyOpen={(jsonData.customQueries ?? []).length > 0}
      >
        <CustomQueriesEditor
          value={jsonData.customQueries ?? []}
          clusterNames={(jsonData.clusters ?? []).map((c) => c.name)}
          onChange={(value) => onOptionsChange(withJsonData(options, 'customQueries', value))}
        />
      </ConfigSection>
    </Stack>
  );
}
