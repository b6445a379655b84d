import { fireEvent, screen, within } from '@testing-library/react';

import { enter, renderConfigEditor as setup } from '../testing/configEditor';
import { dataSourceSettings } from '../testing/fakes';

const PROD_EAST = {
  name: 'prod-east',
  host: 'prod-east.abc.us-east-1.redshift.amazonaws.com',
  port: 5439,
  database: 'dev',
  user: 'stl_reader',
  sslMode: 'verify-full' as const,
};

describe('ConfigEditor', () => {
  it('adds a cluster and emits the jsonData the backend decodes', async () => {
    const { last, user } = setup();

    await user.click(screen.getByText('Add cluster'));
    await enter(user, screen.getByLabelText('Name'), 'prod-east');
    await user.tab();
    await enter(user, screen.getByLabelText('Host'), 'prod-east.abc.us-east-1.redshift.amazonaws.com');
    await enter(user, screen.getByLabelText(/^User/), 'stl_reader');

    expect(last().jsonData.clusters).toEqual([PROD_EAST]);
  });

  it('stores the password in secureJsonData under password.<cluster name>', async () => {
    const { last, user } = setup(dataSourceSettings({ clusters: [PROD_EAST] }));

    await enter(user, screen.getByLabelText('Password'), 's3cret');

    expect(last().secureJsonData).toEqual({ 'password.prod-east': 's3cret' });
    expect(JSON.stringify(last().jsonData)).not.toContain('s3cret');
  });

  it('shows a saved password as configured and resets it', async () => {
    const { last, user } = setup(dataSourceSettings({ clusters: [PROD_EAST] }, { 'password.prod-east': true }));
    expect(screen.getByDisplayValue('configured')).toBeDisabled();

    await user.click(screen.getByText('Reset'));

    expect(last().secureJsonFields['password.prod-east']).toBe(false);
    expect(last().secureJsonData).toEqual({ 'password.prod-east': '' });
    expect(screen.getByLabelText('Password')).toHaveValue('');
    expect(screen.getByLabelText('Password')).toBeEnabled();
  });

  it('moves a typed password to the new key when the cluster is renamed', async () => {
    const { last, user } = setup(dataSourceSettings({ clusters: [PROD_EAST] }));
    await enter(user, screen.getByLabelText('Password'), 's3cret');

    await user.clear(screen.getByLabelText('Name'));
    await enter(user, screen.getByLabelText('Name'), 'prod-west');
    await user.tab();

    expect(last().jsonData.clusters?.[0].name).toBe('prod-west');
    expect(last().secureJsonData).toEqual({ 'password.prod-west': 's3cret' });
  });

  it('clears a saved password when its cluster is renamed, and asks for it again', async () => {
    const { last, user } = setup(dataSourceSettings({ clusters: [PROD_EAST] }, { 'password.prod-east': true }));

    await user.clear(screen.getByLabelText('Name'));
    await enter(user, screen.getByLabelText('Name'), 'prod-west');
    await user.tab();

    expect(last().secureJsonData).toEqual({ 'password.prod-east': '' });
    expect(last().secureJsonFields['password.prod-east']).toBe(false);
    expect(screen.queryByDisplayValue('configured')).not.toBeInTheDocument();
  });

  it('removes a cluster together with its saved password', async () => {
    const { last, user } = setup(dataSourceSettings({ clusters: [PROD_EAST] }, { 'password.prod-east': true }));

    await user.click(screen.getByLabelText('Remove cluster prod-east'));

    expect(last().jsonData.clusters).toEqual([]);
    expect(last().secureJsonData).toEqual({ 'password.prod-east': '' });
  });

  it.each([
    ['Upper', 'Lower-case letters, digits, "-" and "_" only'],
    ['prod east', 'Lower-case letters, digits, "-" and "_" only'],
    ['prod-east', 'Another cluster has this name'],
  ])('flags the cluster name %j', async (name, message) => {
    const { user } = setup(dataSourceSettings({ clusters: [PROD_EAST] }));
    await user.click(screen.getByText('Add cluster'));
    const row = screen.getByLabelText('Cluster #2');

    fireEvent.change(within(row).getByLabelText(/^Name/), { target: { value: name } });

    expect(within(row).getByText(message)).toBeInTheDocument();
  });

  it('validates durations as Go duration strings', async () => {
    const { last, user } = setup();
    const interval = screen.getByLabelText(/^Interval/);

    await enter(user, interval, '5 minutes');
    expect(screen.getByText('A Go duration such as 30s, 5m or 1h30m')).toBeInTheDocument();

    await user.clear(interval);
    await enter(user, interval, '1h30m');
    expect(screen.queryByText('A Go duration such as 30s, 5m or 1h30m')).not.toBeInTheDocument();
    expect(last().jsonData.export).toEqual({ interval: '1h30m' });
  });

  it('emits archive path, export schedule and query limits in their sections', async () => {
    const { last, user } = setup();

    await enter(user, screen.getByLabelText(/^Archive path/), '/data/stl');
    await user.click(screen.getByLabelText(/^Export enabled/));
    await enter(user, screen.getByLabelText(/^Concurrency/), '2');
    await enter(user, screen.getByLabelText('Max rows'), '5000');
    await enter(user, screen.getAllByLabelText(/^Timeout/)[1], '45s');
    await enter(user, screen.getByLabelText(/^Memory per query/), '512');
    await enter(user, screen.getByLabelText(/^Parallel queries/), '2');

    expect(last().jsonData).toEqual({
      archive: { path: '/data/stl' },
      export: { enabled: false, concurrency: 2 },
      query: { maxRows: 5000, timeout: '45s', memoryLimitMB: 512, workers: 2 },
    });
  });

  it('adds a custom query limited to one cluster', async () => {
    const { last, user } = setup(dataSourceSettings({ clusters: [PROD_EAST] }));

    await user.click(screen.getByLabelText('Expand section Custom queries'));
    await user.click(screen.getByText('Add custom query'));
    const row = screen.getByLabelText('Custom query #1');
    await enter(user, within(row).getByLabelText(/^Name/), 'big_orders');
    await enter(
      user,
      within(screen.getByLabelText('Custom query big_orders')).getByLabelText(/^Time column/),
      'ordered_at'
    );
    await enter(user, screen.getByLabelText(/^SQL/), 'SELECT order_id, ordered_at FROM orders');
    await user.type(screen.getByLabelText(/^Key columns/), 'order_id{enter}');
    fireEvent.keyDown(screen.getByLabelText(/^Clusters/), { key: 'ArrowDown' });
    await user.click(await screen.findByText('prod-east', { selector: '[role="option"] *' }));

    expect(last().jsonData.customQueries).toEqual([
      {
        name: 'big_orders',
        sql: 'SELECT order_id, ordered_at FROM orders',
        timeColumn: 'ordered_at',
        keyColumns: ['order_id'],
        clusters: ['prod-east'],
      },
    ]);
  });

  it('keeps provisioned presets when other settings change', async () => {
    const presets = [
      {
        id: 'slow_copies',
        title: 'Slow COPY commands',
        format: 'table' as const,
        sql: { duckdb: 'SELECT 1' },
        columns: [{ name: 'n', role: 'value' as const }],
      },
    ];
    const { last, user } = setup(dataSourceSettings({ presets }));

    await enter(user, screen.getByLabelText(/^Archive path/), '/data/stl');

    expect(last().jsonData).toEqual({ presets, archive: { path: '/data/stl' } });
  });
});
