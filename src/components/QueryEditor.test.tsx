import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { dateTime, TimeRange } from '@grafana/data';
import React from 'react';

import { fakeBackend, fakeTemplateSrv, newDataSource } from '../testing/fakes';
import { registered } from '../testing/monaco';
import { StlQuery } from '../types';
import { QueryEditor } from './QueryEditor';

const PRESETS = [
  {
    id: 'query_volume',
    title: 'Query volume',
    description: 'Queries finished per interval and cluster',
    format: 'time_series',
  },
  { id: 'top_queries', title: 'Top queries', description: 'Longest queries with their full text', format: 'table' },
  { id: 'var_clusters', title: 'Clusters (variable)', description: 'Cluster names', format: 'variable' },
];

const PRESET_SQL = {
  preset: 'query_volume',
  dialect: 'duckdb',
  format: 'time_series',
  sql: 'SELECT $__timeGroup(endtime) AS time, cluster, count(*) AS queries FROM stl_query WHERE $__timeFilter(endtime) GROUP BY 1, 2',
  expanded:
    "SELECT time_bucket(INTERVAL 60 SECOND, endtime) AS time, cluster, count(*) AS queries FROM stl_query WHERE endtime BETWEEN TIMESTAMP '2026-11-01 00:00:00' AND TIMESTAMP '2026-11-01 06:00:00' GROUP BY 1, 2",
};

async function setup(query: Partial<StlQuery> = {}, without: string[] = [], range?: TimeRange) {
  const backend = fakeBackend(
    omit(
      {
        presets: PRESETS,
        clusters: ['prod-east', 'prod-west'],
        macros: [
          { name: '$__timeFilter', args: '(column)', description: 'Rows in the dashboard time range' },
          { name: '$__clusterFilter', args: '', description: 'Rows of the selected clusters' },
        ],
        tables: [{ name: 'stl_query', columns: [{ name: 'query', type: 'INTEGER' }] }],
        'preset-sql': PRESET_SQL,
      },
      without
    )
  );
  fakeTemplateSrv([{ name: 'cluster', value: ['prod-east'], multi: true }]);
  const onChange = jest.fn();
  const onRunQuery = jest.fn();
  const full = { refId: 'A', queryType: 'diagnostics', preset: 'query_volume', ...query } as StlQuery;
  render(
    <QueryEditor datasource={newDataSource()} query={full} onChange={onChange} onRunQuery={onRunQuery} range={range} />
  );
  // Let the resource requests the editor starts on mount settle before the test acts.
  await act(async () => {});
  return { onChange, onRunQuery, backend, user: userEvent.setup() };
}

const omit = (routes: Record<string, unknown>, keys: string[]) =>
  Object.fromEntries(Object.entries(routes).filter(([k]) => !keys.includes(k)));

/** Opens a Grafana Select by its input's id-linked label. */
function openSelect(label: string) {
  fireEvent.keyDown(screen.getByLabelText(label), { key: 'ArrowDown' });
}

describe('QueryEditor', () => {
  it('shows the chosen preset with its description from the backend', async () => {
    await setup();

    expect(await screen.findByText('Query volume')).toBeInTheDocument();
    expect(await screen.findByText('Queries finished per interval and cluster')).toBeInTheDocument();
  });

  it('emits the new queryType when the user switches to SQL, and runs the query', async () => {
    const { onChange, onRunQuery, user } = await setup();

    await user.click(screen.getByRole('radio', { name: 'SQL' }));

    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ queryType: 'sql' }));
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('emits queryType status when the user switches to export status', async () => {
    const { onChange, user } = await setup();
    await user.click(screen.getByRole('radio', { name: 'Export status' }));
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ queryType: 'status' }));
  });

  it('shows no preset or row limit for export status', async () => {
    await setup({ queryType: 'status' });
    expect(screen.getByText(/export watermark, lag, row count and gaps/)).toBeInTheDocument();
    expect(screen.queryByLabelText('Preset')).not.toBeInTheDocument();
    expect(screen.queryByLabelText('Row limit')).not.toBeInTheDocument();
  });

  it('lets export status follow the cluster picker', async () => {
    const { onChange, onRunQuery, user } = await setup({ queryType: 'status', clusters: [] });
    await waitFor(() => expect(screen.getByLabelText('Clusters')).toBeEnabled());

    openSelect('Clusters');
    await user.click(within(await screen.findByRole('listbox')).getByText('$cluster'));

    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ queryType: 'status', clusters: ['$cluster'] }));
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('sets the default preset when switching back to diagnostics without one', async () => {
    const { onChange, user } = await setup({ queryType: 'sql', preset: undefined, rawSql: 'SELECT 1' });
    await user.click(screen.getByRole('radio', { name: 'Diagnostics' }));
    expect(onChange).toHaveBeenLastCalledWith(
      expect.objectContaining({ queryType: 'diagnostics', preset: 'query_volume', rawSql: 'SELECT 1' })
    );
  });

  it('emits the preset the user picks, and offers no variable presets', async () => {
    const { onChange, onRunQuery, user } = await setup();
    await screen.findByText('Query volume');

    openSelect('Preset');
    const menu = await screen.findByRole('listbox');
    expect(within(menu).queryByText('Clusters (variable)')).not.toBeInTheDocument();
    await user.click(within(menu).getByText('Top queries'));

    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ preset: 'top_queries' }));
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('offers the clusters from the backend and the dashboard variables', async () => {
    const { onChange, user } = await setup();
    await waitFor(() => expect(screen.getByLabelText('Clusters')).toBeEnabled());

    openSelect('Clusters');
    const menu = await screen.findByRole('listbox');
    expect(await within(menu).findByText('prod-west')).toBeInTheDocument();
    expect(within(menu).getByText('$cluster')).toBeInTheDocument();
    await user.click(within(menu).getByText('$cluster'));

    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ clusters: ['$cluster'] }));
  });

  it('shows the SQL editor and emits the format the user picks', async () => {
    const { onChange, backend, user } = await setup({ queryType: 'sql', rawSql: 'SELECT 1' });

    expect(await screen.findByTestId('stl-sql-editor')).toBeInTheDocument();
    expect(backend.requested).toContain('macros');
    openSelect('Format');
    await user.click(await screen.findByText('Table'));

    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ format: 'table', rawSql: 'SELECT 1' }));
  });

  it('emits a positive row limit and clears an invalid one', async () => {
    const { onChange } = await setup();
    const limit = screen.getByLabelText('Row limit');

    fireEvent.change(limit, { target: { value: '500' } });
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ limit: 500 }));

    fireEvent.change(limit, { target: { value: '-3' } });
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ limit: undefined }));
  });

  it('updates rawSql and runs the query when the user leaves the SQL editor', async () => {
    const { onChange, onRunQuery, user } = await setup({ queryType: 'sql', rawSql: '' });
    const editor = await screen.findByLabelText('Code editor');

    await user.click(editor);
    await user.paste('SELECT count(*) FROM stl_query WHERE $__timeFilter(endtime)');
    expect(onRunQuery).not.toHaveBeenCalled();
    await user.tab();

    expect(onChange).toHaveBeenLastCalledWith(
      expect.objectContaining({ rawSql: 'SELECT count(*) FROM stl_query WHERE $__timeFilter(endtime)' })
    );
    expect(onRunQuery).toHaveBeenCalledTimes(1);
  });

  it('completes the archive tables, their columns and the backend macros', async () => {
    await setup({ queryType: 'sql', rawSql: '' });
    await screen.findByLabelText('Code editor');

    const ids = [...registered.completionProviders.keys()].filter((id) => id.startsWith('stlarchive-sql-'));
    const provider = registered.completionProviders.get(ids[ids.length - 1]) as {
      tables: { resolve: () => Promise<Array<{ name: string }>> };
      columns: { resolve: (t: { table: string }) => Promise<Array<{ name: string; type: string }>> };
    };
    await waitFor(() => expect(provider).toBeDefined());

    await expect(provider.tables.resolve()).resolves.toEqual([expect.objectContaining({ name: 'stl_query' })]);
    await expect(provider.columns.resolve({ table: 'stl_query' })).resolves.toEqual([
      { name: 'query', type: 'INTEGER' },
    ]);
  });

  it('gives a query saved without a type the diagnostics type on its first change', async () => {
    const { onChange, user } = await setup({ queryType: undefined, preset: undefined });

    openSelect('Preset');
    await user.click(within(await screen.findByRole('listbox')).getByText('Top queries'));

    expect(onChange).toHaveBeenLastCalledWith(
      expect.objectContaining({ queryType: 'diagnostics', preset: 'top_queries' })
    );
  });

  it('still offers the SQL editor when the backend cannot list macros, and says so', async () => {
    await setup({ queryType: 'sql', rawSql: 'SELECT 1' }, ['macros']);

    expect(await screen.findByLabelText('Code editor')).toHaveValue('SELECT 1');
    expect(screen.getByText(/Macro completion unavailable/)).toBeInTheDocument();
  });
  it('shows the SQL a preset runs for the dashboard range and clusters, read-only', async () => {
    const from = dateTime('2026-11-01T00:00:00Z');
    const to = dateTime('2026-11-01T06:00:00Z');
    const { backend, user } = await setup({ clusters: ['$cluster'] }, [], { from, to, raw: { from, to } });
    expect(screen.queryByLabelText('Preset SQL')).not.toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'Show SQL' }));

    const shown = await screen.findByLabelText('Preset SQL');
    expect(shown).toHaveTextContent('SELECT $__timeGroup(endtime) AS time');
    expect(shown.tagName).toBe('PRE');
    expect(screen.getByText('SQL of the preset (DuckDB)')).toBeInTheDocument();
    expect(backend.params['preset-sql']).toEqual({
      preset: 'query_volume',
      from: String(from.valueOf()),
      to: String(to.valueOf()),
      cluster: ['prod-east'],
    });

    await user.click(screen.getByRole('button', { name: 'Show expanded' }));
    expect(screen.getByLabelText('Preset SQL')).toHaveTextContent("endtime BETWEEN TIMESTAMP '2026-11-01 00:00:00'");
  });

  it('turns a preset into an editable SQL query in one click', async () => {
    const { onChange, onRunQuery, user } = await setup({ clusters: ['prod-east'] });

    await user.click(screen.getByRole('button', { name: 'Show SQL' }));
    await user.click(await screen.findByRole('button', { name: 'Edit as SQL' }));

    expect(onChange).toHaveBeenLastCalledWith({
      refId: 'A',
      queryType: 'sql',
      rawSql: PRESET_SQL.sql,
      format: 'time_series',
      preset: undefined,
      clusters: ['prod-east'],
    });
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('says why a preset has no SQL to show', async () => {
    const { user } = await setup({}, ['preset-sql']);
    await user.click(screen.getByRole('button', { name: 'Show SQL' }));
    expect(await screen.findByText('No SQL to show')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Edit as SQL' })).not.toBeInTheDocument();
  });

  it('formats the SQL on request and keeps the macros whole', async () => {
    const { onChange, user } = await setup({
      queryType: 'sql',
      rawSql:
        'select cluster, count(*) as n from stl_query where $__timeFilter(endtime) and $__clusterFilter group by 1',
    });
    await screen.findByLabelText('Code editor');

    await user.click(screen.getByRole('button', { name: 'Format SQL' }));

    const rawSql = onChange.mock.lastCall[0].rawSql as string;
    expect(rawSql).toBe(
      [
        'select',
        '  cluster,',
        '  count(*) as n',
        'from',
        '  stl_query',
        'where',
        '  $__timeFilter(endtime)',
        '  and $__clusterFilter',
        'group by',
        '  1',
      ].join('\n')
    );
  });

  it('shows the macro reference next to the SQL editor', async () => {
    const { user } = await setup({ queryType: 'sql', rawSql: 'SELECT 1' });
    await screen.findByLabelText('Code editor');
    expect(screen.queryByRole('region', { name: 'Macro reference' })).not.toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'Macros' }));

    const reference = screen.getByRole('region', { name: 'Macro reference' });
    expect(within(reference).getByText('$__timeFilter(column)')).toBeInTheDocument();
    expect(within(reference).getByText('Rows in the dashboard time range')).toBeInTheDocument();
    expect(within(reference).getByText('$__clusterFilter')).toBeInTheDocument();
  });
});
