import { ConnectionConfig } from '@grafana/aws-sdk';
import { ConfigSubSection } from '@grafana/plugin-ui';
import { Field, Input, Stack } from '@grafana/ui';
import React from 'react';

import { AWS_SERVICES, AwsService } from '../../types';
import { fromConnectionView, toConnectionView } from './awsConnection';
import { compact, Settings, withJsonData } from './jsonData';

interface Props {
  options: Settings;
  onOptionsChange: (options: Settings) => void;
}

const SERVICE_LABELS: Record<AwsService, string> = {
  athena: 'Athena',
  glue: 'Glue',
  redshift: 'Redshift API',
  ssm: 'SSM',
  sts: 'STS',
};

/**
 * The AWS credentials of the S3 archive, the DynamoDB state, SSM, IAM cluster logins and Athena,
 * edited with Grafana's own AWS connection form, plus per-service endpoint overrides.
 */
export function AwsSettingsEditor({ options, onOptionsChange }: Props) {
  const aws = options.jsonData.aws ?? {};
  const endpoints = aws.endpoints ?? {};

  const setEndpoint = (service: AwsService, url: string) => {
    const next = compact({ ...endpoints, [service]: url.trim() });
    // An empty endpoints object is left out: the backend then uses the regional endpoints.
    onOptionsChange(
      withJsonData(options, 'aws', compact({ ...aws, endpoints: Object.keys(next).length > 0 ? next : undefined }))
    );
  };

  return (
    <ConnectionConfig
      options={toConnectionView(options)}
      onOptionsChange={(view) => onOptionsChange(fromConnectionView(options, view))}
      skipHeader
      // One endpoint does not fit every service; S3 and DynamoDB have theirs in their sections.
      skipEndpoint
    >
      <ConfigSubSection
        title="Endpoint overrides"
        description="VPC endpoints or test servers; empty uses the service's regional endpoint"
        isCollapsible
        isInitiallyOpen={Object.keys(endpoints).length > 0}
      >
        <Stack direction="row" gap={2} wrap="wrap">
          {AWS_SERVICES.map((service) => (
            <Field key={service} label={SERVICE_LABELS[service]}>
              <Input
                id={`stl-aws-endpoint-${service}`}
                width={40}
                value={endpoints[service] ?? ''}
                placeholder={`https://${service}.<region>.amazonaws.com`}
                onChange={(e) => setEndpoint(service, e.currentTarget.value)}
              />
            </Field>
          ))}
        </Stack>
      </ConfigSubSection>
    </ConnectionConfig>
  );
}
