// force timezone to UTC to allow tests to work regardless of local timezone
// generally used by snapshots, but can affect specific tests
process.env.TZ = 'UTC';

const base = require('./.config/jest.config');

const swcTransform = base.transform['^.+\\.(t|j)sx?$'];

module.exports = {
  // Jest configuration provided by Grafana scaffolding
  ...base,
  // Component tests render the real @grafana/ui; on a CPU shared with builds they can take far
  // longer than Jest's 5 s default, and a timeout is not what these tests assert.
  testTimeout: 60000,
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
