import { DataSourcePlugin } from '@grafana/data';

import { ConfigEditor } from './components/ConfigEditor';
import { QueryEditor } from './components/QueryEditor';
import { DataSource } from './datasource';
import { StlArchiveOptions, StlArchiveSecureJsonData, StlQuery } from './types';

export const plugin = new DataSourcePlugin<DataSource, StlQuery, StlArchiveOptions, StlArchiveSecureJsonData>(
  DataSource
)
  .setConfigEditor(ConfigEditor)
  .setQueryEditor(QueryEditor);
