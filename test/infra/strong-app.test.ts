import { describe, expect, it } from 'vitest';
import { CONFIGURATIONS, synth, templateOf } from './synth.js';

const strong = synth(CONFIGURATIONS.strong);
const witness = synth(CONFIGURATIONS.witness);

function tableOf(template: ReturnType<typeof templateOf>) {
  const tables = Object.values(template.findResources('AWS::DynamoDB::GlobalTable'));
  expect(tables).toHaveLength(1);
  return tables[0]?.Properties;
}

describe('App: strong consistency', () => {
  it('three US regions: one MRSC table in the primary with replicas in the other two', () => {
    expect([...strong.stacks.keys()]).toEqual(['us-east-1', 'us-east-2', 'us-west-2']);
    const table = tableOf(templateOf(strong, 'us-east-1'));
    expect(table.MultiRegionConsistency).toBe('STRONG');
    expect(table.GlobalTableWitnesses).toBeUndefined();
    expect(table.Replicas.map((replica: { Region: string }) => replica.Region).sort()).toEqual([
      'us-east-1',
      'us-east-2',
      'us-west-2',
    ]);
    for (const replica of table.Replicas) {
      expect(replica.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    }
    expect(table.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
    expect(table.GlobalSecondaryIndexes.map((index: { IndexName: string }) => index.IndexName)).toEqual([
      'byTime',
    ]);
    // DynamoDB does not support TTL (nor LSIs) on multi-Region strong consistency tables.
    expect(table.TimeToLiveSpecification).toBeUndefined();
    expect(table.LocalSecondaryIndexes).toBeUndefined();
    for (const region of ['us-east-2', 'us-west-2']) {
      templateOf(strong, region).resourceCountIs('AWS::DynamoDB::GlobalTable', 0);
    }
  });

  it('two regions plus a witness', () => {
    const table = tableOf(templateOf(witness, 'us-east-1'));
    expect(table.MultiRegionConsistency).toBe('STRONG');
    expect(table.GlobalTableWitnesses).toEqual([{ Region: 'us-west-2' }]);
    expect(table.Replicas.map((replica: { Region: string }) => replica.Region).sort()).toEqual([
      'us-east-1',
      'us-east-2',
    ]);
    // The witness holds no replica, so it gets no stack.
    expect([...witness.stacks.keys()]).toEqual(['us-east-1', 'us-east-2']);
  });

  it.each(['us-east-1', 'us-east-2', 'us-west-2'])('%s: handlers run in strong mode', (region) => {
    const functions = Object.values(templateOf(strong, region).findResources('AWS::Lambda::Function')).filter(
      (fn) => fn.Metadata?.['parley:handler'] !== undefined && fn.Metadata['parley:deployTime'] !== true,
    );
    expect(functions).toHaveLength(14);
    for (const fn of functions) expect(fn.Properties.Environment.Variables.CONSISTENCY).toBe('strong');
  });
});

describe('App: jwks auth', () => {
  const jwks = synth(CONFIGURATIONS.jwks);

  it.each(['us-east-1', 'eu-west-1'])(
    '%s: the authorizer gets the JWKS settings and no secret exists',
    (region) => {
      const template = templateOf(jwks, region);
      template.resourceCountIs('AWS::SecretsManager::Secret', 0);
      const authorizer = Object.values(template.findResources('AWS::Lambda::Function')).find(
        (fn) => fn.Metadata?.['parley:handler'] === 'authorizer',
      );
      expect(authorizer?.Properties.Environment.Variables).toMatchObject({
        AUTH_MODE: 'jwks',
        JWKS_URL: 'https://issuer.example.com/.well-known/jwks.json',
        JWT_ISSUER: 'https://issuer.example.com/',
        JWT_AUDIENCE: 'parley',
      });
      expect(authorizer?.Properties.Environment.Variables.JWT_SECRET_ID).toBeUndefined();
    },
  );

  it('alarm e-mail subscribes to the alarm topic when configured', () => {
    const withEmail = synth({ alarmEmail: 'ops@example.com', regions: 'eu-west-1,eu-central-1' });
    for (const region of ['eu-west-1', 'eu-central-1']) {
      templateOf(withEmail, region).hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: 'ops@example.com',
      });
    }
  });
});

describe('App: invalid configuration fails at synth', () => {
  it('names the key', () => {
    expect(() => synth({ routing: 'nearest' })).toThrow(/"routing": "nearest"/);
  });
});
