import { SelectableValue } from '@grafana/data';
import { ConfigSubSection } from '@grafana/plugin-ui';
import { Field, Input, MultiSelect, Stack, Switch } from '@grafana/ui';
import React from 'react';

import { ExportSettings, STL_TABLES, VerifySettings } from '../../types';
import { DurationInput } from './DurationInput';
import { compact, positiveInt } from './jsonData';

interface Props {
  value: ExportSettings;
  onChange: (value: ExportSettings) => void;
}

const TABLE_OPTIONS: Array<SelectableValue<string>> = STL_TABLES.map((t) => ({ label: t, value: t }));

/** The exporter's schedule and scope. Empty fields take the backend's defaults. */
export function ExportSettingsEditor({ value, onChange }: Props) {
  const set = (patch: Partial<ExportSettings>) => onChange({ ...value, ...patch });
  const verify = value.verify ?? {};
  const setVerify = (patch: Partial<VerifySettings>) => {
    const next = compact({ ...verify, ...patch });
    // An empty object and no object both mean the defaults; leave the key out.
    const { verify: _off, ...rest } = value;
    onChange(Object.keys(next).length > 0 ? { ...rest, verify: next } : rest);
  };
  return (
    <Stack direction="column" gap={0}>
      <Field label="Export enabled" description="Export new STL rows on a schedule while Grafana runs this datasource">
        <Switch
          id="stl-export-enabled"
          value={value.enabled ?? true}
          onChange={(e) => set({ enabled: e.currentTarget.checked })}
        />
      </Field>
      <Stack direction="row" gap={2} wrap="wrap">
        <DurationInput
          id="stl-export-interval"
          label="Interval"
          description="Time between export cycles"
          value={value.interval}
          placeholder="5m"
          onChange={(interval) => set({ interval })}
        />
        <DurationInput
          id="stl-export-lag"
          label="Lag"
          description="Rows newer than this wait for the next cycle"
          value={value.lag}
          placeholder="1m"
          onChange={(lag) => set({ lag })}
        />
        <DurationInput
          id="stl-export-jitter"
          label="Jitter"
          description="Random delay per cluster"
          value={value.jitter}
          placeholder="10% of interval"
          onChange={(jitter) => set({ jitter })}
        />
        <DurationInput
          id="stl-export-timeout"
          label="Timeout"
          description="Per cluster and table"
          value={value.timeout}
          placeholder="10m"
          onChange={(timeout) => set({ timeout })}
        />
        <DurationInput
          id="stl-export-lease"
          label="Lease"
          description="After this long without news, another replica takes over a stopped exporter's clusters"
          value={value.lease}
          placeholder="2m"
          onChange={(lease) => set({ lease })}
        />
        <Field label="Concurrency" description="Clusters exported at once">
          <Input
            id="stl-export-concurrency"
            type="number"
            min={1}
            width={16}
            value={value.concurrency ?? ''}
            placeholder="4"
            onChange={(e) => set({ concurrency: positiveInt(e.currentTarget.value) })}
          />
        </Field>
      </Stack>
      <Field label="Tables" description="STL tables to export; empty exports all eight">
        <MultiSelect
          inputId="stl-export-tables"
          options={TABLE_OPTIONS}
          value={value.tables ?? []}
          placeholder="All STL tables"
          onChange={(selected: Array<SelectableValue<string>>) => {
            const tables = selected.map((s) => s.value).filter((v): v is string => Boolean(v));
            // An empty list would ask the backend to export nothing; leaving it out means all tables.
            set({ tables: tables.length > 0 ? tables : undefined });
          }}
          width={60}
        />
      </Field>
      <Field label="Query group" description="Tags the exporter's own queries on Redshift so it leaves them out">
        <Input
          id="stl-export-query-group"
          width={30}
          value={value.queryGroup ?? ''}
          placeholder="stlarchive"
          onChange={(e) => set({ queryGroup: e.currentTarget.value || undefined })}
        />
      </Field>
      <ConfigSubSection
        title="Verification"
        description="Re-counts archived windows on the cluster and compares them with what was archived, so rows that changed after export are not lost unnoticed"
      >
        <Stack direction="row" gap={2} wrap="wrap">
          <Field label="Verify archived windows" description="Run the verification pass">
            <Switch
              id="stl-verify-enabled"
              value={verify.enabled ?? true}
              onChange={(e) => setVerify({ enabled: e.currentTarget.checked })}
            />
          </Field>
          <Field label="Heal" description="Re-export the windows whose rows changed; off only reports them">
            <Switch
              id="stl-verify-heal"
              value={verify.heal ?? true}
              disabled={verify.enabled === false}
              onChange={(e) => setVerify({ heal: e.currentTarget.checked })}
            />
          </Field>
          <DurationInput
            id="stl-verify-horizon"
            label="Horizon"
            description="How far back a pass looks: longer than the lag, at most 168h (STL keeps 2 to 7 days)"
            value={verify.horizon}
            placeholder="24h"
            onChange={(horizon) => setVerify({ horizon })}
          />
          <DurationInput
            id="stl-verify-interval"
            label="Verify interval"
            description="Time between passes on one cluster; at least 1m"
            value={verify.interval}
            placeholder="1h"
            onChange={(interval) => setVerify({ interval })}
          />
        </Stack>
      </ConfigSubSection>
    </Stack>
  );
}
