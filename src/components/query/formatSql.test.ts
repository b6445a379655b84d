import { formatSql } from './formatSql';

describe('formatSql', () => {
  it('lays out a query and keeps macros, variables and literals whole', () => {
    const sql =
      "select $__timeGroup(endtime, '5m') as time, cluster, count(*) as queries from stl_query " +
      'where $__dayFilter and $__timeFilter(endtime) and $__clusterFilter and database in (${db:csv}) ' +
      "and label = '$query' and userid in ($user) group by 1, 2";

    const out = formatSql(sql);

    expect(out.split('\n').length).toBeGreaterThan(8);
    for (const token of [
      "$__timeGroup(endtime, '5m')",
      '$__dayFilter',
      '$__timeFilter(endtime)',
      '$__clusterFilter',
      '${db:csv}',
      "'$query'",
      '($user)',
    ]) {
      expect(out).toContain(token);
    }
    expect(out.replace(/\s+/g, ' ').trim()).toBe(sql);
  });

  it('formats the Trino spellings of an Athena datasource', () => {
    const out = formatSql(
      "select approx_percentile(x, 0.5) as p50 from stl_query cross join unnest(split(a, ',')) as t(v)",
      'athena'
    );
    expect(out).toContain('approx_percentile(x, 0.5) as p50');
    expect(out).toMatch(/^from\s*$/m);
  });

  it('returns SQL it cannot parse unchanged', () => {
    const broken = "select 'unterminated from stl_query";
    expect(formatSql(broken)).toBe(broken);
  });
});
