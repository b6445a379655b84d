import { SelectableValue } from '@grafana/data';
import { Button, Field, Input, Select, Stack, Text } from '@grafana/ui';
import React, { useState } from 'react';

import { isGoDuration } from '../../duration';
import { RetentionSettings } from '../../types';

interface Props {
  value: RetentionSettings;
  /** The exported tables (STL tables and custom query names): the only keys the backend accepts. */
  tables: string[];
  /** Called with undefined when no row is complete: every table is then kept forever. */
  onChange: (value: RetentionSettings | undefined) => void;
}

interface Row {
  table: string;
  keep: string;
}

const UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const DAY_MS = 24 * 3_600_000;
const MAX_DAYS = 100 * 365;

export const RETENTION_HINT = 'Whole days ("90d"), a duration of at least 24h ("2160h"), or "forever"';

/** Returns why the backend would refuse a retention value, or undefined when it takes it. */
export function retentionError(keep: string): string | undefined {
  const s = keep.trim();
  if (s === '') {
    return 'Required';
  }
  if (s === 'forever') {
    return undefined;
  }
  const days = /^(\d+)d$/.exec(s);
  if (days) {
    const n = Number(days[1]);
    if (n < 1) {
      return 'At least 1d: retention deletes whole days';
    }
    return n > MAX_DAYS ? 'More than 100 years: choose "forever" or remove the row' : undefined;
  }
  if (!isGoDuration(s)) {
    return RETENTION_HINT;
  }
  let ms = 0;
  for (const [, n, unit] of s.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    ms += Number(n) * UNITS_MS[unit];
  }
  return ms < DAY_MS ? 'At least 24h: retention deletes whole days' : undefined;
}

/** The rows that the backend would take, as the jsonData.retention map. */
function toSettings(rows: Row[]): RetentionSettings | undefined {
  const complete = rows.filter((r) => r.table !== '' && retentionError(r.keep) === undefined);
  return complete.length > 0 ? Object.fromEntries(complete.map((r) => [r.table, r.keep.trim()])) : undefined;
}

/**
 * How long each table's days are kept in the archive. A row is saved once it names a table and
 * a valid duration; tables without a row are kept forever.
 */
export function RetentionEditor({ value, tables, onChange }: Props) {
  const [rows, setRows] = useState<Row[]>(() => Object.entries(value).map(([table, keep]) => ({ table, keep })));
  const update = (next: Row[]) => {
    setRows(next);
    onChange(toSettings(next));
  };
  const used = new Set(rows.map((r) => r.table));

  return (
    <Stack direction="column" gap={1}>
      {rows.length === 0 && <Text color="secondary">Every table is kept forever.</Text>}
      {rows.map((row, index) => {
        const options: Array<SelectableValue<string>> = [...new Set([...tables, row.table])]
          .filter((t) => t !== '' && (t === row.table || !used.has(t)))
          .map((t) => ({ label: t, value: t }));
        const error = row.keep === '' ? undefined : retentionError(row.keep);
        const name = row.table || `#${index + 1}`;
        return (
          <section key={index} aria-label={`Retention of ${name}`}>
            <Stack direction="row" gap={2} alignItems="flex-start">
              <Field label="Table" invalid={row.table === ''} error="Choose a table">
                <Select<string>
                  inputId={`stl-retention-${index}-table`}
                  options={options}
                  value={row.table || null}
                  placeholder="Choose a table"
                  onChange={(v) => update(rows.map((r, i) => (i === index ? { ...r, table: v.value ?? '' } : r)))}
                  width={30}
                />
              </Field>
              <Field label="Keep for" invalid={Boolean(error)} error={error}>
                <Input
                  id={`stl-retention-${index}-keep`}
                  width={16}
                  value={row.keep}
                  placeholder="90d"
                  onChange={(e) =>
                    update(rows.map((r, i) => (i === index ? { ...r, keep: e.currentTarget.value } : r)))
                  }
                />
              </Field>
              <Button
                icon="trash-alt"
                variant="destructive"
                fill="outline"
                aria-label={`Remove retention of ${name}`}
                onClick={() => update(rows.filter((_, i) => i !== index))}
              />
            </Stack>
          </section>
        );
      })}
      <div>
        <Button
          icon="plus"
          variant="secondary"
          disabled={tables.every((t) => used.has(t))}
          onClick={() => update([...rows, { table: tables.find((t) => !used.has(t)) ?? '', keep: '' }])}
        >
          Add retention
        </Button>
      </div>
    </Stack>
  );
}
