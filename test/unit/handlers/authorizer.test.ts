import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AUTHORIZER_RESULT_MAX_BYTES,
  type AuthConfig,
  authorize,
  createVerifier,
  loadAuthConfig,
} from '../../../lambdas/shared/auth.js';
import { authorizerEvent } from '../../helpers/events.js';

const SECRET = 'unit-test-secret-of-enough-length!';
const secretKey = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);
const hs256 = createVerifier({ mode: 'hs256', secret: SECRET }, {});
const secretsMock = mockClient(SecretsManagerClient);

const sign = (claims: Record<string, unknown>, key: Uint8Array = secretKey) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(key);

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

afterEach(() => {
  secretsMock.reset();
});

describe('Handler: authorizer (hs256)', () => {
  it('throws Unauthorized (401) when the token is missing', async () => {
    // Act + Assess
    await expect(authorize(authorizerEvent(), hs256)).rejects.toThrow(/^Unauthorized$/);
    await expect(authorize(authorizerEvent(''), hs256)).rejects.toThrow(/^Unauthorized$/);
  });

  it('allows a valid token with the user as principal and in the context', async () => {
    // Prepare
    const token = await sign({ sub: 'alice', exp: now() + 60 });

    // Act
    const result = await authorize(authorizerEvent(token), hs256);

    // Assess
    expect(result).toEqual({
      principalId: 'alice',
      policyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Action: 'execute-api:Invoke',
            Effect: 'Allow',
            Resource: 'arn:aws:execute-api:us-east-1:123456789012:abc123/prod/$connect',
          },
        ],
      },
      context: { user: 'alice' },
    });
  });

  it.each([
    ['expired', () => sign({ sub: 'alice', exp: now() - 10 })],
    ['not yet valid (nbf in the future)', () => sign({ sub: 'alice', nbf: now() + 600 })],
    [
      'signed with another secret',
      () => sign({ sub: 'alice' }, new TextEncoder().encode('another-secret-entirely-000000')),
    ],
    ['alg none', async () => `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ sub: 'alice' })}.`],
    ['malformed', async () => 'not-a-jwt'],
    ['without sub', () => sign({ exp: now() + 60 })],
    ['with a sub over 128 characters', () => sign({ sub: 'x'.repeat(129) })],
    [
      'signed with another algorithm (HS512)',
      () => new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'HS512' }).sign(secretKey),
    ],
    [
      'signed with RS256',
      async () => {
        const { privateKey } = await generateKeyPair('RS256');
        return new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'RS256' }).sign(privateKey);
      },
    ],
  ])('denies a token that is %s (403)', async (_name, makeToken) => {
    // Act
    const result = await authorize(authorizerEvent(await makeToken()), hs256);

    // Assess
    expect(result.policyDocument.Statement[0]?.Effect).toBe('Deny');
    expect(result.context).toBeUndefined();
  });

  it('passes a rooms claim as JSON text and denies a malformed one', async () => {
    // Act
    const allowed = await authorize(authorizerEvent(await sign({ sub: 'alice', rooms: ['a-*'] })), hs256);
    const denied = await authorize(authorizerEvent(await sign({ sub: 'alice', rooms: 'a-*' })), hs256);

    // Assess
    expect(allowed.context).toEqual({ user: 'alice', rooms: '["a-*"]' });
    expect(denied.policyDocument.Statement[0]?.Effect).toBe('Deny');
  });

  it("denies a token whose answer would pass API Gateway's 8 KB authorizer result quota", async () => {
    // Prepare: 100 patterns of 128 characters pass the claim's own rules, but not the quota.
    const long = Array.from({ length: 100 }, (_, i) => `${String(i).padStart(3, '0')}-${'x'.repeat(124)}`);
    const user = 'u'.repeat(128);

    // Act
    const denied = await authorize(authorizerEvent(await sign({ sub: user, rooms: long })), hs256);
    const fits = await authorize(authorizerEvent(await sign({ sub: user, rooms: long.slice(0, 50) })), hs256);

    // Assess
    expect(denied.policyDocument.Statement[0]?.Effect).toBe('Deny');
    expect(denied.context).toBeUndefined();
    expect(fits.policyDocument.Statement[0]?.Effect).toBe('Allow');
    expect(new TextEncoder().encode(JSON.stringify(fits)).length).toBeLessThanOrEqual(
      AUTHORIZER_RESULT_MAX_BYTES,
    );
  });

  it('never answers Allow with more than the quota, whatever the claim', async () => {
    const pattern = fc.stringMatching(/^[A-Za-z0-9_.:*-]{1,128}$/);
    await fc.assert(
      fc.asyncProperty(
        fc.array(pattern, { maxLength: 100 }),
        fc.string({ minLength: 1, maxLength: 128 }),
        async (rooms, sub) => {
          const result = await authorize(authorizerEvent(await sign({ sub, rooms })), hs256);
          if (result.policyDocument.Statement[0]?.Effect === 'Allow') {
            expect(new TextEncoder().encode(JSON.stringify(result)).length).toBeLessThanOrEqual(
              AUTHORIZER_RESULT_MAX_BYTES,
            );
          }
        },
      ),
      { numRuns: 50 },
    );
  });

  it('reads the secret from Secrets Manager once per container', async () => {
    // Prepare
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: SECRET });
    const verify = createVerifier(
      { mode: 'hs256', secretId: 'parley/jwt-signing-secret' },
      {
        secrets: new SecretsManagerClient({ region: 'us-east-1' }),
      },
    );

    // Act
    const first = await authorize(authorizerEvent(await sign({ sub: 'a' })), verify);
    const second = await authorize(authorizerEvent(await sign({ sub: 'b' })), verify);

    // Assess
    expect([first.principalId, second.principalId]).toEqual(['a', 'b']);
    expect(secretsMock.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(secretsMock.commandCalls(GetSecretValueCommand)[0]?.args[0].input.SecretId).toBe(
      'parley/jwt-signing-secret',
    );
  });

  it('throws (500) rather than denying when the secret cannot be read, and fetches again next time', async () => {
    // Prepare
    secretsMock
      .on(GetSecretValueCommand)
      .rejectsOnce(new Error('throttled'))
      .resolves({ SecretString: SECRET });
    const verify = createVerifier(
      { mode: 'hs256', secretId: 'parley/jwt-signing-secret' },
      {
        secrets: new SecretsManagerClient({ region: 'us-east-1' }),
      },
    );
    const token = await sign({ sub: 'a' });

    // Act + Assess
    await expect(authorize(authorizerEvent(token), verify)).rejects.toThrow('throttled');
    expect((await authorize(authorizerEvent(token), verify)).principalId).toBe('a');
  });
});

describe('Handler: authorizer (jwks)', () => {
  let server: Server;
  let config: AuthConfig;
  let privateKey: CryptoKey;
  let ecKey: CryptoKey;

  beforeAll(async () => {
    const rsa = await generateKeyPair('RS256');
    const ec = await generateKeyPair('ES256');
    privateKey = rsa.privateKey;
    ecKey = ec.privateKey;
    const keys: JWK[] = [
      { ...(await exportJWK(rsa.publicKey)), kid: 'rsa', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ec.publicKey)), kid: 'ec', alg: 'ES256', use: 'sig' },
    ];
    server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    config = {
      mode: 'jwks',
      jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json`,
      issuer: 'https://issuer.example',
      audience: 'parley',
    };
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const signRs = (claims: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'rsa' }).sign(privateKey);

  it('allows RS256 and ES256 tokens with the right issuer and audience', async () => {
    // Prepare
    const verify = createVerifier(config, {});
    const claims = { sub: 'carol', iss: 'https://issuer.example', aud: 'parley', exp: now() + 60 };
    const es = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'ec' }).sign(ecKey);

    // Act
    const rs = await authorize(authorizerEvent(await signRs(claims)), verify);
    const ecResult = await authorize(authorizerEvent(es), verify);

    // Assess
    expect(rs).toMatchObject({ principalId: 'carol', context: { user: 'carol' } });
    expect(ecResult).toMatchObject({ principalId: 'carol', context: { user: 'carol' } });
  });

  it.each([
    ['a wrong issuer', { sub: 'c', iss: 'https://evil.example', aud: 'parley' }],
    ['a wrong audience', { sub: 'c', iss: 'https://issuer.example', aud: 'other' }],
    ['no issuer', { sub: 'c', aud: 'parley' }],
  ])('denies a token with %s', async (_name, claims) => {
    // Act
    const result = await authorize(authorizerEvent(await signRs(claims)), createVerifier(config, {}));

    // Assess
    expect(result.policyDocument.Statement[0]?.Effect).toBe('Deny');
  });

  it.each([
    [
      'alg none',
      async () =>
        `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ sub: 'c', iss: 'https://issuer.example', aud: 'parley' })}.`,
    ],
    [
      'signed with a key not in the JWKS',
      async () => {
        const other = await generateKeyPair('RS256');
        return new SignJWT({ sub: 'c', iss: 'https://issuer.example', aud: 'parley' })
          .setProtectedHeader({ alg: 'RS256', kid: 'rsa' })
          .sign(other.privateKey);
      },
    ],
    ['expired', () => signRs({ sub: 'c', iss: 'https://issuer.example', aud: 'parley', exp: now() - 10 })],
    [
      'not yet valid (nbf in the future)',
      () => signRs({ sub: 'c', iss: 'https://issuer.example', aud: 'parley', nbf: now() + 600 }),
    ],
    [
      'signed with an algorithm outside RS256/ES256 (PS256)',
      async () => {
        const pss = await generateKeyPair('PS256');
        return new SignJWT({ sub: 'c', iss: 'https://issuer.example', aud: 'parley' })
          .setProtectedHeader({ alg: 'PS256', kid: 'rsa' })
          .sign(pss.privateKey);
      },
    ],
  ])('denies a jwks token that is %s', async (_name, makeToken) => {
    // Act
    const result = await authorize(authorizerEvent(await makeToken()), createVerifier(config, {}));

    // Assess
    expect(result.policyDocument.Statement[0]?.Effect).toBe('Deny');
    expect(result.context).toBeUndefined();
  });

  it('passes a rooms claim on as JSON text in the context', async () => {
    // Prepare
    const claims = { sub: 'c', iss: 'https://issuer.example', aud: 'parley', rooms: ['team-*', 'lobby'] };

    // Act
    const result = await authorize(authorizerEvent(await signRs(claims)), createVerifier(config, {}));

    // Assess
    expect(result.context).toEqual({ user: 'c', rooms: '["team-*","lobby"]' });
  });

  it('denies an HS256 token in jwks mode (no algorithm confusion)', async () => {
    // Prepare
    const token = await sign({ sub: 'c', iss: 'https://issuer.example', aud: 'parley' });

    // Act
    const result = await authorize(authorizerEvent(token), createVerifier(config, {}));

    // Assess
    expect(result.policyDocument.Statement[0]?.Effect).toBe('Deny');
  });
});

describe('Handler: authorizer configuration', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('reads the mode and its variables, refusing incomplete settings', () => {
    // Prepare
    for (const name of [
      'AUTH_MODE',
      'JWT_SECRET',
      'JWT_SECRET_ID',
      'JWKS_URL',
      'JWT_ISSUER',
      'JWT_AUDIENCE',
    ]) {
      delete process.env[name];
    }

    // Act + Assess
    expect(() => loadAuthConfig()).toThrow(/JWT_SECRET_ID/);
    // The key itself in the environment is no way in: hs256 always reads Secrets Manager.
    process.env.JWT_SECRET = 's';
    expect(() => loadAuthConfig()).toThrow(/JWT_SECRET_ID/);
    process.env.JWT_SECRET_ID = 'parley/jwt-signing-secret';
    expect(loadAuthConfig()).toEqual({ mode: 'hs256', secretId: 'parley/jwt-signing-secret' });
    process.env.AUTH_MODE = 'jwks';
    expect(() => loadAuthConfig()).toThrow(/JWKS_URL/);
    Object.assign(process.env, { JWKS_URL: 'https://x/jwks', JWT_ISSUER: 'i', JWT_AUDIENCE: 'a' });
    expect(loadAuthConfig()).toEqual({ mode: 'jwks', jwksUrl: 'https://x/jwks', issuer: 'i', audience: 'a' });
    process.env.AUTH_MODE = 'basic';
    expect(() => loadAuthConfig()).toThrow(/AUTH_MODE/);
  });
});
