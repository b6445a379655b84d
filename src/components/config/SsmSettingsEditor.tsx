import { SelectableValue } from '@grafana/data';
import { Field, Input, Select, Stack, Switch } from '@grafana/ui';
import React from 'react';

import { ClusterAuth, SSL_MODES, SslMode, SsmSettings } from '../../types';
import { compact } from './jsonData';

interface Props {
  value?: SsmSettings;
  onChange: (value: SsmSettings | undefined) => void;
}

const SSL_OPTIONS: Array<SelectableValue<SslMode>> = SSL_MODES.map((m) => ({ label: m, value: m }));

const AUTH_OPTIONS: Array<SelectableValue<ClusterAuth>> = [
  { label: 'Password', value: 'password', description: 'From the <prefix>.<cluster>.password parameter' },
  { label: 'IAM, database user', value: 'iam', description: 'redshift:GetClusterCredentials for the user parameter' },
  { label: 'IAM identity', value: 'iam-identity', description: 'redshift:GetClusterCredentialsWithIAM' },
];

/**
 * Clusters kept in SSM Parameter Store by the 2018 Redshift query logs solution: the list of
 * clusters and each one's user, password and endpoint, read when the exporter starts.
 */
export function SsmSettingsEditor({ value, onChange }: Props) {
  const set = (patch: Partial<SsmSettings>) => onChange(compact({ ...value, ...patch }));
  return (
    <Stack direction="column" gap={0}>
      <Field
        label="Read clusters from SSM Parameter Store"
        description="Adds the clusters listed under the 2018 solution's parameter names (<prefix>.global.enabled_cluster_list, <prefix>.<cluster>.user, .password)"
      >
        <Switch
          id="stl-ssm-enabled"
          value={value !== undefined}
          onChange={(e) => onChange(e.currentTarget.checked ? {} : undefined)}
        />
      </Field>
      {value && (
        <Stack direction="row" gap={2} wrap="wrap">
          <Field label="Parameter prefix">
            <Input
              id="stl-ssm-prefix"
              width={30}
              value={value.prefix ?? ''}
              placeholder="redshift_query_logs"
              onChange={(e) => set({ prefix: e.currentTarget.value.trim() })}
            />
          </Field>
          <Field label="Parameter region" description="Empty uses the AWS default region">
            <Input
              id="stl-ssm-region"
              width={20}
              value={value.region ?? ''}
              placeholder="us-east-1"
              onChange={(e) => set({ region: e.currentTarget.value.trim() })}
            />
          </Field>
          <Field label="Login of these clusters">
            <Select<ClusterAuth>
              inputId="stl-ssm-auth"
              options={AUTH_OPTIONS}
              value={value.auth ?? 'password'}
              onChange={(v) => set({ auth: v.value })}
              width={24}
            />
          </Field>
          <Field label="SSL mode of these clusters">
            <Select<SslMode>
              inputId="stl-ssm-ssl-mode"
              options={SSL_OPTIONS}
              value={value.sslMode ?? 'verify-full'}
              onChange={(v) => set({ sslMode: v.value })}
              width={20}
            />
          </Field>
        </Stack>
      )}
    </Stack>
  );
}
