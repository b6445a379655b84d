import { dataSourceSettings } from '../../testing/fakes';
import { StlArchiveOptions } from '../../types';
import { ConnectionView, fromConnectionView, toConnectionView } from './awsConnection';

// Field names @grafana/aws-sdk uses at the top level of jsonData; the backend rejects every one.
const SDK_TOP_LEVEL = [
  'authType',
  'profile',
  'assumeRoleArn',
  'externalId',
  'defaultRegion',
  'endpoint',
  'usePerDatasourceExternalId',
  'grafanaExternalId',
  'proxyType',
  'proxyUrl',
  'proxyUsername',
];

const AWS: StlArchiveOptions['aws'] = {
  authType: 'profile',
  profile: 'stl',
  assumeRoleArn: 'arn:aws:iam::123456789012:role/stl',
  externalId: 'ext-1',
  region: 'eu-west-1',
  endpoints: { sts: 'https://sts.example.internal' },
};

function withView(view: ConnectionView, jsonData: Partial<ConnectionView['jsonData']>): ConnectionView {
  return { ...view, jsonData: { ...view.jsonData, ...jsonData } };
}

describe('toConnectionView', () => {
  it('lifts jsonData.aws to the top level under the SDK names', () => {
    const view = toConnectionView(dataSourceSettings({ aws: AWS, archive: { path: '/data' } }));

    expect(view.jsonData).toEqual({
      authType: 'credentials',
      profile: 'stl',
      assumeRoleArn: 'arn:aws:iam::123456789012:role/stl',
      externalId: 'ext-1',
      defaultRegion: 'eu-west-1',
    });
  });

  it.each([
    [undefined, 'default'],
    ['default', 'default'],
    ['keys', 'keys'],
    ['profile', 'credentials'],
  ] as const)('shows authType %s as the SDK provider %s', (ours, sdk) => {
    const view = toConnectionView(dataSourceSettings({ aws: { authType: ours } }));
    expect(view.jsonData.authType).toBe(sdk);
  });

  it('shows only the AWS keys of secureJsonData, not cluster passwords', () => {
    const options = dataSourceSettings({}, { accessKey: true, 'password.prod': true });
    options.secureJsonData = { secretKey: 'typed-secret', 'password.dev': 'pw' };

    const view = toConnectionView(options);

    expect(view.secureJsonFields).toEqual({ accessKey: true });
    expect(view.secureJsonData).toEqual({ secretKey: 'typed-secret' });
  });

  it('never shows the datasource database as the profile', () => {
    const options = { ...dataSourceSettings(), database: 'legacy-db' };
    expect(toConnectionView(options).jsonData.profile).toBe('');
  });
});

describe('fromConnectionView', () => {
  it('writes every SDK field back into jsonData.aws and leaves the rest of jsonData alone', () => {
    const options = dataSourceSettings({ archive: { path: '/data' }, aws: { endpoints: AWS!.endpoints } });
    const view = withView(toConnectionView(options), {
      authType: 'credentials' as ConnectionView['jsonData']['authType'],
      profile: 'stl',
      assumeRoleArn: 'arn:aws:iam::123456789012:role/stl',
      externalId: 'ext-1',
      defaultRegion: 'eu-west-1',
    });

    expect(fromConnectionView(options, view).jsonData).toEqual({ archive: { path: '/data' }, aws: AWS });
  });

  it('leaks none of the SDK top-level fields into jsonData', () => {
    const options = dataSourceSettings({ aws: AWS });
    const view = withView(toConnectionView(options), {
      endpoint: 'https://one-for-all.example',
      usePerDatasourceExternalId: true,
      grafanaExternalId: 'g-1',
      proxyType: 'url',
      proxyUrl: 'http://proxy',
      proxyUsername: 'u',
    });

    const jsonData = fromConnectionView(options, view).jsonData;

    for (const key of SDK_TOP_LEVEL) {
      expect(jsonData).not.toHaveProperty(key);
    }
    expect(Object.keys(jsonData.aws ?? {}).sort()).toEqual([
      'assumeRoleArn',
      'authType',
      'endpoints',
      'externalId',
      'profile',
      'region',
    ]);
  });

  it('maps the SDK credentials file provider to authType profile', () => {
    const options = dataSourceSettings({ aws: { authType: 'keys' } });
    const view = withView(toConnectionView(options), {
      authType: 'credentials' as ConnectionView['jsonData']['authType'],
    });
    expect(fromConnectionView(options, view).jsonData.aws?.authType).toBe('profile');
  });

  it.each(['grafana_assume_role', 'ec2_iam_role'] as const)('stores the SDK provider %s as it is', (sdk) => {
    const options = dataSourceSettings({ aws: { authType: 'keys' } });
    const view = withView(toConnectionView(options), { authType: sdk as ConnectionView['jsonData']['authType'] });
    expect(fromConnectionView(options, view).jsonData.aws?.authType).toBe(sdk);
    expect(toConnectionView(fromConnectionView(options, view)).jsonData.authType).toBe(sdk);
  });

  it('keeps the previous authType when the SDK offers the legacy arn, which the backend does not run', () => {
    const options = dataSourceSettings({ aws: { authType: 'keys' } });
    const view = withView(toConnectionView(options), { authType: 'arn' as ConnectionView['jsonData']['authType'] });
    expect(fromConnectionView(options, view).jsonData.aws?.authType).toBe('keys');
  });

  it('drops fields the SDK emptied, so the backend defaults apply', () => {
    const options = dataSourceSettings({ aws: { authType: 'default', region: 'eu-west-1', externalId: 'x' } });
    const view = withView(toConnectionView(options), { defaultRegion: '', externalId: '' });

    expect(fromConnectionView(options, view).jsonData.aws).toEqual({ authType: 'default' });
  });

  it('stores typed keys as secureJsonData accessKey and secretKey next to the cluster passwords', () => {
    const options = dataSourceSettings();
    options.secureJsonData = { 'password.prod': 'pw' };
    const view = toConnectionView(options);
    view.secureJsonData = { accessKey: 'AKIAEXAMPLE', secretKey: 'typed-secret', sessionToken: 'tok' };

    const next = fromConnectionView(options, view);

    expect(next.secureJsonData).toEqual({ 'password.prod': 'pw', accessKey: 'AKIAEXAMPLE', secretKey: 'typed-secret' });
    expect(JSON.stringify(next.jsonData)).not.toContain('typed-secret');
  });

  it('carries a key reset (configured false, value empty) back to the settings', () => {
    const options = dataSourceSettings({ aws: { authType: 'keys' } }, { accessKey: true, secretKey: true });
    const view = toConnectionView(options);
    view.secureJsonFields = { ...view.secureJsonFields, secretKey: false };
    view.secureJsonData = { secretKey: '' };

    const next = fromConnectionView(options, view);

    expect(next.secureJsonFields).toEqual({ accessKey: true, secretKey: false });
    expect(next.secureJsonData).toEqual({ secretKey: '' });
  });

  it('round-trips: the view of the written settings is the view the SDK emitted', () => {
    const options = dataSourceSettings({ aws: AWS });
    const view = withView(toConnectionView(options), { defaultRegion: 'us-east-2' });
    expect(toConnectionView(fromConnectionView(options, view)).jsonData).toEqual(view.jsonData);
  });
});
