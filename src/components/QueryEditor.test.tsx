import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import React from 'react';

import { fakeBackend, fakeTemplateSrv, newDataSource } from '../testing/fakes';
import { StlQuery } from '../types';
import { QueryEditor } from './QueryEditor';

const PRESETS = [
  { id: 'query_volume', title: 'Query volume', description: 'Queries finished per interval and cluster', format: 'time_series' },
  { id: 'top_queries', title: 'Top queries', description: 'Longest queries with their full text', format: 'table' },
  { id: 'var_clusters', title: 'Clusters (variable)', description: 'Cluster names', format: 'table' },
];

function setup(query: Partial<StlQuery> = {}) {
  const backend = fakeBackend({
    presets: PRESETS,
    clusters: ['prod-east', 'prod-west'],
    macros: [{ name: '$__timeFilter', args: '(column)', description: 'Rows in the dashboard time range' }],
    tables: [{ name: 'stl_query', columns: [{ name: 'query', type: 'INTEGER' }] }],
  });
  fakeTemplateSrv([{ name: 'cluster', value: ['prod-east'], multi: true }]);
  const onChange = jest.fn();
  const onRunQuery = jest.fn();
  const full: StlQuery = { refId: 'A', queryType: 'diagnostics', preset: 'query_volume', ...query };
  render(<QueryEditor datasource={newDataSource()} query={full} onChange={onChange} onRunQuery={onRunQuery} />);
  return { onChange, onRunQuery, backend, user: userEvent.setup() };
}

/** Opens a Grafana Select by its input's id-linked label. */
function openSelect(label: string) {
  fireEvent.keyDown(screen.getByLabelText(label), { key: 'ArrowDown' });
}

describe('QueryEditor', () => {
  it('shows the chosen preset with its description from the backend', async () => {
    setup();

    expect(await screen.findByText('Query volume')).toBeInTheDocument();
    expect(await screen.findByText('Queries finished per interval and cluster')).toBeInTheDocument();
  });

  it('emits the new queryType when the user switches to SQL, and runs the query', async () => {
    const { onChange, onRunQuery, user } = setup();

    await user.click(screen.getByRole('radio', { name: 'SQL' }));

    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ queryType: 'sql' }));
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('emits queryType status when the user switches to export status, which has no options', async () => {
    const { onChange, user } = setup();
    await user.click(screen.getByRole('radio', { name: 'Export status' }));
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ queryType: 'status' }));
  });

  it('shows no options for export status', async () => {
    setup({ queryType: 'status' });
    expect(screen.getByText(/export watermark, lag, row count and gaps/)).toBeInTheDocument();
    expect(screen.queryByLabelText('Preset')).not.toBeInTheDocument();
    expect(screen.queryByLabelText('Row limit')).not.toBeInTheDocument();
  });

  it('sets the default preset when switching back to diagnostics without one', async () => {
    const { onChange, user } = setup({ queryType: 'sql', preset: undefined, rawSql: 'SELECT 1' });
    await user.click(screen.getByRole('radio', { name: 'Diagnostics' }));
    expect(onChange).toHaveBeenLastCalledWith(
      expect.objectContaining({ queryType: 'diagnostics', preset: 'query_volume', rawSql: 'SELECT 1' })
    );
  });

  it('emits the preset the user picks, and offers no variable presets', async () => {
    const { onChange, onRunQuery, user } = setup();
    await screen.findByText('Query volume');

    openSelect('Preset');
    const menu = await screen.findByRole('listbox');
    expect(within(menu).queryByText('Clusters (variable)')).not.toBeInTheDocument();
    await user.click(within(menu).getByText('Top queries'));

    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ preset: 'top_queries' }));
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('offers the clusters from the backend and the dashboard variables', async () => {
    const { onChange, user } = setup();
    await waitFor(() => expect(screen.getByLabelText('Clusters')).toBeEnabled());

    openSelect('Clusters');
    const menu = await screen.findByRole('listbox');
    expect(await within(menu).findByText('prod-west')).toBeInTheDocument();
    expect(within(menu).getByText('$cluster')).toBeInTheDocument();
    await user.click(within(menu).getByText('$cluster'));

    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ clusters: ['$cluster'] }));
  });

  it('shows the SQL editor and emits the format the user picks', async () => {
    const { onChange, backend, user } = setup({ queryType: 'sql', rawSql: 'SELECT 1' });

    expect(await screen.findByTestId('stl-sql-editor')).toBeInTheDocument();
    expect(backend.requested).toContain('macros');
    openSelect('Format');
    await user.click(await screen.findByText('Table'));

    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ format: 'table', rawSql: 'SELECT 1' }));
  });

  it('emits a positive row limit and clears an invalid one', async () => {
    const { onChange } = setup();
    const limit = screen.getByLabelText('Row limit');

    fireEvent.change(limit, { target: { value: '500' } });
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ limit: 500 }));

    fireEvent.change(limit, { target: { value: '-3' } });
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ limit: undefined }));
  });
});
