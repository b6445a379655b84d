import { SelectableValue } from '@grafana/data';
import { Button, Field, Input, MultiSelect, Stack, TagsInput, Text, TextArea } from '@grafana/ui';
import React from 'react';

import { CustomQuerySettings } from '../../types';

interface Props {
  value: CustomQuerySettings[];
  /** Names of the configured clusters a query can be limited to. */
  clusterNames: string[];
  onChange: (value: CustomQuerySettings[]) => void;
}

// The name becomes an archive table name, queried unquoted like the STL tables.
const TABLE_NAME = /^[a-z_][a-z0-9_]*$/;

function nameError(name: string): string | undefined {
  if (name === '') {
    return 'Required';
  }
  return TABLE_NAME.test(name) ? undefined : 'Lower-case letters, digits and "_", not starting with a digit';
}

/**
 * Operators' own queries, exported like an STL table: incrementally by their time column and
 * de-duplicated by their key columns.
 */
export function CustomQueriesEditor({ value, clusterNames, onChange }: Props) {
  const update = (index: number, patch: Partial<CustomQuerySettings>) =>
    onChange(value.map((q, i) => (i === index ? { ...q, ...patch } : q)));
  const clusterOptions: Array<SelectableValue<string>> = clusterNames
    .filter(Boolean)
    .map((c) => ({ label: c, value: c }));

  return (
    <Stack direction="column" gap={2}>
      {value.length === 0 && <Text color="secondary">No custom queries.</Text>}
      {value.map((q, index) => {
        const id = (field: string) => `stl-custom-${index}-${field}`;
        const error = nameError(q.name);
        return (
          <section key={index} aria-label={`Custom query ${q.name || `#${index + 1}`}`}>
            <Stack direction="row" gap={2} wrap="wrap" alignItems="flex-start">
              <Field label="Name" description="Archive table name" invalid={Boolean(error)} error={error}>
                <Input
                  id={id('name')}
                  width={24}
                  value={q.name}
                  placeholder="big_orders"
                  onChange={(e) => update(index, { name: e.currentTarget.value.trim() })}
                />
              </Field>
              <Field
                label="Time column"
                description="Orders rows in time"
                invalid={q.timeColumn === ''}
                error="Required"
              >
                <Input
                  id={id('time-column')}
                  width={20}
                  value={q.timeColumn}
                  onChange={(e) => update(index, { timeColumn: e.currentTarget.value.trim() })}
                />
              </Field>
              <Field label="Key columns" description="Identify a row">
                <TagsInput
                  id={id('key-columns')}
                  width={30}
                  tags={q.keyColumns ?? []}
                  onChange={(keyColumns) => update(index, { keyColumns })}
                />
              </Field>
              <Field label="Clusters" description="Empty runs it on every cluster">
                <MultiSelect
                  inputId={id('clusters')}
                  options={clusterOptions}
                  value={q.clusters ?? []}
                  placeholder="All clusters"
                  onChange={(selected: Array<SelectableValue<string>>) =>
                    update(index, { clusters: selected.map((s) => s.value).filter((v): v is string => Boolean(v)) })
                  }
                  width={30}
                />
              </Field>
              <Button
                icon="trash-alt"
                variant="destructive"
                fill="outline"
                aria-label={`Remove custom query ${q.name || `#${index + 1}`}`}
                onClick={() => onChange(value.filter((_, i) => i !== index))}
              />
            </Stack>
            <Field
              label="SQL"
              description="One SELECT, run on each cluster"
              invalid={q.sql.trim() === ''}
              error="Required"
            >
              <TextArea
                id={id('sql')}
                rows={4}
                value={q.sql}
                placeholder="SELECT order_id, ordered_at, amount FROM sales.orders WHERE amount > 2000"
                onChange={(e) => update(index, { sql: e.currentTarget.value })}
              />
            </Field>
          </section>
        );
      })}
      <div>
        <Button
          icon="plus"
          variant="secondary"
          onClick={() => onChange([...value, { name: '', sql: '', timeColumn: '', keyColumns: [], clusters: [] }])}
        >
          Add custom query
        </Button>
      </div>
    </Stack>
  );
}
