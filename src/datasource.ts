import { CoreApp, DataSourceInstanceSettings, ScopedVars, TimeRange } from '@grafana/data';
import { DataSourceWithBackend, getTemplateSrv } from '@grafana/runtime';

import { VariableSupport } from './variables';
import { expandClusters, formatSqlValue } from './templating';
import {
  DEFAULT_QUERY,
  ExportStatus,
  MacroInfo,
  PresetInfo,
  PresetSql,
  QueryEngine,
  StlArchiveOptions,
  StlQuery,
  TableInfo,
} from './types';

export class DataSource extends DataSourceWithBackend<StlQuery, StlArchiveOptions> {
  // The schema of the archive changes only when the plugin is upgraded, so one fetch per
  // datasource instance is enough for editor completion. A failed fetch is not kept.
  private tablesOnce?: Promise<TableInfo[]>;
  private macrosOnce?: Promise<MacroInfo[]>;
  /** The configured query engine, whose SQL dialect the editors show and format. */
  readonly engine: QueryEngine;

  constructor(instanceSettings: DataSourceInstanceSettings<StlArchiveOptions>) {
    super(instanceSettings);
    this.engine = instanceSettings.jsonData?.query?.engine ?? 'duckdb';
    // An empty object makes Grafana use the query editor and query() for annotations, so DDL and
    // alert-event presets or SQL with a time column can feed annotations.
    this.annotations = {};
    this.variables = new VariableSupport(this);
  }

  getDefaultQuery(_app: CoreApp): Partial<StlQuery> {
    return DEFAULT_QUERY;
  }

  filterQuery(query: StlQuery): boolean {
    if (query.hide) {
      return false;
    }
    switch (query.queryType) {
      case 'sql':
        return Boolean(query.rawSql?.trim());
      case 'diagnostics':
        return Boolean(query.preset);
      default:
        return true;
    }
  }

  applyTemplateVariables(query: StlQuery, scopedVars: ScopedVars): StlQuery {
    const templateSrv = getTemplateSrv();
    return {
      ...query,
      rawSql: query.rawSql === undefined ? undefined : templateSrv.replace(query.rawSql, scopedVars, formatSqlValue),
      clusters: expandClusters(query.clusters, templateSrv, scopedVars),
    };
  }

  getClusters(): Promise<string[]> {
    return this.getResource<string[]>('clusters');
  }

  getPresets(): Promise<PresetInfo[]> {
    return this.getResource<PresetInfo[]>('presets');
  }

  /**
   * The SQL a preset runs on the configured engine, with its macros and expanded for the range
   * and the clusters (template variables applied; none means all).
   */
  getPresetSql(preset: string, range?: TimeRange, clusters: string[] = []): Promise<PresetSql> {
    const params: Record<string, string | string[]> = { preset };
    if (range) {
      params.from = String(range.from.valueOf());
      params.to = String(range.to.valueOf());
    }
    const names = expandClusters(clusters, getTemplateSrv(), {});
    if (names.length > 0) {
      params.cluster = names;
    }
    return this.getResource<PresetSql>('preset-sql', params);
  }

  getStatus(): Promise<ExportStatus[]> {
    return this.getResource<ExportStatus[]>('status');
  }

  getTables(): Promise<TableInfo[]> {
    this.tablesOnce ??= this.getResource<TableInfo[]>('tables').catch((err) => {
      this.tablesOnce = undefined;
      throw err;
    });
    return this.tablesOnce;
  }

  getMacros(): Promise<MacroInfo[]> {
    this.macrosOnce ??= this.getResource<MacroInfo[]>('macros').catch((err) => {
      this.macrosOnce = undefined;
      throw err;
    });
    return this.macrosOnce;
  }
}
