// @grafana/aws-sdk's ConnectionConfig edits the AWS credentials of Grafana's own AWS datasources,
// which keep them at the top level of jsonData (authType, profile, assumeRoleArn, externalId,
// defaultRegion). This datasource keeps them nested in jsonData.aws, names the region "region"
// and rejects unknown top-level fields. The two functions here translate between the shapes, so
// the component edits a view and nothing of its own naming reaches the saved settings.
import {
  AwsAuthDataSourceJsonData,
  AwsAuthDataSourceSecureJsonData,
  AwsAuthType as SdkAuthType,
} from '@grafana/aws-sdk';
import { DataSourceSettings } from '@grafana/data';

import { AWS_SECRET_KEYS, AwsAuthType, AwsSettings } from '../../types';
import { compact, Settings } from './jsonData';

/** The settings as ConnectionConfig reads and writes them. */
export type ConnectionView = DataSourceSettings<AwsAuthDataSourceJsonData, AwsAuthDataSourceSecureJsonData>;

const TO_SDK: Record<AwsAuthType, SdkAuthType> = {
  default: SdkAuthType.Default,
  keys: SdkAuthType.Keys,
  profile: SdkAuthType.Credentials,
  credentials: SdkAuthType.Credentials,
  ec2_iam_role: SdkAuthType.EC2IAMRole,
  grafana_assume_role: SdkAuthType.GrafanaAssumeRole,
};

// The chains the backend implements; ConnectionConfig offers those the Grafana administrator
// allows. Anything else (the legacy "arn") keeps the previous choice. The credentials file keeps
// the backend's older name "profile", which existing settings hold.
const FROM_SDK: Partial<Record<string, AwsAuthType>> = {
  [SdkAuthType.Default]: 'default',
  [SdkAuthType.Keys]: 'keys',
  [SdkAuthType.Credentials]: 'profile',
  [SdkAuthType.EC2IAMRole]: 'ec2_iam_role',
  [SdkAuthType.GrafanaAssumeRole]: 'grafana_assume_role',
};

/** Picks the AWS key entries out of a secureJsonData or secureJsonFields object. */
function pickSecrets<V>(from: Record<string, V> | undefined): Record<string, V> {
  const picked: Record<string, V> = {};
  for (const key of AWS_SECRET_KEYS) {
    if (from && key in from) {
      picked[key] = from[key];
    }
  }
  return picked;
}

/** Returns the settings with jsonData.aws lifted to the top level where ConnectionConfig looks. */
export function toConnectionView(options: Settings): ConnectionView {
  const aws = options.jsonData.aws ?? {};
  return {
    ...options,
    jsonData: {
      authType: TO_SDK[aws.authType ?? 'default'] ?? SdkAuthType.Default,
      // Empty rather than undefined: ConnectionConfig shows options.database for a missing profile.
      profile: aws.profile ?? '',
      assumeRoleArn: aws.assumeRoleArn,
      externalId: aws.externalId,
      defaultRegion: aws.region,
    },
    secureJsonData: pickSecrets(options.secureJsonData),
    secureJsonFields: pickSecrets(options.secureJsonFields),
  };
}

/**
 * Applies a change ConnectionConfig made to its view back onto the settings: the credentials into
 * jsonData.aws, the keys into secureJsonData. Every other field the view carries is dropped.
 */
export function fromConnectionView(options: Settings, view: ConnectionView): Settings {
  const previous = options.jsonData.aws ?? {};
  const j = view.jsonData;
  const aws: AwsSettings = compact({
    authType: FROM_SDK[j.authType ?? ''] ?? previous.authType,
    profile: j.profile,
    assumeRoleArn: j.assumeRoleArn,
    externalId: j.externalId,
    region: j.defaultRegion,
    endpoints: previous.endpoints,
  });
  return {
    ...options,
    jsonData: { ...options.jsonData, aws },
    secureJsonData: { ...options.secureJsonData, ...pickSecrets(view.secureJsonData as Record<string, string>) },
    secureJsonFields: { ...options.secureJsonFields, ...pickSecrets(view.secureJsonFields) },
  };
}
