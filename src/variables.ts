import { CustomVariableSupport, DataQueryRequest, DataQueryResponse } from '@grafana/data';
import { Observable } from 'rxjs';

import type { DataSource } from './datasource';
import { VariableQueryEditor } from './components/VariableQueryEditor';
import { StlArchiveOptions, StlQuery } from './types';

/**
 * Template variables run through the same backend query path as panels: either a SQL query whose
 * first column holds the values, or one of the var_* presets (clusters, databases, users, tables,
 * service classes).
 */
export class VariableSupport extends CustomVariableSupport<DataSource, StlQuery, StlQuery, StlArchiveOptions> {
  editor = VariableQueryEditor;

  constructor(private readonly datasource: DataSource) {
    super();
  }

  getDefaultQuery(): Partial<StlQuery> {
    return { queryType: 'diagnostics', preset: 'var_clusters', format: 'table' };
  }

  query(request: DataQueryRequest<StlQuery>): Observable<DataQueryResponse> {
    return this.datasource.query(request);
  }
}
