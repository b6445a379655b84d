import { SelectableValue } from '@grafana/data';
import { ConfigSubSection } from '@grafana/plugin-ui';
import { Alert, Field, Input, Select, Stack, Switch } from '@grafana/ui';
import React from 'react';

import { AthenaSettings, QueryEngine, QuerySettings } from '../../types';
import { DurationInput } from './DurationInput';
import { compact, positiveInt } from './jsonData';

interface Props {
  value: QuerySettings;
  /** Whether the archive is in S3: Athena needs it, and only then is there a local cache. */
  s3: boolean;
  onChange: (value: QuerySettings) => void;
}

const ENGINE_OPTIONS: Array<SelectableValue<QueryEngine>> = [
  {
    label: 'DuckDB (embedded)',
    value: 'duckdb',
    description: 'Grafana reads the Parquet files itself; from S3 through a local cache',
  },
  {
    label: 'Amazon Athena',
    value: 'athena',
    description: 'Athena reads the archive in S3; nothing is copied to the Grafana host',
  },
];

/** The engine that answers queries over the archive, and its limits. */
export function QuerySettingsEditor({ value, s3, onChange }: Props) {
  const engine = value.engine ?? 'duckdb';
  const athena = value.athena ?? {};
  const set = (patch: Partial<QuerySettings>) => onChange({ ...value, ...patch });
  const setAthena = (patch: Partial<AthenaSettings>) => set({ athena: compact({ ...athena, ...patch }) });

  return (
    <Stack direction="column" gap={0}>
      <Field label="Engine" description="What runs the queries of dashboards and alert rules">
        <Select<QueryEngine>
          inputId="stl-query-engine"
          options={ENGINE_OPTIONS}
          value={engine}
          onChange={(v) => {
            if (v.value === 'athena') {
              set({ engine: 'athena' });
              return;
            }
            // Athena settings go with the Athena engine: the backend would still check them.
            const { athena: _dropped, ...rest } = value;
            onChange({ ...rest, engine: v.value });
          }}
          width={40}
        />
      </Field>
      <Stack direction="row" gap={2} wrap="wrap">
        <DurationInput
          id="stl-query-timeout"
          label="Timeout"
          value={value.timeout}
          placeholder="30s"
          onChange={(timeout) => set({ timeout })}
        />
        <Field label="Max rows">
          <Input
            id="stl-query-max-rows"
            type="number"
            min={1}
            width={16}
            value={value.maxRows ?? ''}
            placeholder="100000"
            onChange={(e) => set({ maxRows: positiveInt(e.currentTarget.value) })}
          />
        </Field>
        {engine === 'duckdb' && (
          <Field label="Memory per query (MiB)" description="The worker running a query is bounded to this + 256 MiB">
            <Input
              id="stl-query-memory-limit"
              type="number"
              min={64}
              width={16}
              value={value.memoryLimitMB ?? ''}
              placeholder="1024"
              onChange={(e) => set({ memoryLimitMB: positiveInt(e.currentTarget.value) })}
            />
          </Field>
        )}
        {engine === 'duckdb' && (
          <Field label="Parallel queries" description="Worker processes, one query each">
            <Input
              id="stl-query-workers"
              type="number"
              min={1}
              width={12}
              value={value.workers ?? ''}
              placeholder="4"
              onChange={(e) => set({ workers: positiveInt(e.currentTarget.value) })}
            />
          </Field>
        )}
        {s3 && engine === 'duckdb' && (
          <Field label="Cache size (MB)" description="Local copy of the S3 archive under the archive path">
            <Input
              id="stl-query-cache-size"
              type="number"
              min={1}
              width={16}
              value={value.cacheSizeMB ?? ''}
              placeholder="10240"
              onChange={(e) => set({ cacheSizeMB: positiveInt(e.currentTarget.value) })}
            />
          </Field>
        )}
      </Stack>
      {engine === 'athena' && (
        <ConfigSubSection title="Athena" description="Where Athena runs the queries and finds the archive's tables">
          {!s3 && (
            <Alert severity="warning" title="Athena needs the archive in S3">
              Turn on Archive in S3 above: Athena reads the archive from the bucket.
            </Alert>
          )}
          <Stack direction="row" gap={2} wrap="wrap">
            <Field label="Workgroup">
              <Input
                id="stl-athena-workgroup"
                width={20}
                value={athena.workgroup ?? ''}
                placeholder="primary"
                onChange={(e) => setAthena({ workgroup: e.currentTarget.value.trim() })}
              />
            </Field>
            <Field label="Output location" description="s3:// folder for query results; empty uses the workgroup's">
              <Input
                id="stl-athena-output-location"
                width={40}
                value={athena.outputLocation ?? ''}
                placeholder="s3://my-athena-results/stl/"
                onChange={(e) => setAthena({ outputLocation: e.currentTarget.value.trim() })}
              />
            </Field>
            <Field label="Athena region" description="Empty uses the AWS default region">
              <Input
                id="stl-athena-region"
                width={20}
                value={athena.region ?? ''}
                placeholder="us-east-1"
                onChange={(e) => setAthena({ region: e.currentTarget.value.trim() })}
              />
            </Field>
          </Stack>
          <Stack direction="row" gap={2} wrap="wrap">
            <Field label="Data catalog">
              <Input
                id="stl-athena-catalog"
                width={20}
                value={athena.catalog ?? ''}
                placeholder="AwsDataCatalog"
                onChange={(e) => setAthena({ catalog: e.currentTarget.value.trim() })}
              />
            </Field>
            <Field label="Glue database" description="Holds one table per archived STL table">
              <Input
                id="stl-athena-database"
                width={20}
                value={athena.database ?? ''}
                placeholder="stl_archive"
                onChange={(e) => setAthena({ database: e.currentTarget.value.trim() })}
              />
            </Field>
            <DurationInput
              id="stl-athena-result-reuse"
              label="Result reuse"
              description="Answer a repeated query from a result this recent; empty never reuses"
              value={athena.resultReuse}
              placeholder="5m"
              onChange={(resultReuse) => setAthena({ resultReuse })}
            />
            <DurationInput
              id="stl-athena-timeout"
              label="Athena timeout"
              description="Bounds one Athena query, time in Athena's queue included"
              value={athena.timeout}
              placeholder="5m"
              onChange={(timeout) => setAthena({ timeout })}
            />
            <Field
              label="First day"
              description="The first day of the archive (YYYY-MM-DD): Athena sees the days from it to today"
            >
              <Input
                id="stl-athena-first-day"
                width={16}
                value={athena.firstDay ?? ''}
                placeholder="2025-01-01"
                onChange={(e) => setAthena({ firstDay: e.currentTarget.value.trim() })}
              />
            </Field>
            <Field
              label="Manage catalog"
              description="Create and update the Glue database and tables when the datasource starts"
            >
              <Switch
                id="stl-athena-manage-catalog"
                value={athena.manageCatalog ?? true}
                onChange={(e) => setAthena({ manageCatalog: e.currentTarget.checked })}
              />
            </Field>
          </Stack>
        </ConfigSubSection>
      )}
    </Stack>
  );
}
