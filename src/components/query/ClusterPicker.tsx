import { SelectableValue } from '@grafana/data';
import { getTemplateSrv } from '@grafana/runtime';
import { MultiSelect } from '@grafana/ui';
import React, { useCallback, useMemo } from 'react';

import type { DataSource } from '../../datasource';
import { useResource } from './useResource';

interface Props {
  datasource: DataSource;
  inputId: string;
  value: string[];
  onChange: (clusters: string[]) => void;
}

/** Picks cluster names from the archive's clusters and the dashboard's template variables. */
export function ClusterPicker({ datasource, inputId, value, onChange }: Props) {
  const clusters = useResource(useCallback(() => datasource.getClusters(), [datasource]));

  const options = useMemo(() => {
    const variables = getTemplateSrv()
      .getVariables()
      .map((v) => `$${v.name}`);
    const names = [...(clusters.value ?? []), ...variables];
    // Keep chosen names visible even when the backend no longer reports them.
    for (const v of value) {
      if (!names.includes(v)) {
        names.push(v);
      }
    }
    return names.map((name): SelectableValue<string> => ({ label: name, value: name }));
  }, [clusters.value, value]);

  return (
    <MultiSelect
      inputId={inputId}
      aria-label="Clusters"
      options={options}
      value={value}
      isLoading={clusters.loading}
      placeholder={clusters.error ? `Clusters unavailable: ${clusters.error}` : 'All clusters'}
      allowCustomValue
      onChange={(selected: Array<SelectableValue<string>>) =>
        onChange(selected.map((s) => s.value).filter((v): v is string => Boolean(v)))
      }
      width={40}
    />
  );
}
