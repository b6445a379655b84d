import {
  getStandardSQLCompletionProvider,
  grafanaStandardSQLLanguage,
  grafanaStandardSQLLanguageConf,
  LanguageDefinition,
  MacroType,
  TableIdentifier,
} from '@grafana/plugin-ui';

import { MacroInfo, TableInfo } from '../../types';

function macroType(name: string): MacroType {
  if (name.includes('Filter')) {
    return MacroType.Filter;
  }
  if (name.includes('Group')) {
    return MacroType.Group;
  }
  return MacroType.Value;
}

/** "(column, interval)" → ["column", "interval"]; "()" or "" → []. */
export function macroArgs(args: string): string[] {
  return args
    .replace(/^\s*\(|\)\s*$/g, '')
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
}

/**
 * The archive's SQL dialect for the editor: standard SQL highlighting, with completion of the
 * archive's tables and columns (fetched lazily) and of the backend's macros (known up front,
 * because the editor asks for macros synchronously).
 */
export function archiveSqlLanguage(getTables: () => Promise<TableInfo[]>, macros: MacroInfo[]): LanguageDefinition {
  return {
    id: 'stlarchive-sql',
    loader: async () => ({ language: grafanaStandardSQLLanguage, conf: grafanaStandardSQLLanguageConf }),
    completionProvider: (monaco, language) => ({
      ...getStandardSQLCompletionProvider(monaco, language),
      tables: {
        resolve: async () => (await getTables()).map((t) => ({ name: t.name, completion: t.name })),
      },
      columns: {
        resolve: async (identifier?: TableIdentifier) => {
          const table = (await getTables()).find((t) => t.name === identifier?.table);
          return (table?.columns ?? []).map((c) => ({ name: c.name, type: c.type }));
        },
      },
      supportedMacros: () =>
        macros.map((m) => ({
          id: m.name,
          text: m.name,
          type: macroType(m.name),
          args: macroArgs(m.args),
          description: m.description,
        })),
    }),
  };
}
