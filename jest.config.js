// force timezone to UTC to allow tests to work regardless of local timezone
// generally used by snapshots, but can affect specific tests
process.env.TZ = 'UTC';

const base = require('./.config/jest.config');

const swcTransform = base.transform['^.+\\.(t|j)sx?$'];

module.exports = {
  // Jest configuration provided by Grafana scaffolding
  ...base,
  moduleNameMapper: {
    ...base.moduleNameMapper,
    // Monaco needs a browser layout engine that jsdom lacks; Grafana provides it at runtime.
    '^monaco-editor$': '<rootDir>/src/testing/monaco.ts',
    '^@monaco-editor/react$': '<rootDir>/src/testing/monacoReact.tsx',
  },
  transform: {
    ...base.transform,
    // d3-color (pulled in by @grafana/ui) ships an ESM-only .mjs entry; transform it like .js.
    '^.+\\.mjs$': swcTransform,
  },
};
