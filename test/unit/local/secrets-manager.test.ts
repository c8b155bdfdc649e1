/**
 * The local Secrets Manager against the real SDK client over a real socket: `SecretId` resolves
 * as Secrets Manager documents (a name, a complete ARN, a partial ARN, with the rule that an ARN
 * ending in a hyphen and six characters is complete), per region; and the authorizer's key
 * lookup fails on it exactly where it fails on AWS.
 */
import {
  GetSecretValueCommand,
  ListSecretsCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorize } from '../../../lambdas/shared/auth.js';
import { createVerifier } from '../../../lambdas/shared/tokens.js';
import {
  LocalSecretsManager,
  looksComplete,
  randomArnSuffix,
  resolveSecretId,
} from '../../../local/secrets-manager.js';
import { authorizerEvent } from '../../helpers/events.js';

const NAME = 'parley/jwt-signing-secret';
const KEY = 'a-local-signing-key-0123456789abcdef';
const ACCOUNT = '000000000000';

let server: LocalSecretsManager;
const clients: SecretsManagerClient[] = [];

const clientFor = (region: string): SecretsManagerClient => {
  const client = new SecretsManagerClient({
    region,
    endpoint: server.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  clients.push(client);
  return client;
};

const secretValue = async (region: string, secretId: string): Promise<string | undefined> =>
  (await clientFor(region).send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;

beforeAll(async () => {
  server = new LocalSecretsManager({ accountId: ACCOUNT });
  await server.listen();
  server.create('us-east-1', NAME, KEY);
  server.create('eu-west-1', NAME, KEY);
  server.create('us-east-1', 'plain', 'plain-value');
});

afterAll(async () => {
  for (const client of clients) client.destroy();
  await server.close();
});

describe('Local Secrets Manager: SecretId', () => {
  it('resolves the name in the primary and in the replica region, each secret with its own ARN', async () => {
    // Act
    const [east, west] = await Promise.all([secretValue('us-east-1', NAME), secretValue('eu-west-1', NAME)]);

    // Assess
    expect([east, west]).toEqual([KEY, KEY]);
    const [eastArn, westArn] = ['us-east-1', 'eu-west-1'].map((region) => server.inRegion(region)[0]?.arn);
    expect(eastArn).toMatch(
      /^arn:aws:secretsmanager:us-east-1:000000000000:secret:parley\/jwt-signing-secret-[A-Za-z0-9]{6}$/,
    );
    expect(westArn).toMatch(/^arn:aws:secretsmanager:eu-west-1:/);
    expect(westArn).not.toBe(eastArn);
  });

  it('resolves a complete ARN, and a partial ARN of a name that does not end in a hyphen and six characters', async () => {
    // Prepare
    const plain = server.inRegion('us-east-1').find((secret) => secret.name === 'plain');
    if (plain === undefined) throw new Error('no plain secret');

    // Act + Assess
    expect(await secretValue('us-east-1', plain.arn)).toBe('plain-value');
    expect(await secretValue('us-east-1', plain.arn.slice(0, -7))).toBe('plain-value');
  });

  it('refuses the partial ARN of parley/jwt-signing-secret, as AWS does: it reads as a complete ARN', async () => {
    // Prepare: what the stacks gave the authorizer before (the ARN without its suffix).
    const partial = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:${NAME}`;

    // Act + Assess
    await expect(secretValue('us-east-1', partial)).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(secretValue('us-east-1', partial)).rejects.toThrow(
      "Secrets Manager can't find the specified secret.",
    );
  });

  it("keeps each region's secrets apart: a name absent from the signed region is not found", async () => {
    await expect(secretValue('eu-west-1', 'plain')).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('refuses an operation it does not serve, so a new call fails here before it fails on AWS', async () => {
    await expect(clientFor('us-east-1').send(new ListSecretsCommand({}))).rejects.toThrow(
      /not served locally/,
    );
  });
});

describe('Secrets Manager resolution rule', () => {
  const nameChar = fc.constantFrom(...'abcXYZ019/_+=.@-'.split(''));
  const names = fc.array(nameChar, { minLength: 1, maxLength: 40 }).map((chars) => chars.join(''));
  const arnOf = (region: string, name: string, suffix: string) =>
    `arn:aws:secretsmanager:${region}:${ACCOUNT}:secret:${name}${suffix}`;

  it('finds any secret by its name and by its complete ARN', () => {
    fc.assert(
      fc.property(names, (name) => {
        const secret = {
          name,
          region: 'us-east-1',
          value: 'v',
          arn: arnOf('us-east-1', name, randomArnSuffix()),
        };
        expect(resolveSecretId(name, [secret])).toBe(secret);
        expect(resolveSecretId(secret.arn, [secret])).toBe(secret);
      }),
    );
  });

  it('finds a secret by its partial ARN exactly when the name does not end in a hyphen and six characters', () => {
    fc.assert(
      fc.property(names, (name) => {
        const secret = {
          name,
          region: 'us-east-1',
          value: 'v',
          arn: arnOf('us-east-1', name, randomArnSuffix()),
        };
        const found = resolveSecretId(arnOf('us-east-1', name, ''), [secret]) !== undefined;
        expect(found).toBe(!looksComplete(name));
      }),
    );
    expect(looksComplete('parley/jwt-signing-secret')).toBe(true);
    expect(looksComplete('parley/jwt-signing-key')).toBe(false);
  });
});

describe('Authorizer key lookup through the local Secrets Manager', () => {
  const token = () =>
    new SignJWT({ sub: 'alice' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(KEY));

  it('verifies a token with the key it fetched by name', async () => {
    // Prepare
    const verify = createVerifier({ mode: 'hs256', secretId: NAME }, { secrets: clientFor('eu-west-1') });

    // Act
    const result = await authorize(authorizerEvent(await token()), verify);

    // Assess
    expect(result).toMatchObject({ principalId: 'alice', context: { user: 'alice' } });
  });

  it('fails (500, not Deny) with the partial ARN the stacks used to give it', async () => {
    // Prepare
    const verify = createVerifier(
      { mode: 'hs256', secretId: `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:${NAME}` },
      { secrets: clientFor('eu-west-1') },
    );

    // Act + Assess
    await expect(authorize(authorizerEvent(await token()), verify)).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
  });
});
