import { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { ConfigSection } from '@grafana/plugin-ui';
import { Divider, Stack } from '@grafana/ui';
import React from 'react';

import { STL_TABLES, StlArchiveOptions, StlArchiveSecureJsonData } from '../types';
import { AwsSettingsEditor } from './config/AwsSettingsEditor';
import { ClustersEditor } from './config/ClustersEditor';
import { CompactionEditor } from './config/CompactionEditor';
import { CustomQueriesEditor } from './config/CustomQueriesEditor';
import { ExportSettingsEditor } from './config/ExportSettingsEditor';
import { usesAws, withJsonData } from './config/jsonData';
import { QuerySettingsEditor } from './config/QuerySettingsEditor';
import { RetentionEditor } from './config/RetentionEditor';
import { SsmSettingsEditor } from './config/SsmSettingsEditor';
import { StorageEditor } from './config/StorageEditor';

export type Props = DataSourcePluginOptionsEditorProps<StlArchiveOptions, StlArchiveSecureJsonData>;

export function ConfigEditor({ options, onOptionsChange }: Props) {
  const { jsonData } = options;
  // Sets an optional top-level section, or leaves its key out so the backend's defaults apply.
  const setOptional = <K extends 'retention' | 'compaction'>(key: K, value: StlArchiveOptions[K] | undefined) => {
    const { [key]: _off, ...rest } = jsonData;
    onOptionsChange({ ...options, jsonData: value === undefined ? rest : { ...rest, [key]: value } });
  };
  // Retention may name only exported tables: the configured STL tables and the custom queries.
  const exportedTables = [
    ...(jsonData.export?.tables ?? STL_TABLES),
    ...(jsonData.customQueries ?? []).map((q) => q.name).filter(Boolean),
  ];

  return (
    <Stack direction="column" gap={2}>
      <ConfigSection title="Archive" description="Where the Parquet archive and the export progress are kept">
        <StorageEditor
          archive={jsonData.archive ?? {}}
          state={jsonData.state ?? {}}
          onArchiveChange={(archive) => onOptionsChange(withJsonData(options, 'archive', archive))}
          onStateChange={(state) => onOptionsChange(withJsonData(options, 'state', state))}
        />
      </ConfigSection>
      <Divider />
      <ConfigSection title="Clusters" description="Redshift clusters whose STL tables are exported">
        <ClustersEditor options={options} onOptionsChange={onOptionsChange} />
        <SsmSettingsEditor
          value={jsonData.ssm}
          onChange={(ssm) => {
            const { ssm: _off, ...rest } = jsonData;
            // Leaving ssm out turns it off; an empty object turns it on with the defaults.
            onOptionsChange({ ...options, jsonData: ssm ? { ...rest, ssm } : rest });
          }}
        />
      </ConfigSection>
      {usesAws(jsonData) && (
        <>
          <Divider />
          <ConfigSection
            title="AWS credentials"
            description="Used for the S3 archive, the DynamoDB state, SSM, IAM logins to clusters and Athena"
          >
            <AwsSettingsEditor options={options} onOptionsChange={onOptionsChange} />
          </ConfigSection>
        </>
      )}
      <Divider />
      <ConfigSection title="Export" description="How often and what to export">
        <ExportSettingsEditor
          value={jsonData.export ?? {}}
          onChange={(value) => onOptionsChange(withJsonData(options, 'export', value))}
        />
      </ConfigSection>
      <Divider />
      <ConfigSection title="Queries" description="The engine that answers queries over the archive, and its limits">
        <QuerySettingsEditor
          value={jsonData.query ?? {}}
          s3={jsonData.archive?.s3 !== undefined}
          onChange={(value) => onOptionsChange(withJsonData(options, 'query', value))}
        />
      </ConfigSection>
      <Divider />
      <ConfigSection
        title="Retention and compaction"
        description="How long archived days are kept, and how closed days are compacted"
        isCollapsible
        isInitiallyOpen={jsonData.retention !== undefined || jsonData.compaction !== undefined}
      >
        <RetentionEditor
          value={jsonData.retention ?? {}}
          tables={exportedTables}
          onChange={(value) => setOptional('retention', value)}
        />
        <CompactionEditor
          value={jsonData.compaction ?? {}}
          athena={jsonData.query?.engine === 'athena'}
          onChange={(value) => setOptional('compaction', value)}
        />
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
