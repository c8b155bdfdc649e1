import { describe, expect, it } from 'vitest';
import { ConfigError, type ConfigKey, MAX_BODY_BYTES_LIMIT, parseConfig } from '../../lib/config.js';

const read =
  (context: Record<string, unknown>) =>
  (key: ConfigKey): unknown =>
    context[key];

/** Parses `context` and returns the ConfigError it throws (failing if it throws none). */
function errorOf(context: Record<string, unknown>): ConfigError {
  try {
    parseConfig(read(context));
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`no error for ${JSON.stringify(context)}`);
}

const DOMAIN = {
  domainName: 'chat.example.com',
  hostedZoneId: 'Z0123456789EXAMPLE',
  hostedZoneName: 'example.com',
};

describe('Config: defaults and accepted forms', () => {
  it('uses the documented defaults when nothing is set', () => {
    const config = parseConfig(read({}));
    expect(config).toEqual({
      regions: ['us-east-1', 'eu-west-1'],
      primaryRegion: 'us-east-1',
      consistency: 'eventual',
      routing: 'failover',
      auth: {
        mode: 'hs256',
        secretName: 'parley/jwt-signing-secret',
        jwtAudienceClaim: 'aud',
        maxTokenLifetimeSeconds: 86_400,
      },
      maxBodyBytes: 16_384,
      messageRetentionDays: 30,
      throttleRate: 500,
      throttleBurst: 1_000,
      tableName: 'parley',
      stageName: 'prod',
      deletionProtection: true,
      fanoutInlineMax: 100,
      sendRatePerSecond: 10,
      sendBurst: 20,
      joinRatePerSecond: 10,
      joinBurst: 100,
      leaveRatePerSecond: 10,
      leaveBurst: 100,
      historyRatePerSecond: 5,
      historyBurst: 20,
      presenceRatePerSecond: 5,
      presenceBurst: 20,
      pingRatePerSecond: 1,
      pingBurst: 5,
      maxRoomsPerConnection: 50,
      maxConnectionsPerUser: 10,
      maxReplay: 500,
      presenceTimeoutSeconds: 45,
      reservedConcurrencyConnect: 0,
      reservedConcurrencyRoutes: 0,
      lambdaConcurrencyQuota: 1_000,
      apiGatewayCloudWatchRole: 'create',
      reuseRetained: false,
    });
  });

  it('accepts regions as a comma-separated string, a JSON string or an array; the first is primary', () => {
    for (const regions of ['eu-west-1, us-east-1', '["eu-west-1","us-east-1"]', ['eu-west-1', 'us-east-1']]) {
      const config = parseConfig(read({ regions }));
      expect(config.regions).toEqual(['eu-west-1', 'us-east-1']);
      expect(config.primaryRegion).toBe('eu-west-1');
    }
  });

  it('accepts -c strings for numbers and booleans', () => {
    const config = parseConfig(
      read({
        maxBodyBytes: '2048',
        messageRetentionDays: '7',
        throttleRate: '12.5',
        throttleBurst: '20',
        deletionProtection: 'false',
        fanoutInlineMax: '0',
        sendRatePerSecond: '5',
        sendBurst: '15',
        maxRoomsPerConnection: '3',
        maxConnectionsPerUser: '2',
        presenceTimeoutSeconds: '0',
      }),
    );
    expect(config).toMatchObject({
      maxBodyBytes: 2048,
      messageRetentionDays: 7,
      throttleRate: 12.5,
      throttleBurst: 20,
      deletionProtection: false,
      fanoutInlineMax: 0,
      sendRatePerSecond: 5,
      sendBurst: 15,
      maxRoomsPerConnection: 3,
      maxConnectionsPerUser: 2,
      presenceTimeoutSeconds: 0,
    });
  });

  it('accepts strong consistency with three regions of one set, or two plus a witness', () => {
    expect(
      parseConfig(read({ consistency: 'strong', regions: 'us-east-1,us-east-2,us-west-2' })).consistency,
    ).toBe('strong');
    const witness = parseConfig(
      read({ consistency: 'strong', regions: 'eu-west-1,eu-central-1', witnessRegion: 'eu-west-3' }),
    );
    expect(witness.witnessRegion).toBe('eu-west-3');
  });

  it('accepts a domain and jwks auth', () => {
    const config = parseConfig(
      read({
        ...DOMAIN,
        auth: 'jwks',
        jwksUrl: 'https://id.example.com/jwks.json',
        jwtIssuer: 'https://id.example.com/',
        jwtAudience: 'parley',
        alarmEmail: 'ops@example.com',
      }),
    );
    expect(config.domain).toEqual(DOMAIN);
    expect(config.auth).toEqual({
      mode: 'jwks',
      jwksUrl: 'https://id.example.com/jwks.json',
      jwtIssuer: 'https://id.example.com/',
      jwtAudience: 'parley',
      jwtAudienceClaim: 'aud',
      maxTokenLifetimeSeconds: 86_400,
    });
    expect(config.alarmEmail).toBe('ops@example.com');
  });

  it('accepts a signing secret name, the API Gateway logging role setting and reuseRetained', () => {
    const config = parseConfig(
      read({
        jwtSecretName: 'team/chat-signing-abcdef',
        apiGatewayCloudWatchRole: 'arn:aws:iam::123456789012:role/api-gateway-logs',
        reuseRetained: 'true',
      }),
    );
    expect(config.auth).toEqual({
      mode: 'hs256',
      secretName: 'team/chat-signing-abcdef',
      jwtAudienceClaim: 'aud',
      maxTokenLifetimeSeconds: 86_400,
    });
    expect(config.apiGatewayCloudWatchRole).toEqual({
      roleArn: 'arn:aws:iam::123456789012:role/api-gateway-logs',
    });
    expect(config.reuseRetained).toBe(true);
    expect(parseConfig(read({ apiGatewayCloudWatchRole: 'existing' })).apiGatewayCloudWatchRole).toBe(
      'existing',
    );
  });
});

describe('Config: every bad value fails with the key, the value and what is allowed', () => {
  const cases: Array<[string, Record<string, unknown>, ConfigKey, RegExp]> = [
    [
      'regions: not a region',
      { regions: 'us-east-1,mars-north-1' },
      'regions',
      /"mars-north-1" is not a region/,
    ],
    ['regions: duplicate', { regions: 'us-east-1,us-east-1' }, 'regions', /"us-east-1" appears twice/],
    ['regions: only one', { regions: 'us-east-1' }, 'regions', /at least two distinct/],
    ['regions: bad JSON', { regions: '["us-east-1",' }, 'regions', /JSON array or a comma-separated list/],
    ['consistency', { consistency: 'linearizable' }, 'consistency', /"eventual" or "strong"/],
    [
      'consistency strong across region sets',
      { consistency: 'strong', regions: 'us-east-1,eu-west-1,us-west-2' },
      'regions',
      /exactly three regions of one multi-Region strong consistency region set/,
    ],
    [
      'consistency strong with two regions and no witness',
      { consistency: 'strong', regions: 'us-east-1,us-east-2' },
      'regions',
      /or two plus "witnessRegion"/,
    ],
    [
      'witnessRegion outside the set',
      { consistency: 'strong', regions: 'us-east-1,us-east-2', witnessRegion: 'eu-west-1' },
      'witnessRegion',
      /same region set/,
    ],
    [
      'witnessRegion with eventual consistency',
      { witnessRegion: 'us-west-2' },
      'witnessRegion',
      /unless consistency is "strong"/,
    ],
    ['routing', { routing: 'geo' }, 'routing', /"failover" or "latency"/],
    ['domainName', { ...DOMAIN, domainName: 'not a host' }, 'domainName', /hostname/],
    ['hostedZoneId', { ...DOMAIN, hostedZoneId: 'zone-1' }, 'hostedZoneId', /hosted zone id/],
    ['hostedZoneName', { ...DOMAIN, hostedZoneName: 'other.org' }, 'hostedZoneName', /subdomain/],
    ['domain keys given partly', { domainName: 'chat.example.com' }, 'hostedZoneId', /set together, or none/],
    ['auth', { auth: 'basic' }, 'auth', /"hs256" or "jwks"/],
    [
      'jwksUrl not https',
      { auth: 'jwks', jwksUrl: 'http://id.example.com/jwks', jwtIssuer: 'i', jwtAudience: 'a' },
      'jwksUrl',
      /https:\/\/ URL/,
    ],
    [
      'jwtIssuer missing',
      { auth: 'jwks', jwksUrl: 'https://id.example.com/jwks', jwtAudience: 'a' },
      'jwtIssuer',
      /"iss"/,
    ],
    [
      'jwtAudience missing',
      { auth: 'jwks', jwksUrl: 'https://id.example.com/jwks', jwtIssuer: 'i' },
      'jwtAudience',
      /"aud"/,
    ],
    [
      'maxBodyBytes too large',
      { maxBodyBytes: 32_768 },
      'maxBodyBytes',
      new RegExp(`from 1 to ${MAX_BODY_BYTES_LIMIT}`),
    ],
    ['maxBodyBytes not a number', { maxBodyBytes: 'lots' }, 'maxBodyBytes', /an integer/],
    ['messageRetentionDays', { messageRetentionDays: 0 }, 'messageRetentionDays', /from 1 to 3650/],
    ['throttleRate', { throttleRate: '-5' }, 'throttleRate', /a number from 1/],
    ['throttleBurst', { throttleBurst: 1.5 }, 'throttleBurst', /an integer from 1/],
    ['tableName', { tableName: 'a' }, 'tableName', /DynamoDB table name/],
    ['stageName', { stageName: 'prod/v1' }, 'stageName', /stage name/],
    ['deletionProtection', { deletionProtection: 'yes' }, 'deletionProtection', /true or false/],
    ['fanoutInlineMax', { fanoutInlineMax: -1 }, 'fanoutInlineMax', /an integer from 0/],
    ['alarmEmail', { alarmEmail: 'ops' }, 'alarmEmail', /e-mail address/],
    ['sendRatePerSecond', { sendRatePerSecond: 0 }, 'sendRatePerSecond', /an integer from 1 to 10000/],
    ['sendBurst', { sendBurst: 2.5 }, 'sendBurst', /an integer from 1 to 100000/],
    [
      'maxRoomsPerConnection',
      { maxRoomsPerConnection: 'many' },
      'maxRoomsPerConnection',
      /an integer from 1/,
    ],
    ['maxConnectionsPerUser', { maxConnectionsPerUser: -3 }, 'maxConnectionsPerUser', /an integer from 1/],
    [
      'presenceTimeoutSeconds',
      { presenceTimeoutSeconds: 10.5 },
      'presenceTimeoutSeconds',
      /an integer from 0 to 86400/,
    ],
    ['jwtSecretName', { jwtSecretName: 'has space' }, 'jwtSecretName', /Secrets Manager secret name/],
    [
      'apiGatewayCloudWatchRole',
      { apiGatewayCloudWatchRole: 'arn:aws:iam::1:user/x' },
      'apiGatewayCloudWatchRole',
      /"create", "existing", or the ARN of an IAM role/,
    ],
    ['reuseRetained', { reuseRetained: 'maybe' }, 'reuseRetained', /true or false/],
  ];

  it.each(cases)('%s', (_name, context, key, allowed) => {
    const error = errorOf(context);
    expect(error.key).toBe(key);
    expect(error.message).toContain(`"${key}"`);
    expect(error.message).toMatch(allowed);
  });

  it('quotes the offending value in the message', () => {
    expect(errorOf({ routing: 'geo' }).message).toBe(
      'Invalid context value for "routing": "geo". Allowed: "failover" or "latency".',
    );
  });
});

describe('Config: cdk.json', () => {
  it('repeats the defaults, so the CLI and createApp() without context build the same app', async () => {
    const { CDK_JSON_CONTEXT } = await import('./synth.js');
    expect(parseConfig(read(CDK_JSON_CONTEXT))).toEqual(parseConfig(read({})));
  });
});
