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

/** S3 server-side encryption: the bucket's default, SSE-S3 or SSE-KMS. */
export type S3Encryption = '' | 'AES256' | 'aws:kms';

/** The archive in an S3 bucket, on AWS or on an S3-compatible server. */
export interface S3ArchiveSettings {
  bucket: string;
  /** Key prefix such as "stl/". */
  prefix?: string;
  /** Empty means aws.region. */
  region?: string;
  endpoint?: string;
  pathStyle?: boolean;
  sse?: S3Encryption;
  /** Only with sse "aws:kms"; empty means the AWS-managed key. */
  kmsKeyId?: string;
}

export interface ArchiveSettings {
  /** Local archive root; with s3 set, the local copy the embedded engine reads. */
  path?: string;
  /** Present when the exporter writes the archive to S3. */
  s3?: S3ArchiveSettings;
}

/** Export progress (and the leases of HA) in a DynamoDB table. */
export interface DynamoDBStateSettings {
  table: string;
  /** Empty means aws.region. */
  region?: string;
  endpoint?: string;
  /** Create the table when it is missing. */
  create?: boolean;
}

export interface StateSettings {
  /** Export state file; empty means the backend's default under the archive root. Must be empty with dynamodb. */
  path?: string;
  dynamodb?: DynamoDBStateSettings;
}

/**
 * AWS credential chains the backend accepts, in Grafana's names; "profile" is this datasource's
 * older name of "credentials" (the shared credentials file).
 */
export type AwsAuthType = 'default' | 'keys' | 'profile' | 'credentials' | 'ec2_iam_role' | 'grafana_assume_role';

/** Services whose endpoint can be overridden in aws.endpoints; S3 and DynamoDB have their own. */
export const AWS_SERVICES = ['athena', 'glue', 'redshift', 'ssm', 'sts'] as const;

export type AwsService = (typeof AWS_SERVICES)[number];

/** AWS credentials, nested under jsonData.aws; the keys are secureJsonData accessKey and secretKey. */
export interface AwsSettings {
  authType?: AwsAuthType;
  profile?: string;
  assumeRoleArn?: string;
  externalId?: string;
  region?: string;
  endpoints?: Partial<Record<AwsService, string>>;
}

/** secureJsonData keys of the AWS static keys, as @grafana/aws-sdk names them. */
export const AWS_SECRET_KEYS = ['accessKey', 'secretKey'] as const;

/** Clusters read from SSM Parameter Store under the 2018 solution's parameter names. */
export interface SsmSettings {
  /** Default "redshift_query_logs". */
  prefix?: string;
  /** Empty means aws.region. */
  region?: string;
  sslMode?: SslMode;
  /** How the clusters read from SSM log in; default "password". */
  auth?: ClusterAuth;
}

/** Durations are Go duration strings ("5m", "1m30s"). */
export interface ExportSettings {
  enabled?: boolean;
  interval?: string;
  lag?: string;
  jitter?: string;
  concurrency?: number;
  timeout?: string;
  /** How long a crashed exporter keeps its clusters before another takes over. */
  lease?: string;
  tables?: string[];
  queryGroup?: string;
  verify?: VerifySettings;
}

/**
 * The verification pass (jsonData.export.verify): every interval, the archived windows of the
 * last horizon are re-counted on the source; a window whose rows changed is re-exported when heal is on.
 */
export interface VerifySettings {
  /** Default true. */
  enabled?: boolean;
  /** Go duration; default 24h, longer than export.lag and at most 168h. */
  horizon?: string;
  /** Go duration; default 1h, at least 1m. */
  interval?: string;
  /** Default true. */
  heal?: boolean;
}

/** Compaction of closed days (jsonData.compaction); not done with the Athena engine. */
export interface CompactionSettings {
  /** Default true. */
  enabled?: boolean;
  /** Bound of one compacted object in MiB; default 512. */
  maxObjectMB?: number;
  /** Go duration replaced objects stay for running queries; default 10m, longer than query.timeout. */
  grace?: string;
  /** Fewest finished windows of a still open day (today) compacted at once for the embedded engine; default 12. */
  openDayMinWindows?: number;
}

/**
 * jsonData.retention: an exported table (STL table or custom query name) to how long its days are
 * kept: "90d", a Go duration of at least 24h ("2160h"), or "forever". A table not in it is kept forever.
 */
export type RetentionSettings = Record<string, string>;

export type QueryEngine = 'duckdb' | 'athena';

/** Where Athena runs queries and where the archive's Glue tables live. Empty fields take the backend's defaults. */
export interface AthenaSettings {
  workgroup?: string;
  /** s3:// folder of query results; empty uses the workgroup's. */
  outputLocation?: string;
  catalog?: string;
  database?: string;
  region?: string;
  /** Go duration; Athena answers a repeated query from a result this recent. */
  resultReuse?: string;
  /** Go duration bounding one Athena query, queueing included; default 5m. */
  timeout?: string;
  /** Create and update the Glue database and tables. Default true. */
  manageCatalog?: boolean;
  /** YYYY-MM-DD: the first day Athena sees (partition projection range). */
  firstDay?: string;
}

export interface QuerySettings {
  engine?: QueryEngine;
  timeout?: string;
  maxRows?: number;
  /** Bound of the local copy of an S3 archive, in MB. */
  cacheSizeMB?: number;
  /** Memory one query of the embedded engine may take, in MiB (the worker's OS bound adds 256). */
  memoryLimitMB?: number;
  /** Queries of the embedded engine that run at once, each in a worker process. */
  workers?: number;
  athena?: AthenaSettings;
}

export interface ClusterSettings {
  name: string;
  host: string;
  port?: number;
  database?: string;
  user?: string;
  sslMode?: SslMode;
  /** PEM file of trusted CAs (a private CA); only with verify-full or verify-ca. */
  sslRootCert?: string;
  /** Default "password". */
  auth?: ClusterAuth;
  /** Redshift cluster identifier for IAM auth; empty means the name. */
  clusterIdentifier?: string;
  /** Only with auth "iam". */
  dbGroups?: string[];
  /** Only with auth "iam". */
  autoCreate?: boolean;
}

/**
 * How the exporter logs in: a stored password, temporary credentials for a database user
 * (redshift:GetClusterCredentials), or for the AWS identity itself (GetClusterCredentialsWithIAM).
 */
export type ClusterAuth = 'password' | 'iam' | 'iam-identity';

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
  aws?: AwsSettings;
  ssm?: SsmSettings;
  export?: ExportSettings;
  query?: QuerySettings;
  clusters?: ClusterSettings[];
  customQueries?: CustomQuerySettings[];
  presets?: PresetSettings[];
  retention?: RetentionSettings;
  compaction?: CompactionSettings;
}

/** secureJsonData holds one key per cluster, `password.<cluster name>`, and the AWS accessKey and secretKey. */
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
  metric?: 'lag_seconds' | 'gaps' | 'late_rows' | 'unverified_windows' | 'unplaced_rows';
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

/** A preset's SQL in the engine's dialect (resource preset-sql): as written and expanded. */
export interface PresetSql {
  preset: string;
  dialect: QueryEngine;
  format: PresetFormat;
  /** With its macros: what a SQL query of the user's own starts from. */
  sql: string;
  /** As the engine receives it for the requested range and clusters. */
  expanded: string;
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
