/**
 * What a deploy into a real account meets: the signing secret looked up by an identifier Secrets
 * Manager resolves in every region, the account-wide API Gateway logging setting kept or left
 * alone, and teardown then redeploy (the kept table and secret, `reuseRetained`).
 */
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { JWKS_TIMEOUT_MS } from '../../lambdas/shared/tokens.js';
import { type LocalResolver, resolveToString } from '../../local/intrinsics.js';
import { type LocalSecret, randomArnSuffix, resolveSecretId } from '../../local/secrets-manager.js';
import { synth, templateOf } from './synth.js';

const ACCOUNT = '123456789012';
const pseudo = (region: string): LocalResolver => ({
  ref: (id) => ({ 'AWS::Region': region, 'AWS::AccountId': ACCOUNT, 'AWS::Partition': 'aws' })[id],
  getAtt: () => undefined,
});

/** An IAM resource pattern (`*` and `?` wildcards) as a regular expression. */
const iamPattern = (pattern: string): RegExp =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\/]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );

const authorizerOf = (template: ReturnType<typeof templateOf>) => {
  // biome-ignore lint/suspicious/noExplicitAny: a synthesized template is untyped JSON.
  const resources = template.toJSON().Resources as Record<string, any>;
  const [id, fn] =
    Object.entries(resources).find(([, r]) => r.Metadata?.['parley:handler'] === 'authorizer') ?? [];
  const role = fn?.Properties.Role['Fn::GetAtt'][0];
  const statements = Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(`"${role}"`))
    .flatMap((r) => r.Properties.PolicyDocument.Statement);
  return { id, env: fn?.Properties.Environment.Variables as Record<string, unknown>, statements };
};

describe.each([
  ['the default name', {}, 'parley/jwt-signing-secret'],
  [
    'a name that also ends in a hyphen and six characters',
    { jwtSecretName: 'team/chat-signing-abcdef' },
    'team/chat-signing-abcdef',
  ],
])('Signing secret lookup, %s', (_what, context, name) => {
  const app = synth(context);

  it('the primary creates the secret, kept on delete, with a replica in every other region', () => {
    const primary = templateOf(app, 'us-east-1');
    primary.hasResource('AWS::SecretsManager::Secret', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({ Name: name, ReplicaRegions: [{ Region: 'eu-west-1' }] }),
    });
  });

  it.each(['us-east-1', 'eu-west-1'])(
    "%s: the authorizer asks for an id that Secrets Manager resolves to its region's replica, and may read it",
    (region) => {
      const { env, statements } = authorizerOf(templateOf(app, region));
      const secretId = resolveToString(env.JWT_SECRET_ID, pseudo(region));
      const read = statements.filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'));
      expect(read).toHaveLength(1);
      expect([read[0].Action].flat()).toEqual(['secretsmanager:GetSecretValue']);
      const patterns = [read[0].Resource].flat().map((resource) => resolveToString(resource, pseudo(region)));
      // Each replica has an ARN of its own, with a random suffix the stacks cannot know.
      for (let i = 0; i < 20; i++) {
        const replica: LocalSecret = {
          name,
          region,
          value: 'v',
          arn: `arn:aws:secretsmanager:${region}:${ACCOUNT}:secret:${name}${randomArnSuffix()}`,
        };
        expect(resolveSecretId(secretId, [replica])).toBe(replica);
        expect(patterns.some((pattern) => iamPattern(pattern).test(replica.arn))).toBe(true);
      }
      // The identifier the stacks gave before, the ARN without the suffix, is misread for this name.
      const partial = `arn:aws:secretsmanager:${region}:${ACCOUNT}:secret:${name}`;
      expect(
        resolveSecretId(partial, [{ name, region, value: 'v', arn: `${partial}${randomArnSuffix()}` }]),
      ).toBeUndefined();
    },
  );
});

describe('Authorizer timeout', () => {
  it('gives up on a hanging JWKS endpoint before Lambda gives up on the authorizer', () => {
    for (const region of ['us-east-1', 'eu-west-1']) {
      const fn = Object.values(templateOf(synth({}), region).findResources('AWS::Lambda::Function')).find(
        (candidate) => candidate.Metadata?.['parley:handler'] === 'authorizer',
      );
      expect(fn?.Properties.Timeout * 1000).toBeGreaterThan(JWKS_TIMEOUT_MS);
    }
  });
});

describe('API Gateway account setting (one per account and region)', () => {
  it.each(['us-east-1', 'eu-west-1'])(
    '%s, by default: a logging role and the setting, both kept when the stack is deleted',
    (region) => {
      const template = templateOf(synth({}), region);
      template.hasResource('AWS::ApiGateway::Account', {
        DeletionPolicy: 'Retain',
        Properties: {
          CloudWatchRoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ApiGatewayLogsRole'), 'Arn'] },
        },
      });
      template.hasResource('AWS::IAM::Role', {
        DeletionPolicy: 'Retain',
        Properties: Match.objectLike({
          AssumeRolePolicyDocument: Match.objectLike({
            Statement: [Match.objectLike({ Principal: { Service: 'apigateway.amazonaws.com' } })],
          }),
        }),
      });
    },
  );

  it('existing: the setting is left alone, and no role is made', () => {
    const app = synth({ apiGatewayCloudWatchRole: 'existing' });
    for (const region of ['us-east-1', 'eu-west-1']) {
      const template = templateOf(app, region);
      template.resourceCountIs('AWS::ApiGateway::Account', 0);
      expect(JSON.stringify(template.findResources('AWS::IAM::Role'))).not.toContain(
        'apigateway.amazonaws.com',
      );
    }
  });

  it('a role ARN: the setting names that role, and no role is made', () => {
    const roleArn = 'arn:aws:iam::123456789012:role/api-gateway-logs';
    const template = templateOf(synth({ apiGatewayCloudWatchRole: roleArn }), 'eu-west-1');
    template.hasResourceProperties('AWS::ApiGateway::Account', { CloudWatchRoleArn: roleArn });
    expect(JSON.stringify(template.findResources('AWS::IAM::Role'))).not.toContain(
      'apigateway.amazonaws.com',
    );
  });
});

describe('Teardown and redeploy', () => {
  it('the table is kept on delete, as the secret is', () => {
    templateOf(synth({}), 'us-east-1').hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Retain',
    });
  });

  it('reuseRetained: no table, secret or preflight is created; every region looks its stream up and reads the kept secret by name', () => {
    const app = synth({ reuseRetained: 'true' });
    for (const region of ['us-east-1', 'eu-west-1']) {
      const template = templateOf(app, region);
      template.resourceCountIs('AWS::DynamoDB::GlobalTable', 0);
      template.resourceCountIs('AWS::SecretsManager::Secret', 0);
      template.resourceCountIs('Custom::ParleyPreflight', 0);
      template.hasResourceProperties('Custom::ParleyStreamArn', { TableName: 'parley' });
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DeployCheckStreamArn'), 'StreamArn'] },
      });
      expect(authorizerOf(template).env.JWT_SECRET_ID).toBe('parley/jwt-signing-secret');
    }
  });
});
