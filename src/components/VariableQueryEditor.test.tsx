import { act, fireEvent, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import React from 'react';

import { fakeBackend, fakeTemplateSrv, newDataSource } from '../testing/fakes';
import { StlQuery } from '../types';
import { VariableQueryEditor } from './VariableQueryEditor';

async function setup(query: StlQuery) {
  fakeBackend({ clusters: ['prod-east'], macros: [], tables: [] });
  fakeTemplateSrv([]);
  const onChange = jest.fn();
  render(<VariableQueryEditor datasource={newDataSource()} query={query} onChange={onChange} onRunQuery={jest.fn()} />);
  await act(async () => {});
  return { onChange, user: userEvent.setup({ delay: null }) };
}

describe('VariableQueryEditor', () => {
  it('backs a choice of dimension with its var_* preset', async () => {
    const { onChange, user } = await setup({ refId: 'A', queryType: 'diagnostics', preset: 'var_clusters' });
    expect(screen.getByText('Clusters')).toBeInTheDocument();

    fireEvent.keyDown(screen.getByLabelText('Values of'), { key: 'ArrowDown' });
    await user.click(await screen.findByText('WLM service classes'));

    expect(onChange).toHaveBeenLastCalledWith(
      expect.objectContaining({ queryType: 'diagnostics', preset: 'var_service_classes' })
    );
  });

  it('switches to SQL returning one column', async () => {
    const { onChange, user } = await setup({ refId: 'A', queryType: 'diagnostics', preset: 'var_users' });

    fireEvent.keyDown(screen.getByLabelText('Values of'), { key: 'ArrowDown' });
    await user.click(await screen.findByText('SQL (first column)'));

    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ queryType: 'sql', format: 'table' }));
  });

  it('shows the SQL editor without a format choice for a SQL variable', async () => {
    await setup({ refId: 'A', queryType: 'sql', rawSql: 'SELECT DISTINCT usename FROM stl_query' });

    expect(await screen.findByLabelText('Code editor')).toHaveValue('SELECT DISTINCT usename FROM stl_query');
    expect(screen.queryByLabelText('Format')).not.toBeInTheDocument();
  });
});
