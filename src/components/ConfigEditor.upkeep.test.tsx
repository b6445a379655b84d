import { screen, within } from '@testing-library/react';

import { choose, enter, renderConfigEditor as setup, Settings } from '../testing/configEditor';
import { dataSourceSettings } from '../testing/fakes';
import { StlArchiveOptions } from '../types';
import { retentionError } from './config/RetentionEditor';

/** Asserts that nothing but jsonData changed: no setting leaked to the top level of the settings. */
function expectOnlyJsonDataChanged(initial: Settings, emitted: Settings) {
  const { jsonData: _a, ...before } = initial;
  const { jsonData: _b, ...after } = emitted;
  expect(after).toStrictEqual(before);
}

describe('ConfigEditor: verification', () => {
  it('emits export.verify with the names and types the backend decodes', async () => {
    const initial = dataSourceSettings();
    const { last, user } = setup(initial);

    await user.click(screen.getByLabelText(/^Heal/));
    await enter(user, screen.getByLabelText(/^Horizon/), '48h');
    await enter(user, screen.getByLabelText(/^Verify interval/), '30m');

    expect(last().jsonData).toStrictEqual({ export: { verify: { heal: false, horizon: '48h', interval: '30m' } } });

    await user.click(screen.getByLabelText(/^Verify archived windows/));
    expect(last().jsonData).toStrictEqual({
      export: { verify: { heal: false, horizon: '48h', interval: '30m', enabled: false } },
    });
    expect(screen.getByLabelText(/^Heal/)).toBeDisabled();
    expectOnlyJsonDataChanged(initial, last());
  });

  it('leaves verify out when its fields are cleared back to the defaults', async () => {
    const { last, user } = setup(dataSourceSettings({ export: { interval: '5m', verify: { horizon: '48h' } } }));

    await user.clear(screen.getByLabelText(/^Horizon/));

    expect(last().jsonData).toStrictEqual({ export: { interval: '5m' } });
  });

  it('flags a horizon that is not a Go duration', async () => {
    const { user } = setup();

    await enter(user, screen.getByLabelText(/^Horizon/), '2 days');

    expect(screen.getByText('A Go duration such as 30s, 5m or 1h30m')).toBeInTheDocument();
  });
});

describe('ConfigEditor: Athena timeout', () => {
  it('emits query.athena.timeout', async () => {
    const jsonData: StlArchiveOptions = { archive: { s3: { bucket: 'stl' } }, query: { engine: 'athena' } };
    const initial = dataSourceSettings(jsonData);
    const { last, user } = setup(initial);

    await enter(user, screen.getByLabelText(/^Athena timeout/), '15m');

    expect(last().jsonData).toStrictEqual({ ...jsonData, query: { engine: 'athena', athena: { timeout: '15m' } } });
    expectOnlyJsonDataChanged(initial, last());
  });
});

describe('ConfigEditor: compaction', () => {
  it('emits jsonData.compaction with the names and types the backend decodes', async () => {
    const initial = dataSourceSettings();
    const { last, user } = setup(initial);
    await user.click(screen.getByLabelText('Expand section Retention and compaction'));

    await user.click(screen.getByLabelText(/^Compaction/));
    await enter(user, screen.getByLabelText(/^Max object size/), '256');
    await enter(user, screen.getByLabelText(/^Grace/), '15m');

    expect(last().jsonData).toStrictEqual({ compaction: { enabled: false, maxObjectMB: 256, grace: '15m' } });
    expectOnlyJsonDataChanged(initial, last());
  });

  it('leaves compaction out when every field is back at its default, and ignores a non-integer size', async () => {
    const { last, user } = setup(dataSourceSettings({ compaction: { maxObjectMB: 256 } }));

    await user.clear(screen.getByLabelText(/^Max object size/));
    expect(last().jsonData).toStrictEqual({});

    await enter(user, screen.getByLabelText(/^Max object size/), '1.5');
    expect(last().jsonData).toStrictEqual({});
  });

  it('says how Athena reads compacted days', async () => {
    setup(dataSourceSettings({ archive: { s3: { bucket: 'stl' } }, query: { engine: 'athena' }, compaction: {} }));

    expect(screen.getByText('Compaction with Athena')).toBeInTheDocument();
  });
});

describe('ConfigEditor: retention', () => {
  it('adds rows for an STL table and a custom query and emits the map the backend decodes', async () => {
    const customQueries = [{ name: 'big_orders', sql: 'SELECT 1', timeColumn: 't' }];
    const initial = dataSourceSettings({ customQueries });
    const { last, user } = setup(initial);
    await user.click(screen.getByLabelText('Expand section Retention and compaction'));

    await user.click(screen.getByText('Add retention'));
    // A new row takes the first table without a row; it is saved once it has a duration.
    expect(screen.getByLabelText('Retention of stl_query')).toBeInTheDocument();
    expect(last().jsonData).toStrictEqual({ customQueries });
    await enter(user, screen.getByLabelText(/^Keep for/), '90d');
    expect(last().jsonData).toStrictEqual({ customQueries, retention: { stl_query: '90d' } });

    await user.click(screen.getByText('Add retention'));
    const table = screen.getAllByLabelText(/^Table$/)[1];
    await choose(user, table, 'big_orders');
    await enter(user, screen.getAllByLabelText(/^Keep for/)[1], '2160h');
    expect(last().jsonData).toStrictEqual({ customQueries, retention: { stl_query: '90d', big_orders: '2160h' } });

    await user.click(screen.getByLabelText('Remove retention of stl_query'));
    expect(last().jsonData).toStrictEqual({ customQueries, retention: { big_orders: '2160h' } });

    await user.click(screen.getByLabelText('Remove retention of big_orders'));
    expect(last().jsonData).toStrictEqual({ customQueries });
    expectOnlyJsonDataChanged(initial, last());
  });

  it('offers only the exported tables, each once', async () => {
    const { user } = setup(
      dataSourceSettings({ export: { tables: ['stl_query', 'stl_wlm_query'] }, retention: { stl_query: 'forever' } })
    );

    await user.click(screen.getByText('Add retention'));
    // The only table left is taken by the new row; none is left for another.
    expect(within(screen.getByLabelText('Retention of stl_wlm_query')).getByText('stl_wlm_query')).toBeInTheDocument();
    expect(screen.getByText('Add retention').closest('button')).toBeDisabled();
  });

  it('keeps a row with a refused duration out of the settings and says why', async () => {
    const { last, user } = setup(dataSourceSettings({ retention: { stl_query: '30d' } }));
    const keep = screen.getByLabelText(/^Keep for/);

    await user.clear(keep);
    await enter(user, keep, '12h');

    expect(screen.getByText('At least 24h: retention deletes whole days')).toBeInTheDocument();
    expect(last().jsonData).toStrictEqual({});

    await user.clear(keep);
    await enter(user, keep, 'forever');
    expect(last().jsonData).toStrictEqual({ retention: { stl_query: 'forever' } });
  });

  it.each([
    ['90d', undefined],
    ['1d', undefined],
    ['24h', undefined],
    ['2160h', undefined],
    ['forever', undefined],
    ['0d', 'At least 1d: retention deletes whole days'],
    ['36501d', 'More than 100 years: choose "forever" or remove the row'],
    ['23h59m', 'At least 24h: retention deletes whole days'],
    ['90 days', 'Whole days ("90d"), a duration of at least 24h ("2160h"), or "forever"'],
    ['-90d', 'Whole days ("90d"), a duration of at least 24h ("2160h"), or "forever"'],
    ['', 'Required'],
  ])('judges %j as the backend does', (value, error) => {
    expect(retentionError(value)).toBe(error);
  });
});

describe('ConfigEditor: retention rows', () => {
  it('shows the saved rows', () => {
    setup(dataSourceSettings({ retention: { stl_query: '90d', stl_scan: 'forever' } }));

    const keeps = screen.getAllByLabelText(/^Keep for/);
    expect(keeps.map((k) => (k as HTMLInputElement).value)).toEqual(['90d', 'forever']);
    expect(within(screen.getByLabelText('Retention of stl_scan')).getByText('stl_scan')).toBeInTheDocument();
  });
});
