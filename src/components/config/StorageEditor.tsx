import { SelectableValue } from '@grafana/data';
import { ConfigSubSection } from '@grafana/plugin-ui';
import { Field, Input, Select, Stack, Switch } from '@grafana/ui';
import React from 'react';

import { ArchiveSettings, DynamoDBStateSettings, S3ArchiveSettings, S3Encryption, StateSettings } from '../../types';
import { compact } from './jsonData';

interface Props {
  archive: ArchiveSettings;
  state: StateSettings;
  onArchiveChange: (archive: ArchiveSettings) => void;
  onStateChange: (state: StateSettings) => void;
}

const SSE_OPTIONS: Array<SelectableValue<S3Encryption>> = [
  { label: 'Bucket default', value: '', description: 'Whatever the bucket encrypts new objects with' },
  { label: 'SSE-S3 (AES256)', value: 'AES256', description: 'Keys managed by S3' },
  { label: 'SSE-KMS (aws:kms)', value: 'aws:kms', description: 'A KMS key, yours or the AWS-managed one' },
];

/** Where the archive and the export progress live: locally, or in S3 and DynamoDB. */
export function StorageEditor({ archive, state, onArchiveChange, onStateChange }: Props) {
  const s3 = archive.s3;
  const dynamodb = state.dynamodb;

  const setS3 = (patch: Partial<S3ArchiveSettings>) => {
    const next = compact({ ...(s3 ?? { bucket: '' }), ...patch });
    // A KMS key without SSE-KMS is refused by the backend; it goes with the encryption that uses it.
    if (next.sse !== 'aws:kms') {
      delete next.kmsKeyId;
    }
    onArchiveChange({ ...archive, s3: { ...next, bucket: next.bucket ?? '' } });
  };
  const setDynamoDB = (patch: Partial<DynamoDBStateSettings>) => {
    const next = compact({ ...(dynamodb ?? { table: '' }), ...patch });
    onStateChange({ ...state, dynamodb: { ...next, table: next.table ?? '' } });
  };

  return (
    <Stack direction="column" gap={0}>
      <Field
        label="Archive path"
        description={
          s3
            ? 'Local folder where the embedded engine keeps its copy of the S3 archive'
            : 'Directory of the Parquet archive, partitioned by table, cluster and day'
        }
      >
        <Input
          id="stl-archive-path"
          width={60}
          value={archive.path ?? ''}
          placeholder="/var/lib/grafana/stl-archive"
          onChange={(e) => onArchiveChange({ ...archive, path: e.currentTarget.value })}
        />
      </Field>
      <Field
        label="Archive in S3"
        description="The exporter writes the archive to an S3 bucket, where every Grafana replica and Athena can read it"
      >
        <Switch
          id="stl-archive-s3"
          value={s3 !== undefined}
          onChange={(e) => {
            if (e.currentTarget.checked) {
              onArchiveChange({ ...archive, s3: { bucket: '' } });
            } else {
              const { s3: _off, ...rest } = archive;
              onArchiveChange(rest);
            }
          }}
        />
      </Field>
      {s3 && (
        <ConfigSubSection title="S3 bucket">
          <Stack direction="row" gap={2} wrap="wrap">
            <Field label="Bucket" invalid={s3.bucket === ''} error="Required">
              <Input
                id="stl-s3-bucket"
                width={30}
                value={s3.bucket}
                placeholder="my-stl-archive"
                onChange={(e) => setS3({ bucket: e.currentTarget.value.trim() })}
              />
            </Field>
            <Field label="Prefix" description="Goes before every object key">
              <Input
                id="stl-s3-prefix"
                width={20}
                value={s3.prefix ?? ''}
                placeholder="stl/"
                onChange={(e) => setS3({ prefix: e.currentTarget.value.trim() })}
              />
            </Field>
            <Field label="Bucket region" description="Empty uses the AWS default region">
              <Input
                id="stl-s3-region"
                width={20}
                value={s3.region ?? ''}
                placeholder="us-east-1"
                onChange={(e) => setS3({ region: e.currentTarget.value.trim() })}
              />
            </Field>
          </Stack>
          <Stack direction="row" gap={2} wrap="wrap">
            <Field label="S3 endpoint" description="An S3-compatible server or a VPC endpoint; empty for AWS S3">
              <Input
                id="stl-s3-endpoint"
                width={40}
                value={s3.endpoint ?? ''}
                placeholder="https://s3.us-east-1.amazonaws.com"
                onChange={(e) => setS3({ endpoint: e.currentTarget.value.trim() })}
              />
            </Field>
            <Field label="Path-style addressing" description="Bucket in the path, as most S3-compatible servers need">
              <Switch
                id="stl-s3-path-style"
                value={s3.pathStyle ?? false}
                onChange={(e) => setS3({ pathStyle: e.currentTarget.checked || undefined })}
              />
            </Field>
          </Stack>
          <Stack direction="row" gap={2} wrap="wrap">
            <Field label="Encryption" description="Server-side encryption of the Parquet files">
              <Select<S3Encryption>
                inputId="stl-s3-sse"
                options={SSE_OPTIONS}
                value={s3.sse ?? ''}
                onChange={(v) => setS3({ sse: v.value })}
                width={30}
              />
            </Field>
            {s3.sse === 'aws:kms' && (
              <Field label="KMS key" description="Key id or ARN; empty uses the AWS-managed key aws/s3">
                <Input
                  id="stl-s3-kms-key"
                  width={50}
                  value={s3.kmsKeyId ?? ''}
                  placeholder="arn:aws:kms:us-east-1:123456789012:key/…"
                  onChange={(e) => setS3({ kmsKeyId: e.currentTarget.value.trim() })}
                />
              </Field>
            )}
          </Stack>
        </ConfigSubSection>
      )}
      {!dynamodb && (
        <Field
          label="State path"
          description="File that remembers where each export stopped; empty keeps it under the archive"
        >
          <Input
            id="stl-state-path"
            width={60}
            value={state.path ?? ''}
            placeholder="<archive path>/.state/export.db"
            onChange={(e) => onStateChange({ ...state, path: e.currentTarget.value })}
          />
        </Field>
      )}
      <Field
        label="State in DynamoDB"
        description="Keep export progress in a DynamoDB table instead of a local file, so several Grafana replicas share it"
      >
        <Switch
          id="stl-state-dynamodb"
          value={dynamodb !== undefined}
          onChange={(e) => {
            const { dynamodb: _off, path: _path, ...rest } = state;
            // The state lives in one place: a state file next to a table is refused by the backend.
            onStateChange(e.currentTarget.checked ? { ...rest, dynamodb: { table: '' } } : rest);
          }}
        />
      </Field>
      {dynamodb && (
        <ConfigSubSection title="DynamoDB table">
          <Stack direction="row" gap={2} wrap="wrap">
            <Field label="Table" invalid={dynamodb.table === ''} error="Required">
              <Input
                id="stl-dynamodb-table"
                width={30}
                value={dynamodb.table}
                placeholder="stl-archive-state"
                onChange={(e) => setDynamoDB({ table: e.currentTarget.value.trim() })}
              />
            </Field>
            <Field label="Table region" description="Empty uses the AWS default region">
              <Input
                id="stl-dynamodb-region"
                width={20}
                value={dynamodb.region ?? ''}
                placeholder="us-east-1"
                onChange={(e) => setDynamoDB({ region: e.currentTarget.value.trim() })}
              />
            </Field>
            <Field label="DynamoDB endpoint" description="A VPC endpoint or a local server; empty for AWS DynamoDB">
              <Input
                id="stl-dynamodb-endpoint"
                width={40}
                value={dynamodb.endpoint ?? ''}
                placeholder="https://dynamodb.us-east-1.amazonaws.com"
                onChange={(e) => setDynamoDB({ endpoint: e.currentTarget.value.trim() })}
              />
            </Field>
            <Field label="Create table" description="Create the table when it is missing (needs dynamodb:CreateTable)">
              <Switch
                id="stl-dynamodb-create"
                value={dynamodb.create ?? false}
                onChange={(e) => setDynamoDB({ create: e.currentTarget.checked || undefined })}
              />
            </Field>
          </Stack>
        </ConfigSubSection>
      )}
    </Stack>
  );
}
