// Extends the scaffolded webpack config the way create-plugin documents ("extend configurations"):
// plugin.json lives at the repository root rather than in src/, so the entry point and the files
// copied into dist/ are set here instead of being derived from src/**/plugin.json. The
// provisioned dashboards are copied to dist/dashboards, where plugin.json's includes point.
import CopyWebpackPlugin from 'copy-webpack-plugin';
import path from 'path';
import type { Configuration } from 'webpack';

import grafanaConfig, { type Env } from './.config/webpack/webpack.config';

const config = async (env: Env): Promise<Configuration> => {
  const base = await grafanaConfig(env);

  // Paths are relative to the webpack context, which the base config sets to src/.
  const copy = new CopyWebpackPlugin({
    patterns: [
      { from: '../plugin.json', to: '.' },
      { from: 'img', to: 'img' },
      // The dashboards plugin.json includes, offered for import on the plugin's page.
      { from: '../provisioning/dashboards/stlarchive', to: 'dashboards' },
      { from: '../img', to: 'img', noErrorOnMissing: true },
      { from: '../README.md', to: '.', noErrorOnMissing: true },
      { from: '../CHANGELOG.md', to: '.', noErrorOnMissing: true },
      { from: '../LICENSE', to: '.', noErrorOnMissing: true },
    ],
  });

  // The persistent cache must also be invalidated when this file or plugin.json changes.
  const cache =
    typeof base.cache === 'object' && base.cache.type === 'filesystem'
      ? {
          ...base.cache,
          buildDependencies: {
            config: [
              ...(base.cache.buildDependencies?.config ?? []),
              path.resolve(process.cwd(), 'webpack.config.ts'),
              path.resolve(process.cwd(), 'plugin.json'),
            ],
          },
        }
      : base.cache;

  return {
    ...base,
    cache,
    entry: { module: './module.ts' },
    plugins: (base.plugins ?? []).map((plugin) => (plugin instanceof CopyWebpackPlugin ? copy : plugin)),
  };
};

export default config;
