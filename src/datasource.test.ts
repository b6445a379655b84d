import { DataSource } from './datasource';
import { fakeBackend, fakeTemplateSrv, newDataSource } from './testing/fakes';
import { StlQuery } from './types';

const sqlQuery = (rawSql: string): StlQuery => ({ refId: 'A', queryType: 'sql', rawSql });

describe('DataSource.applyTemplateVariables', () => {
  let ds: DataSource;
  beforeEach(() => {
    fakeTemplateSrv([
      { name: 'cluster', value: ['prod-east', 'prod-west'], multi: true },
      { name: 'one', value: 'dev_1' },
      { name: 'user', value: "o'brien" },
    ]);
    ds = newDataSource();
  });

  it.each<[string, string[], string[]]>([
    ['a multi-value variable becomes one entry per value', ['$cluster'], ['prod-east', 'prod-west']],
    ['the braced form expands the same way', ['${cluster}'], ['prod-east', 'prod-west']],
    [
      'plain names and variables mix, duplicates dropped',
      ['prod-east', '$cluster', '$one'],
      ['prod-east', 'prod-west', 'dev_1'],
    ],
    ['an empty list stays empty (all clusters)', [], []],
  ])('%s', (_name, clusters, want) => {
    const out = ds.applyTemplateVariables(
      { refId: 'A', queryType: 'diagnostics', preset: 'query_volume', clusters },
      {}
    );
    expect(out.clusters).toEqual(want);
  });

  it('uses the value scoped to a repeated panel over the dashboard value', () => {
    const out = ds.applyTemplateVariables(
      { refId: 'A', queryType: 'diagnostics', clusters: ['$cluster'] },
      { cluster: { text: 'prod-west', value: 'prod-west' } }
    );
    expect(out.clusters).toEqual(['prod-west']);
  });

  it('puts multi-value variables into rawSql as a list of quoted literals', () => {
    const out = ds.applyTemplateVariables(sqlQuery('SELECT 1 WHERE cluster IN ($cluster)'), {});
    expect(out.rawSql).toBe("SELECT 1 WHERE cluster IN ('prod-east','prod-west')");
  });

  it('doubles quotes of a single value so it cannot end a string literal', () => {
    const out = ds.applyTemplateVariables(sqlQuery("SELECT 1 WHERE usename = '$user'"), {});
    expect(out.rawSql).toBe("SELECT 1 WHERE usename = 'o''brien'");
  });

  it('leaves macros to the backend', () => {
    const out = ds.applyTemplateVariables(sqlQuery('SELECT 1 WHERE $__timeFilter(endtime)'), {});
    expect(out.rawSql).toBe('SELECT 1 WHERE $__timeFilter(endtime)');
  });
});

describe('DataSource.filterQuery', () => {
  const ds = newDataSource();

  it.each<[string, StlQuery, boolean]>([
    ['empty SQL is not run', sqlQuery(''), false],
    ['blank SQL is not run', sqlQuery('  \n '), false],
    ['SQL is run', sqlQuery('SELECT 1'), true],
    ['a hidden query is not run', { ...sqlQuery('SELECT 1'), hide: true }, false],
    ['diagnostics without a preset is not run', { refId: 'A', queryType: 'diagnostics' }, false],
    ['diagnostics with a preset is run', { refId: 'A', queryType: 'diagnostics', preset: 'query_volume' }, true],
    ['export status needs nothing', { refId: 'A', queryType: 'status' }, true],
  ])('%s', (_name, query, want) => {
    expect(ds.filterQuery(query)).toBe(want);
  });
});

describe('DataSource defaults and resources', () => {
  it('starts new queries on the query volume diagnostics preset', () => {
    expect(newDataSource().getDefaultQuery('explore' as never)).toMatchObject({
      queryType: 'diagnostics',
      preset: 'query_volume',
    });
  });

  it('supports annotations through the query editor and template variables through presets', async () => {
    const ds = newDataSource();
    expect(ds.annotations).toEqual({});
    expect(ds.variables?.getDefaultQuery?.()).toMatchObject({ queryType: 'diagnostics', preset: 'var_clusters' });
  });

  it('reads the tables once per datasource and retries after a failure', async () => {
    const backend = fakeBackend({});
    const ds = newDataSource();
    await expect(ds.getTables()).rejects.toMatchObject({ status: 404 });

    const backendAfter = fakeBackend({
      tables: [{ name: 'stl_query', columns: [{ name: 'query', type: 'INTEGER' }] }],
    });
    await expect(ds.getTables()).resolves.toEqual([
      { name: 'stl_query', columns: [{ name: 'query', type: 'INTEGER' }] },
    ]);
    await ds.getTables();

    // One failed request, then one successful request that later calls reuse.
    expect(backend.requested).toEqual(['tables']);
    expect(backendAfter.requested).toEqual(['tables']);
  });

  it('asks the backend for clusters and presets by resource route', async () => {
    fakeBackend({
      clusters: ['c1', 'c2'],
      presets: [{ id: 'query_volume', title: 'Query volume', description: '', format: 'time_series' }],
    });
    const ds = newDataSource();
    await expect(ds.getClusters()).resolves.toEqual(['c1', 'c2']);
    await expect(ds.getPresets()).resolves.toEqual([expect.objectContaining({ id: 'query_volume' })]);
  });
});
