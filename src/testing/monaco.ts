// Stand-in for the monaco-editor package under Jest. Monaco needs a real browser layout engine
// (jsdom has none), and Grafana supplies its own copy at runtime, so tests replace it with this
// recorder of what the SQL editor registers: languages and completion providers.
type Provider = Record<string, unknown>;

export const registered = {
  languages: [] as string[],
  completionProviders: new Map<string, Provider>(),
};

const disposable = { dispose: () => {} };

export const KeyMod = { CtrlCmd: 2048, Shift: 1024, Alt: 512 };
export const KeyCode = { Enter: 3, KeyS: 49 };

export const editor = {
  defineTheme: () => {},
  remeasureFonts: () => {},
  setTheme: () => {},
};

export const languages = {
  getLanguages: () => registered.languages.map((id) => ({ id })),
  register: ({ id }: { id: string }) => {
    registered.languages.push(id);
  },
  setMonarchTokensProvider: () => disposable,
  setLanguageConfiguration: () => disposable,
  registerDocumentFormattingEditProvider: () => disposable,
  registerCompletionItemProvider: (id: string, provider: Provider) => {
    registered.completionProviders.set(id, provider);
    return disposable;
  },
  CompletionItemKind: {},
  CompletionItemInsertTextRule: {},
};

export const Range = { fromPositions: () => ({}) };
