import { DataSourceSettings } from '@grafana/data';

import { StlArchiveOptions, StlArchiveSecureJsonData } from '../../types';

export type Settings = DataSourceSettings<StlArchiveOptions, StlArchiveSecureJsonData>;

/** Returns settings with one top-level jsonData section replaced. */
export function withJsonData<K extends keyof StlArchiveOptions>(
  options: Settings,
  key: K,
  value: StlArchiveOptions[K]
): Settings {
  return { ...options, jsonData: { ...options.jsonData, [key]: value } };
}

/** Parses a positive integer from an input; empty or invalid input clears the value (backend default). */
export function positiveInt(text: string): number | undefined {
  const n = Number(text);
  return text.trim() !== '' && Number.isInteger(n) && n > 0 ? n : undefined;
}

/**
 * Reports whether any setting calls an AWS service, as the backend decides when to check the AWS
 * credentials: a local deployment never sees them.
 */
export function usesAws(jsonData: StlArchiveOptions): boolean {
  return (
    jsonData.archive?.s3 !== undefined ||
    jsonData.state?.dynamodb !== undefined ||
    jsonData.ssm !== undefined ||
    jsonData.query?.engine === 'athena' ||
    (jsonData.clusters ?? []).some((c) => (c.auth ?? 'password') !== 'password')
  );
}

/** Returns the object without its keys whose value is undefined or empty text, so they take the backend's defaults. */
export function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== '')) as T;
}
