import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import fs from 'fs';
import path from 'path';

import schema from './__schema__/plugin.schema.json';

// plugin.json sits at the repository root, outside the TypeScript root, so it is read as a file.
const pluginJson = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', 'plugin.json'), 'utf8'));

// The schema's id pattern escapes '-' outside a character class, which JavaScript accepts only in
// non-unicode regular expressions (as Grafana's Go validator does); strict mode would also refuse
// the schema's descriptive keywords it does not know.
function compileSchema() {
  const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
  addFormats(ajv);
  return ajv.compile(schema);
}

describe('plugin.json', () => {
  it('is valid against the plugin.json schema of Grafana', () => {
    const validate = compileSchema();

    validate(pluginJson);

    expect(validate.errors ?? []).toEqual([]);
  });

  it('declares a backend datasource for alerting and annotations, without logs', () => {
    expect(pluginJson).toMatchObject({
      id: 'stlarchive-redshift-datasource',
      type: 'datasource',
      backend: true,
      executable: 'gpx_stlarchive',
      alerting: true,
      annotations: true,
      metrics: true,
      logs: false,
      dependencies: { grafanaDependency: '>=11.0.0' },
    });
  });

  it('names a logo that exists in the plugin sources', () => {
    for (const logo of Object.values<string>(pluginJson.info.logos)) {
      expect(fs.existsSync(path.resolve(__dirname, logo))).toBe(true);
    }
  });

  it('rejects a plugin.json that breaks the schema, so the check can fail', () => {
    const validate = compileSchema();

    expect(validate({ ...pluginJson, id: 'Not A Valid Id', info: { ...pluginJson.info, keywords: [] } })).toBe(false);
    expect(validate.errors?.map((e) => e.instancePath)).toEqual(expect.arrayContaining(['/id', '/info/keywords']));
  });
});
