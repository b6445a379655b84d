import { MacroType } from '@grafana/plugin-ui';

import * as monaco from '../../testing/monaco';
import { archiveSqlLanguage, macroArgs } from './sqlLanguage';

describe('macroArgs', () => {
  it.each<[string, string[]]>([
    ['(column)', ['column']],
    ['(column, interval)', ['column', 'interval']],
    ['()', []],
    ['', []],
  ])('splits %j', (args, want) => {
    expect(macroArgs(args)).toEqual(want);
  });
});

describe('archiveSqlLanguage', () => {
  it('offers each backend macro with its arguments and a kind that places it in the query', () => {
    const language = archiveSqlLanguage(
      async () => [],
      [
        { name: '$__timeFilter', args: '(column)', description: 'rows in range' },
        { name: '$__timeGroup', args: '(column, interval)', description: 'bucket' },
        { name: '$__timeFrom', args: '()', description: 'range start' },
      ]
    );
    const provider = language.completionProvider!(monaco as never, { tokenizer: {} });

    expect(provider.supportedMacros?.()).toEqual([
      {
        id: '$__timeFilter',
        text: '$__timeFilter',
        type: MacroType.Filter,
        args: ['column'],
        description: 'rows in range',
      },
      {
        id: '$__timeGroup',
        text: '$__timeGroup',
        type: MacroType.Group,
        args: ['column', 'interval'],
        description: 'bucket',
      },
      { id: '$__timeFrom', text: '$__timeFrom', type: MacroType.Value, args: [], description: 'range start' },
    ]);
  });

  it('returns no columns for a table the archive does not have', async () => {
    const language = archiveSqlLanguage(
      async () => [{ name: 'stl_scan', columns: [{ name: 'slice', type: 'INTEGER' }] }],
      []
    );
    const provider = language.completionProvider!(monaco as never, { tokenizer: {} });

    await expect(provider.columns!.resolve({ table: 'stl_nope' })).resolves.toEqual([]);
    await expect(provider.columns!.resolve({ table: 'stl_scan' })).resolves.toEqual([
      { name: 'slice', type: 'INTEGER' },
    ]);
  });
});
