import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AUTHORIZER_RESULT_MAX_BYTES, authorize } from '../../../lambdas/shared/auth.js';
import { type AuthConfig, createVerifier, loadAuthConfig } from '../../../lambdas/shared/tokens.js';
import { authorizerEvent } from '../../helpers/events.js';

const SECRET = 'unit-test-secret-of-enough-length!';
const secretKey = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);
const hs256 = createVerifier({ mode: 'hs256', secret: SECRET }, {});
const secretsMock = mockClient(SecretsManagerClient);

/** An HS256 token; `iat` and a one-hour `exp` unless the claims set their own (`exp: undefined`: none). */
const sign = (claims: Record<string, unknown>, key: Uint8Array = secretKey) =>
  new SignJWT(
    Object.fromEntries(
      Object.entries({ iat: now(), exp: now() + 3_600, ...claims }).filter(
        ([, value]) => value !== undefined,
      ),
    ),
  )
    .setProtectedHeader({ alg: 'HS256' })
    .sign(key);

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
    // Expired past the 60 s of clock skew the protocol allows.
    ['expired', () => sign({ sub: 'alice', iat: now() - 600, exp: now() - 120 })],
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
    new SignJWT({ iat: now(), exp: now() + 3_600, ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: 'rsa' })
      .sign(privateKey);

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
    [
      'expired',
      () =>
        signRs({
          sub: 'c',
          iss: 'https://issuer.example',
          aud: 'parley',
          iat: now() - 600,
          exp: now() - 120,
        }),
    ],
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
      'JWT_AUDIENCE_CLAIM',
      'MAX_TOKEN_LIFETIME_SECONDS',
    ]) {
      delete process.env[name];
    }

    // Act + Assess
    expect(() => loadAuthConfig()).toThrow(/JWT_SECRET_ID/);
    // The key itself in the environment is no way in: hs256 always reads Secrets Manager.
    process.env.JWT_SECRET = 's';
    expect(() => loadAuthConfig()).toThrow(/JWT_SECRET_ID/);
    process.env.JWT_SECRET_ID = 'parley/jwt-signing-secret';
    const rules = { audienceClaim: 'aud', maxLifetimeSeconds: 86_400 };
    expect(loadAuthConfig()).toEqual({ ...rules, mode: 'hs256', secretId: 'parley/jwt-signing-secret' });
    process.env.AUTH_MODE = 'jwks';
    expect(() => loadAuthConfig()).toThrow(/JWKS_URL/);
    Object.assign(process.env, { JWKS_URL: 'https://x/jwks', JWT_ISSUER: 'i', JWT_AUDIENCE: 'a' });
    expect(loadAuthConfig()).toEqual({
      ...rules,
      mode: 'jwks',
      jwksUrl: 'https://x/jwks',
      issuer: 'i',
      audience: 'a',
    });
    process.env.AUTH_MODE = 'hs256';
    Object.assign(process.env, { MAX_TOKEN_LIFETIME_SECONDS: '3600', JWT_AUDIENCE_CLAIM: 'client_id' });
    expect(loadAuthConfig()).toMatchObject({
      issuer: 'i',
      audience: 'a',
      audienceClaim: 'client_id',
      maxLifetimeSeconds: 3_600,
    });
    process.env.AUTH_MODE = 'basic';
    expect(() => loadAuthConfig()).toThrow(/AUTH_MODE/);
  });
});

describe('Handler: authorizer, token lifetimes and subjects (docs/protocol.md, "Tokens")', () => {
  const deny = async (claims: Record<string, unknown>, verify = hs256) =>
    (await authorize(authorizerEvent(await sign(claims)), verify)).policyDocument.Statement[0]?.Effect;

  it.each([
    ['no exp', { sub: 'a', exp: undefined }],
    ['an exp in 2100', { sub: 'a', exp: 4_102_444_800 }],
    ['a lifetime of a day and a minute', { sub: 'a', iat: now(), exp: now() + 86_460 }],
    ['no iat and a day and two minutes left', { sub: 'a', iat: undefined, exp: now() + 86_520 }],
    ['an nbf two minutes ahead', { sub: 'a', nbf: now() + 120 }],
    ['an iat two minutes ahead', { sub: 'a', iat: now() + 120, exp: now() + 600 }],
    ['an exp two minutes past', { sub: 'a', iat: now() - 600, exp: now() - 120 }],
    ['a sub with a bidirectional override and a NUL', { sub: 'admin\u202e\u0000' }],
    ['a sub with a line separator', { sub: 'a\u2028b' }],
    ['a sub with a lone surrogate', { sub: 'a\ud800' }],
    ['an empty sub', { sub: '' }],
    ['a sub of 129 characters', { sub: 'x'.repeat(129) }],
  ])('denies a token with %s', async (_what, claims) => {
    expect(await deny(claims)).toBe('Deny');
  });

  it.each([
    ['a lifetime of exactly a day', { sub: 'a', iat: now(), exp: now() + 86_400 }],
    ['no iat and a day left', { sub: 'a', iat: undefined, exp: now() + 86_400 }],
    ['an nbf within the 60 s skew', { sub: 'a', nbf: now() + 30 }],
    ['an exp 30 s past, within the skew', { sub: 'a', iat: now() - 600, exp: now() - 30 }],
    ['a sub of 128 characters outside the BMP', { sub: '\u{1F600}'.repeat(128) }],
    ['a sub with accents and spaces', { sub: 'Zoë Ångström' }],
  ])('allows a token with %s', async (_what, claims) => {
    expect(await deny(claims)).toBe('Allow');
  });

  it('applies a configured lifetime', async () => {
    const short = createVerifier({ mode: 'hs256', secret: SECRET, maxLifetimeSeconds: 600 }, {});
    expect(await deny({ sub: 'a', iat: now(), exp: now() + 601 }, short)).toBe('Deny');
    expect(await deny({ sub: 'a', iat: now(), exp: now() + 600 }, short)).toBe('Allow');
  });

  it('in hs256 mode requires a configured issuer and audience, and only then', async () => {
    const strict = createVerifier(
      { mode: 'hs256', secret: SECRET, issuer: 'https://app.example', audience: 'chat' },
      {},
    );
    expect(await deny({ sub: 'a' }, strict)).toBe('Deny');
    expect(await deny({ sub: 'a', iss: 'https://app.example' }, strict)).toBe('Deny');
    expect(await deny({ sub: 'a', iss: 'https://evil.example', aud: 'chat' }, strict)).toBe('Deny');
    expect(await deny({ sub: 'a', iss: 'https://app.example', aud: 'chat' }, strict)).toBe('Allow');
    expect(await deny({ sub: 'a', iss: 'https://evil.example', aud: 'other' })).toBe('Allow');
  });

  it('reads the audience from a configured claim', async () => {
    const cognito = createVerifier(
      { mode: 'hs256', secret: SECRET, audience: 'app-client', audienceClaim: 'client_id' },
      {},
    );
    expect(await deny({ sub: 'a', client_id: 'app-client' }, cognito)).toBe('Allow');
    expect(await deny({ sub: 'a', client_id: 'other', aud: 'app-client' }, cognito)).toBe('Deny');
  });
});

describe('Handler: authorizer, a JWKS endpoint that fails', () => {
  const servers: Server[] = [];
  afterAll(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  /** A JWKS URL whose server answers every request with `answer` (or never, for `hang`). */
  const jwksAt = async (answer: 'status 500' | 'html' | 'hang'): Promise<AuthConfig> => {
    const server = createServer((_request, response) => {
      if (answer === 'status 500') response.writeHead(500).end('{"message":"Internal Server Error"}');
      if (answer === 'html')
        response.writeHead(200, { 'content-type': 'text/html' }).end('<html>gateway</html>');
      // hang: never answers.
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return {
      mode: 'jwks',
      jwksUrl: `http://127.0.0.1:${port}/jwks`,
      issuer: 'https://issuer.example',
      audience: 'parley',
    };
  };

  it.each(['status 500', 'html', 'hang'] as const)(
    "answers %s with a failure (500), not a Deny, within the authorizer's 5 s timeout",
    async (answer) => {
      // Prepare
      const { privateKey } = await generateKeyPair('RS256');
      const token = await new SignJWT({
        sub: 'c',
        iss: 'https://issuer.example',
        aud: 'parley',
        iat: now(),
        exp: now() + 60,
      })
        .setProtectedHeader({ alg: 'RS256', kid: 'rsa' })
        .sign(privateKey);
      const verify = createVerifier(await jwksAt(answer), {});

      // Act
      const outcome = await authorize(authorizerEvent(token), verify).then(
        (result) => ({ result }),
        (error: unknown) => ({ error }),
      );

      // Assess: a failure, which API Gateway answers 500; a hanging endpoint is given up on after
      // JWKS_TIMEOUT_MS, which test/infra checks is below the authorizer function's timeout.
      expect(outcome).not.toHaveProperty('result');
      if (answer === 'hang') expect((outcome as { error: Error }).error.name).toBe('JWKSTimeout');
    },
  );
});
