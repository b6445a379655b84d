import { Alert, Field, Input, Stack, Switch } from '@grafana/ui';
import React from 'react';

import { CompactionSettings } from '../../types';
import { DurationInput } from './DurationInput';
import { compact, positiveInt } from './jsonData';

interface Props {
  value: CompactionSettings;
  /** Whether queries run on Athena, which then reads compacted days through registered Glue partitions. */
  athena: boolean;
  /** Called with undefined when every field is left at its default. */
  onChange: (value: CompactionSettings | undefined) => void;
}

/** Compaction of closed days into fewer, larger objects. Empty fields take the backend's defaults. */
export function CompactionEditor({ value, athena, onChange }: Props) {
  const set = (patch: Partial<CompactionSettings>) => {
    const next = compact({ ...value, ...patch });
    onChange(Object.keys(next).length > 0 ? next : undefined);
  };
  return (
    <Stack direction="column" gap={0}>
      {athena && (
        <Alert severity="info" title="Compaction with Athena">
          With compaction on, the Glue tables use registered partitions instead of projection: the exporter publishes
          each day&apos;s partition, which needs the glue partition permissions of the IAM policy.
        </Alert>
      )}
      <Stack direction="row" gap={2} wrap="wrap">
        <Field
          label="Compaction"
          description="Rewrite a closed day's many small files into a few large ones, once verified"
        >
          <Switch
            id="stl-compaction-enabled"
            value={value.enabled ?? true}
            onChange={(e) => set({ enabled: e.currentTarget.checked })}
          />
        </Field>
        <Field label="Max object size (MiB)" description="Upper bound of one compacted file">
          <Input
            id="stl-compaction-max-object"
            type="number"
            min={1}
            width={16}
            value={value.maxObjectMB ?? ''}
            placeholder="512"
            onChange={(e) => set({ maxObjectMB: positiveInt(e.currentTarget.value) })}
          />
        </Field>
        <Field
          label="Open day: windows at once"
          description="Today's finished files are compacted once this many new ones are there"
        >
          <Input
            id="stl-compaction-open-day"
            type="number"
            min={1}
            width={16}
            value={value.openDayMinWindows ?? ''}
            placeholder="12"
            onChange={(e) => set({ openDayMinWindows: positiveInt(e.currentTarget.value) })}
          />
        </Field>
        <DurationInput
          id="stl-compaction-grace"
          label="Grace"
          description="Replaced files stay this long for queries already reading them; longer than the query timeout"
          value={value.grace}
          placeholder="10m"
          onChange={(grace) => set({ grace })}
        />
      </Stack>
    </Stack>
  );
}
