// Shapes shared with the Go backend. The backend decodes jsonData, secureJsonData and the query
// model exactly as declared here, so field names and nesting must not drift from pkg/config.
import { DataSourceJsonData } from '@grafana/data';
import { DataQuery } from '@grafana/schema';

/** The eight Redshift STL system tables the exporter knows how to archive. */
export const STL_TABLES = [
  'stl_query',
  'stl_querytext',
  'stl_explain',
  'stl_scan',
  'stl_wlm_query',
  'stl_alert_event_log',
  'stl_ddltext',
  'stl_utilitytext',
] as const;

export type StlTable = (typeof STL_TABLES)[number];

export type SslMode = 'verify-full' | 'verify-ca' | 'require' | 'disable';

export const SSL_MODES: SslMode[] = ['verify-full', 'verify-ca', 'require', 'disable'];

export interface ArchiveSettings {
  /** Local archive root. */
  path?: string;
}

export interface StateSettings {
  /** Export state file; empty means the backend's default under the archive root. */
  path?: string;
}

/** Durations are Go duration strings ("5m", "1m30s"). */
export interface ExportSettings {
  enabled?: boolean;
  interval?: string;
  lag?: string;
  jitter?: string;
  concurrency?: number;
  timeout?: string;
  tables?: string[];
  queryGroup?: string;
}

export type QueryEngine = 'duckdb';

export interface QuerySettings {
  engine?: QueryEngine;
  timeout?: string;
  maxRows?: number;
}

export interface ClusterSettings {
  name: string;
  host: string;
  port?: number;
  database?: string;
  user?: string;
  sslMode?: SslMode;
}

export interface CustomQuerySettings {
  name: string;
  sql: string;
  timeColumn: string;
  keyColumns?: string[];
  /** Empty means every cluster. */
  clusters?: string[];
}

export type PresetFormat = 'time_series' | 'table' | 'annotations' | 'variable';

export type PresetColumnRole = 'time' | 'timeEnd' | 'value' | 'label' | 'text' | 'tags' | 'column';

/**
 * An operator's own diagnostic preset, shaped like the built-in ones. Usually provisioned; the
 * config editor keeps them as they are.
 */
export interface PresetSettings {
  id: string;
  title: string;
  description?: string;
  format: PresetFormat;
  /** SQL by engine dialect, with macros. */
  sql: Partial<Record<'duckdb' | 'athena', string>>;
  columns?: Array<{ name: string; role: PresetColumnRole }>;
}

export interface StlArchiveOptions extends DataSourceJsonData {
  archive?: ArchiveSettings;
  state?: StateSettings;
  export?: ExportSettings;
  query?: QuerySettings;
  clusters?: ClusterSettings[];
  customQueries?: CustomQuerySettings[];
  presets?: PresetSettings[];
}

/** secureJsonData holds one key per cluster: `password.<cluster name>`. */
export type StlArchiveSecureJsonData = Record<string, string>;

export const passwordKey = (cluster: string) => `password.${cluster}`;

export type QueryType = 'sql' | 'diagnostics' | 'status';

export type QueryFormat = 'time_series' | 'table';

export interface StlQuery extends DataQuery {
  queryType: QueryType;
  /** SQL over the archive, with macros; queryType "sql". */
  rawSql?: string;
  format?: QueryFormat;
  /** Diagnostics preset id; queryType "diagnostics". */
  preset?: string;
  /** Cluster names; empty means all. May hold template variables such as "$cluster". */
  clusters?: string[];
  limit?: number;
  /** Status queries in time_series format: one series, for alert rules. */
  metric?: 'lag_seconds' | 'gaps';
}

export const DEFAULT_PRESET = 'query_volume';

export const DEFAULT_QUERY: Partial<StlQuery> = {
  queryType: 'diagnostics',
  preset: DEFAULT_PRESET,
  clusters: [],
};

// Resource routes served by the backend (GET, JSON).

export interface ColumnInfo {
  name: string;
  type: string;
}

export interface TableInfo {
  name: string;
  columns: ColumnInfo[];
}

export interface PresetInfo {
  id: string;
  title: string;
  description: string;
  format: PresetFormat;
}

export interface MacroInfo {
  name: string;
  args: string;
  description: string;
}

export interface ExportStatus {
  cluster: string;
  table: string;
  watermark: string;
  lagSeconds: number;
  rows: number;
  lastError: string;
  gaps: unknown[];
}

/** Preset ids backing template variables. */
export type VariablePresetId = 'var_clusters' | 'var_databases' | 'var_users' | 'var_tables' | 'var_service_classes';
