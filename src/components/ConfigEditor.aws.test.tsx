import { fireEvent, screen, within } from '@testing-library/react';

import { allowAwsAuthProviders, choose, renderConfigEditor as setup } from '../testing/configEditor';
import { dataSourceSettings } from '../testing/fakes';
import { ClusterSettings } from '../types';

// Names of @grafana/aws-sdk's own top-level jsonData fields: the backend rejects each of them.
const SDK_TOP_LEVEL = ['authType', 'profile', 'assumeRoleArn', 'externalId', 'defaultRegion', 'endpoint'];

const PROD: ClusterSettings = {
  name: 'prod',
  host: 'prod.abc.us-east-1.redshift.amazonaws.com',
  port: 5439,
  database: 'dev',
  user: 'stl_reader',
  sslMode: 'verify-full',
};

/** Types a whole value in one change event: these tests render the full editor on a shared CPU. */
function fill(field: HTMLElement, text: string) {
  fireEvent.change(field, { target: { value: text } });
}

let restore: () => void;
beforeAll(() => {
  restore = allowAwsAuthProviders();
});
afterAll(() => restore());

describe('ConfigEditor: archive in S3 and state in DynamoDB', () => {
  it('writes the S3 bucket fields under archive.s3 with the backend names', async () => {
    const { last, user } = setup(dataSourceSettings({ archive: { path: '/data/stl' } }));

    await user.click(screen.getByLabelText(/^Archive in S3/));
    fill(screen.getByLabelText(/^Bucket$/), 'stl-archive');
    fill(screen.getByLabelText(/^Prefix/), 'stl/');
    fill(screen.getByLabelText(/^Bucket region/), 'eu-west-1');
    fill(screen.getByLabelText(/^S3 endpoint/), 'http://127.0.0.1:7070');

    expect(last().jsonData.archive).toEqual({
      path: '/data/stl',
      s3: { bucket: 'stl-archive', prefix: 'stl/', region: 'eu-west-1', endpoint: 'http://127.0.0.1:7070' },
    });
  });

  it('writes path-style addressing and SSE-KMS with its key under archive.s3', async () => {
    const { last, user } = setup(dataSourceSettings({ archive: { path: '/d', s3: { bucket: 'stl-archive' } } }));
    expect(screen.queryByLabelText(/^KMS key/)).not.toBeInTheDocument();

    await user.click(screen.getByLabelText(/^Path-style addressing/));
    await choose(user, screen.getByLabelText(/^Encryption/), 'SSE-KMS (aws:kms)');
    fill(screen.getByLabelText(/^KMS key/), 'alias/stl');

    expect(last().jsonData.archive?.s3).toEqual({
      bucket: 'stl-archive',
      pathStyle: true,
      sse: 'aws:kms',
      kmsKeyId: 'alias/stl',
    });
  });

  it('drops the KMS key when the encryption no longer uses one', async () => {
    const { last, user } = setup(
      dataSourceSettings({ archive: { path: '/d', s3: { bucket: 'b-1', sse: 'aws:kms', kmsKeyId: 'alias/stl' } } })
    );

    await choose(user, screen.getByLabelText(/^Encryption/), 'SSE-S3 (AES256)');

    expect(last().jsonData.archive?.s3).toEqual({ bucket: 'b-1', sse: 'AES256' });
    expect(screen.queryByLabelText(/^KMS key/)).not.toBeInTheDocument();
  });

  it('removes archive.s3 when the archive is switched back to local', async () => {
    const { last, user } = setup(
      dataSourceSettings({ archive: { path: '/data/stl', s3: { bucket: 'stl-archive', prefix: 'stl/' } } })
    );

    await user.click(screen.getByLabelText(/^Archive in S3/));

    expect(last().jsonData.archive).toEqual({ path: '/data/stl' });
    expect(screen.queryByLabelText(/^Bucket$/)).not.toBeInTheDocument();
  });

  it('keeps the state in DynamoDB instead of a file, and back', async () => {
    const { last, user } = setup(dataSourceSettings({ state: { path: '/data/state.db' } }));

    await user.click(screen.getByLabelText(/^State in DynamoDB/));
    // The backend refuses a state file next to a table.
    expect(screen.queryByLabelText(/^State path/)).not.toBeInTheDocument();
    fill(screen.getByLabelText(/^Table$/), 'stl-state');
    fill(screen.getByLabelText(/^Table region/), 'eu-west-1');
    fill(screen.getByLabelText(/^DynamoDB endpoint/), 'http://127.0.0.1:8000');
    await user.click(screen.getByLabelText(/^Create table/));

    expect(last().jsonData.state).toEqual({
      dynamodb: { table: 'stl-state', region: 'eu-west-1', endpoint: 'http://127.0.0.1:8000', create: true },
    });

    await user.click(screen.getByLabelText(/^State in DynamoDB/));

    expect(last().jsonData.state).toEqual({});
    expect(screen.getByLabelText(/^State path/)).toBeInTheDocument();
  });
});

describe('ConfigEditor: AWS credentials', () => {
  it('shows the AWS section only when a setting uses AWS', async () => {
    const { user } = setup(dataSourceSettings({ archive: { path: '/d' } }));
    expect(screen.queryByText('AWS credentials')).not.toBeInTheDocument();

    await user.click(screen.getByLabelText(/^Archive in S3/));

    expect(screen.getByText('AWS credentials')).toBeInTheDocument();
    expect(screen.getByLabelText('Authentication Provider')).toBeInTheDocument();
  });

  it('writes the SDK provider and profile into jsonData.aws and nothing at the top level', async () => {
    const { last, user } = setup(dataSourceSettings({ archive: { path: '/d', s3: { bucket: 'stl-archive' } } }));

    await choose(user, screen.getByLabelText('Authentication Provider'), 'Credentials file');
    fill(screen.getByLabelText(/^Credentials Profile Name/), 'stl');

    const jsonData = last().jsonData;
    expect(jsonData.aws).toEqual({ authType: 'profile', profile: 'stl' });
    for (const key of SDK_TOP_LEVEL) {
      expect(jsonData).not.toHaveProperty(key);
    }
  });

  it('writes the SDK assume role and region into jsonData.aws and nothing at the top level', async () => {
    const { last, user } = setup(dataSourceSettings({ archive: { path: '/d', s3: { bucket: 'stl-archive' } } }));

    fill(screen.getByLabelText(/^Assume Role ARN/), 'arn:aws:iam::123456789012:role/stl');
    fill(screen.getByLabelText(/^External ID/), 'ext-1');
    fill(screen.getByLabelText(/^Default Region/), 'eu-west-1');
    await user.click(await screen.findByText('eu-west-1', { selector: '[role="option"] *' }));

    const jsonData = last().jsonData;
    expect(jsonData.aws).toEqual({
      authType: 'default',
      assumeRoleArn: 'arn:aws:iam::123456789012:role/stl',
      externalId: 'ext-1',
      region: 'eu-west-1',
    });
    for (const key of SDK_TOP_LEVEL) {
      expect(jsonData).not.toHaveProperty(key);
    }
  });

  it('stores access keys in secureJsonData accessKey and secretKey', async () => {
    const { last, user } = setup(dataSourceSettings({ state: { dynamodb: { table: 'stl-state' } } }));

    await choose(user, screen.getByLabelText('Authentication Provider'), 'Access & secret key');
    fill(screen.getByLabelText('Access Key ID'), 'AKIAEXAMPLE');
    fill(screen.getByLabelText('Secret Access Key'), 'typed-secret');

    expect(last().jsonData.aws).toEqual({ authType: 'keys' });
    expect(last().secureJsonData).toEqual({ accessKey: 'AKIAEXAMPLE', secretKey: 'typed-secret' });
    expect(JSON.stringify(last().jsonData)).not.toContain('typed-secret');
  });

  it('writes endpoint overrides under aws.endpoints by service', async () => {
    const { last, user } = setup(dataSourceSettings({ ssm: {}, aws: { authType: 'default' } }));

    await user.click(screen.getByLabelText('Expand section Endpoint overrides'));
    fill(screen.getByLabelText('STS'), 'https://sts.example.internal');
    fill(screen.getByLabelText('Redshift API'), 'https://redshift.example.internal');

    expect(last().jsonData.aws).toEqual({
      authType: 'default',
      endpoints: { sts: 'https://sts.example.internal', redshift: 'https://redshift.example.internal' },
    });
  });
});

describe('ConfigEditor: clusters from SSM and IAM logins', () => {
  it('reads clusters from SSM Parameter Store with the backend names', async () => {
    const { last, user } = setup();

    await user.click(screen.getByLabelText(/^Read clusters from SSM Parameter Store/));
    expect(last().jsonData.ssm).toEqual({});
    fill(screen.getByLabelText(/^Parameter prefix/), 'query_logs');
    fill(screen.getByLabelText(/^Parameter region/), 'us-west-2');
    await choose(user, screen.getByLabelText(/^SSL mode of these clusters/), 'require');
    await choose(user, screen.getByLabelText(/^Login of these clusters/), 'IAM, database user');

    expect(last().jsonData.ssm).toEqual({ prefix: 'query_logs', region: 'us-west-2', sslMode: 'require', auth: 'iam' });

    await user.click(screen.getByLabelText(/^Read clusters from SSM Parameter Store/));
    expect(last().jsonData).not.toHaveProperty('ssm');
  });

  it('hides the password for IAM logins and writes the IAM fields', async () => {
    const { last, user } = setup(dataSourceSettings({ clusters: [PROD] }));
    const row = screen.getByLabelText('Cluster prod');
    expect(within(row).getByLabelText('Password')).toBeInTheDocument();

    await choose(user, within(row).getByLabelText(/^Login/), 'IAM, database user');

    expect(within(row).queryByLabelText('Password')).not.toBeInTheDocument();
    fill(within(row).getByLabelText(/^Cluster identifier/), 'prod-cluster');
    await user.type(within(row).getByLabelText(/^Database groups/), 'stl_readers{enter}');
    await user.click(within(row).getByLabelText(/^Create user/));

    expect(last().jsonData.clusters).toEqual([
      { ...PROD, auth: 'iam', clusterIdentifier: 'prod-cluster', dbGroups: ['stl_readers'], autoCreate: true },
    ]);
  });

  it('drops the user, groups and auto-create for an IAM identity login', async () => {
    const iam: ClusterSettings = { ...PROD, auth: 'iam', dbGroups: ['stl_readers'], autoCreate: true };
    const { last, user } = setup(dataSourceSettings({ clusters: [iam] }));
    const row = screen.getByLabelText('Cluster prod');

    await choose(user, within(row).getByLabelText(/^Login/), 'IAM identity');

    expect(within(row).queryByLabelText(/^User/)).not.toBeInTheDocument();
    expect(within(row).queryByLabelText(/^Database groups/)).not.toBeInTheDocument();
    expect(within(row).queryByLabelText('Password')).not.toBeInTheDocument();
    const { user: _user, ...rest } = PROD;
    expect(last().jsonData.clusters).toEqual([{ ...rest, auth: 'iam-identity' }]);
  });

  it('writes a private CA file and drops it when the certificate is no longer verified', async () => {
    const { last, user } = setup(dataSourceSettings({ clusters: [PROD] }));
    const row = screen.getByLabelText('Cluster prod');

    fill(within(row).getByLabelText(/^CA certificate file/), '/etc/ssl/private-ca.pem');
    expect(last().jsonData.clusters?.[0].sslRootCert).toBe('/etc/ssl/private-ca.pem');

    await choose(user, within(row).getByLabelText(/^SSL mode/), 'require');

    expect(last().jsonData.clusters).toEqual([{ ...PROD, sslMode: 'require' }]);
    expect(within(row).queryByLabelText(/^CA certificate file/)).not.toBeInTheDocument();
  });
});

describe('ConfigEditor: query engine', () => {
  it('shows the Athena fields for engine athena and writes where it runs under query.athena', async () => {
    const { last, user } = setup(dataSourceSettings({ archive: { path: '/d', s3: { bucket: 'stl-archive' } } }));
    expect(screen.queryByLabelText(/^Workgroup/)).not.toBeInTheDocument();

    await choose(user, screen.getByLabelText(/^Engine/), 'Amazon Athena');
    fill(screen.getByLabelText(/^Workgroup/), 'stl');
    fill(screen.getByLabelText(/^Output location/), 's3://athena-results/stl/');
    fill(screen.getByLabelText(/^Athena region/), 'eu-west-1');

    expect(last().jsonData.query).toEqual({
      engine: 'athena',
      athena: { workgroup: 'stl', outputLocation: 's3://athena-results/stl/', region: 'eu-west-1' },
    });
    expect(screen.queryByText('Athena needs the archive in S3')).not.toBeInTheDocument();
  });

  it('writes the Athena catalog, result reuse and catalog management under query.athena', async () => {
    const { last, user } = setup(
      dataSourceSettings({ archive: { path: '/d', s3: { bucket: 'stl-archive' } }, query: { engine: 'athena' } })
    );

    fill(screen.getByLabelText(/^Data catalog/), 'AwsDataCatalog');
    fill(screen.getByLabelText(/^Glue database/), 'stl_archive');
    fill(screen.getByLabelText(/^Result reuse/), '10m');
    fill(screen.getByLabelText(/^First day/), '2026-02-01');
    await user.click(screen.getByLabelText(/^Manage catalog/));

    expect(last().jsonData.query).toEqual({
      engine: 'athena',
      athena: {
        catalog: 'AwsDataCatalog',
        database: 'stl_archive',
        resultReuse: '10m',
        firstDay: '2026-02-01',
        manageCatalog: false,
      },
    });
  });

  it('removes query.athena when the engine goes back to DuckDB', async () => {
    const { last, user } = setup(
      dataSourceSettings({
        archive: { path: '/d', s3: { bucket: 'stl-archive' } },
        query: { engine: 'athena', maxRows: 10, athena: { workgroup: 'stl' } },
      })
    );

    await choose(user, screen.getByLabelText(/^Engine/), 'DuckDB (embedded)');

    expect(last().jsonData.query).toEqual({ engine: 'duckdb', maxRows: 10 });
    expect(screen.queryByLabelText(/^Workgroup/)).not.toBeInTheDocument();
  });

  it('warns that Athena needs the archive in S3', async () => {
    const { user } = setup();

    await choose(user, screen.getByLabelText(/^Engine/), 'Amazon Athena');

    expect(screen.getByText('Athena needs the archive in S3')).toBeInTheDocument();
  });

  it('offers the cache size only for an S3 archive read by the embedded engine', async () => {
    const { last, user } = setup(dataSourceSettings({ archive: { path: '/d' } }));
    expect(screen.queryByLabelText(/^Cache size/)).not.toBeInTheDocument();

    await user.click(screen.getByLabelText(/^Archive in S3/));
    fill(screen.getByLabelText(/^Cache size/), '2048');

    expect(last().jsonData.query).toEqual({ cacheSizeMB: 2048 });
  });

  it('writes the export lease', () => {
    const { last } = setup();

    fill(screen.getByLabelText(/^Lease/), '5m');

    expect(last().jsonData.export).toEqual({ lease: '5m' });
  });
});
