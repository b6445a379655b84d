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
