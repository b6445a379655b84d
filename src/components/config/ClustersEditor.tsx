import { SelectableValue } from '@grafana/data';
import { Button, Field, Input, SecretInput, Select, Stack, Switch, TagsInput, Text } from '@grafana/ui';
import React, { useState } from 'react';

import { forgetPassword, isPasswordConfigured, renamePassword, resetPassword, setPassword } from '../../secrets';
import { ClusterAuth, ClusterSettings, passwordKey, SSL_MODES, SslMode } from '../../types';
import { positiveInt, Settings, withJsonData } from './jsonData';

interface Props {
  options: Settings;
  onOptionsChange: (options: Settings) => void;
}

// The backend uses the name as the archive partition value (cluster=<name>) without quoting.
const CLUSTER_NAME = /^[a-z0-9_-]+$/;

const SSL_OPTIONS: Array<SelectableValue<SslMode>> = SSL_MODES.map((m) => ({
  label: m,
  value: m,
  description: m === 'disable' ? 'No TLS: for local tests only' : undefined,
}));

const AUTH_OPTIONS: Array<SelectableValue<ClusterAuth>> = [
  {
    label: 'Password',
    value: 'password',
    description: 'A database user and its password, stored encrypted by Grafana',
  },
  {
    label: 'IAM, database user',
    value: 'iam',
    description: 'Temporary password for the user from redshift:GetClusterCredentials',
  },
  {
    label: 'IAM identity',
    value: 'iam-identity',
    description: 'The AWS identity is the database user (redshift:GetClusterCredentialsWithIAM)',
  },
];

// The CA file is read only when the server certificate is verified.
const verifies = (mode: SslMode | undefined) => (mode ?? 'verify-full').startsWith('verify-');

/**
 * Returns the cluster with another login method. Fields the new method does not use are dropped,
 * so what is saved is what is used: the backend refuses dbGroups and autoCreate outside "iam".
 */
export function withAuth(cluster: ClusterSettings, auth: ClusterAuth): ClusterSettings {
  const next: ClusterSettings = { ...cluster, auth };
  if (auth !== 'iam') {
    delete next.dbGroups;
    delete next.autoCreate;
  }
  if (auth === 'iam-identity') {
    delete next.user;
  }
  if (auth === 'password') {
    delete next.clusterIdentifier;
  }
  return next;
}

export const NEW_CLUSTER: ClusterSettings = {
  name: '',
  host: '',
  port: 5439,
  database: 'dev',
  user: '',
  sslMode: 'verify-full',
};

function nameError(name: string, others: string[]): string | undefined {
  if (name === '') {
    return 'Required';
  }
  if (!CLUSTER_NAME.test(name)) {
    return 'Lower-case letters, digits, "-" and "_" only';
  }
  if (others.includes(name)) {
    return 'Another cluster has this name';
  }
  return undefined;
}

/** The Redshift clusters to export from, each with its password kept in secureJsonData. */
export function ClustersEditor({ options, onOptionsChange }: Props) {
  const clusters = options.jsonData.clusters ?? [];

  const replace = (base: Settings, index: number, cluster: ClusterSettings) =>
    withJsonData(
      base,
      'clusters',
      clusters.map((c, i) => (i === index ? cluster : c))
    );

  const onRemove = (index: number) => {
    const removed = clusters[index];
    const next = withJsonData(
      options,
      'clusters',
      clusters.filter((_, i) => i !== index)
    );
    // Another row may still use the same (duplicate) name; its password stays.
    const stillUsed = clusters.some((c, i) => i !== index && c.name === removed.name);
    onOptionsChange(stillUsed ? next : forgetPassword(next, removed.name));
  };

  return (
    <Stack direction="column" gap={2}>
      {clusters.length === 0 && <Text color="secondary">No clusters yet.</Text>}
      {clusters.map((cluster, index) => (
        <ClusterRow
          key={index}
          index={index}
          cluster={cluster}
          otherNames={clusters.filter((_, i) => i !== index).map((c) => c.name)}
          options={options}
          onChange={(c) => onOptionsChange(replace(options, index, c))}
          onRename={(c) => onOptionsChange(renamePassword(replace(options, index, c), cluster.name, c.name))}
          onOptionsChange={onOptionsChange}
          onRemove={() => onRemove(index)}
        />
      ))}
      <div>
        <Button
          icon="plus"
          variant="secondary"
          onClick={() => onOptionsChange(withJsonData(options, 'clusters', [...clusters, { ...NEW_CLUSTER }]))}
        >
          Add cluster
        </Button>
      </div>
    </Stack>
  );
}

interface RowProps {
  index: number;
  cluster: ClusterSettings;
  otherNames: string[];
  options: Settings;
  onChange: (cluster: ClusterSettings) => void;
  onRename: (cluster: ClusterSettings) => void;
  onOptionsChange: (options: Settings) => void;
  onRemove: () => void;
}

function ClusterRow({ index, cluster, otherNames, options, onChange, onRename, onOptionsChange, onRemove }: RowProps) {
  // The name is committed on blur: a rename moves the password key once, not per keystroke.
  // draft is the name being typed; undefined when the field shows the saved name.
  const [draft, setDraft] = useState<string>();
  const name = draft ?? cluster.name;

  const id = (field: string) => `stl-cluster-${index}-${field}`;
  const set = (patch: Partial<ClusterSettings>) => onChange({ ...cluster, ...patch });
  const error = nameError(name, otherNames);
  const label = cluster.name || `#${index + 1}`;
  const auth = cluster.auth ?? 'password';

  return (
    <section aria-label={`Cluster ${label}`}>
      <Stack direction="row" gap={2} wrap="wrap" alignItems="flex-start">
        <Field label="Name" invalid={Boolean(error)} error={error}>
          <Input
            id={id('name')}
            width={20}
            value={name}
            placeholder="prod-east"
            onChange={(e) => setDraft(e.currentTarget.value.trim())}
            onBlur={() => {
              setDraft(undefined);
              if (name !== cluster.name) {
                onRename({ ...cluster, name });
              }
            }}
          />
        </Field>
        <Field label="Host" invalid={cluster.host === ''} error="Required">
          <Input
            id={id('host')}
            width={40}
            value={cluster.host}
            placeholder="examplecluster.abc123.us-east-1.redshift.amazonaws.com"
            onChange={(e) => set({ host: e.currentTarget.value.trim() })}
          />
        </Field>
        <Field label="Port">
          <Input
            id={id('port')}
            type="number"
            width={10}
            value={cluster.port ?? ''}
            placeholder="5439"
            onChange={(e) => set({ port: positiveInt(e.currentTarget.value) })}
          />
        </Field>
        <Field label="Database">
          <Input
            id={id('database')}
            width={16}
            value={cluster.database ?? ''}
            placeholder="dev"
            onChange={(e) => set({ database: e.currentTarget.value.trim() || undefined })}
          />
        </Field>
        {auth !== 'iam-identity' && (
          <Field label="User" description="Needs SELECT on the STL tables (SYSLOG ACCESS UNRESTRICTED)">
            <Input
              id={id('user')}
              width={20}
              value={cluster.user ?? ''}
              onChange={(e) => set({ user: e.currentTarget.value.trim() || undefined })}
            />
          </Field>
        )}
        <Field label="SSL mode">
          <Select<SslMode>
            inputId={id('ssl-mode')}
            options={SSL_OPTIONS}
            value={cluster.sslMode ?? 'verify-full'}
            onChange={(v) =>
              set(verifies(v.value) ? { sslMode: v.value } : { sslMode: v.value, sslRootCert: undefined })
            }
            width={20}
          />
        </Field>
        {verifies(cluster.sslMode) && (
          <Field label="CA certificate file" description="PEM file of a private CA; empty trusts the system roots">
            <Input
              id={id('ssl-root-cert')}
              width={30}
              value={cluster.sslRootCert ?? ''}
              placeholder="/etc/ssl/private-ca.pem"
              onChange={(e) => set({ sslRootCert: e.currentTarget.value.trim() || undefined })}
            />
          </Field>
        )}
        <Field label="Login" description="How the exporter signs in">
          <Select<ClusterAuth>
            inputId={id('auth')}
            options={AUTH_OPTIONS}
            value={auth}
            onChange={(v) => v.value && onChange(withAuth(cluster, v.value))}
            width={24}
          />
        </Field>
        {auth !== 'password' && (
          <Field label="Cluster identifier" description="Redshift cluster identifier; empty uses the name">
            <Input
              id={id('cluster-identifier')}
              width={24}
              value={cluster.clusterIdentifier ?? ''}
              placeholder={cluster.name || 'examplecluster'}
              onChange={(e) => set({ clusterIdentifier: e.currentTarget.value.trim() || undefined })}
            />
          </Field>
        )}
        {auth === 'iam' && (
          <>
            <Field label="Database groups" description="Groups the user joins for the session">
              <TagsInput
                id={id('db-groups')}
                width={30}
                tags={cluster.dbGroups ?? []}
                onChange={(dbGroups) => set({ dbGroups: dbGroups.length > 0 ? dbGroups : undefined })}
              />
            </Field>
            <Field label="Create user" description="Create the database user when it does not exist">
              <Switch
                id={id('auto-create')}
                value={cluster.autoCreate ?? false}
                onChange={(e) => set({ autoCreate: e.currentTarget.checked || undefined })}
              />
            </Field>
          </>
        )}
        {auth === 'password' && (
          <Field label="Password">
            <SecretInput
              id={id('password')}
              width={24}
              disabled={cluster.name === ''}
              placeholder={cluster.name === '' ? 'Name the cluster first' : ''}
              isConfigured={isPasswordConfigured(options, cluster.name)}
              value={options.secureJsonData?.[passwordKey(cluster.name)] ?? ''}
              onChange={(e) => onOptionsChange(setPassword(options, cluster.name, e.currentTarget.value))}
              onReset={() => onOptionsChange(resetPassword(options, cluster.name))}
            />
          </Field>
        )}
        <Button
          icon="trash-alt"
          variant="destructive"
          fill="outline"
          aria-label={`Remove cluster ${label}`}
          onClick={onRemove}
        />
      </Stack>
    </section>
  );
}
