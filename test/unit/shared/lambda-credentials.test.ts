import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CredentialsProviderError } from '@smithy/core/config';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultProvider } from '../../../lambdas/shared/lambda-credentials.js';

const CREDENTIAL_VARIABLES = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_CREDENTIAL_EXPIRATION',
  'AWS_PROFILE',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
];

const saved = { ...process.env };
const servers: Server[] = [];

beforeEach(() => {
  for (const name of CREDENTIAL_VARIABLES) delete process.env[name];
});

afterEach(async () => {
  process.env = { ...saved };
  await Promise.all(servers.splice(0).map((server) => new Promise((done) => server.close(done))));
});

/** A container credentials endpoint on 127.0.0.1 that answers `reply()` and records each request. */
const startEndpoint = async (
  reply: () => { status: number; body: unknown },
): Promise<{ url: string; requests: IncomingHttpHeaders[] }> => {
  const requests: IncomingHttpHeaders[] = [];
  const server = createServer((request, response) => {
    requests.push(request.headers);
    const { status, body } = reply();
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  servers.push(server);
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/credentials`, requests };
};

const roleCredentials = (key: string, expiresInMs: number) => ({
  AccessKeyId: key,
  SecretAccessKey: `${key}-secret`,
  Token: `${key}-token`,
  Expiration: new Date(Date.now() + expiresInMs).toISOString(),
});

describe('Shared: lambda credentials', () => {
  it("returns Lambda's environment credentials and keeps them", async () => {
    // Prepare
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: 'ASIAENV',
      AWS_SECRET_ACCESS_KEY: 'env-secret',
      AWS_SESSION_TOKEN: 'env-token',
    });
    const provider = defaultProvider();

    // Act
    const first = await provider();
    process.env.AWS_ACCESS_KEY_ID = 'ASIAROTATED';
    const second = await provider();
    const refreshed = await provider({ forceRefresh: true });

    // Assess
    expect(first).toMatchObject({
      accessKeyId: 'ASIAENV',
      secretAccessKey: 'env-secret',
      sessionToken: 'env-token',
    });
    expect(first.expiration).toBeUndefined();
    expect(second).toBe(first);
    expect(refreshed.accessKeyId).toBe('ASIAROTATED');
  });

  it('is what an SDK client resolves its credentials with', async () => {
    // Prepare
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'ASIACLIENT', AWS_SECRET_ACCESS_KEY: 'client-secret' });
    const client = new DynamoDBClient({ region: 'us-east-1', credentialDefaultProvider: defaultProvider });

    // Act
    const credentials = await client.config.credentials();

    // Assess
    expect(credentials).toMatchObject({ accessKeyId: 'ASIACLIENT', secretAccessKey: 'client-secret' });
    client.destroy();
  });

  it('fails with a message naming the expected sources when neither is set', async () => {
    // Prepare
    process.env.AWS_PROFILE = 'someone';
    const provider = defaultProvider();

    // Act
    const failure = await provider().catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(CredentialsProviderError);
    const { message, tryNextLink } = failure as CredentialsProviderError;
    expect(message).toMatch(/the handler expects the credentials Lambda puts in its environment/);
    expect(message).toMatch(/AWS_ACCESS_KEY_ID.*AWS_CONTAINER_CREDENTIALS_FULL_URI/);
    expect(tryNextLink).toBe(false);
  });

  it('reads a container credentials endpoint, with its authorization token, when the environment has none', async () => {
    // Prepare
    const endpoint = await startEndpoint(() => ({
      status: 200,
      body: roleCredentials('ASIAHTTP', 3_600_000),
    }));
    Object.assign(process.env, {
      AWS_CONTAINER_CREDENTIALS_FULL_URI: endpoint.url,
      AWS_CONTAINER_AUTHORIZATION_TOKEN: 'container-token',
    });
    const provider = defaultProvider();

    // Act
    const first = await provider();
    const second = await provider();

    // Assess
    expect(first).toMatchObject({
      accessKeyId: 'ASIAHTTP',
      secretAccessKey: 'ASIAHTTP-secret',
      sessionToken: 'ASIAHTTP-token',
    });
    expect(first.expiration).toBeInstanceOf(Date);
    expect(second).toBe(first);
    expect(endpoint.requests).toHaveLength(1);
    expect(endpoint.requests[0]?.authorization).toBe('container-token');
  });

  it('prefers the environment to the container endpoint', async () => {
    // Prepare
    const endpoint = await startEndpoint(() => ({
      status: 200,
      body: roleCredentials('ASIAHTTP', 3_600_000),
    }));
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: 'ASIAENV',
      AWS_SECRET_ACCESS_KEY: 'env-secret',
      AWS_CONTAINER_CREDENTIALS_FULL_URI: endpoint.url,
    });

    // Act
    const credentials = await defaultProvider()();

    // Assess
    expect(credentials.accessKeyId).toBe('ASIAENV');
    expect(endpoint.requests).toHaveLength(0);
  });

  it('refreshes credentials in the background within five minutes of their expiration', async () => {
    // Prepare
    let served = 0;
    const endpoint = await startEndpoint(() => {
      served += 1;
      return { status: 200, body: roleCredentials(`ASIAHTTP${served}`, 120_000) };
    });
    process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = endpoint.url;
    const provider = defaultProvider();

    // Act
    const first = await provider();
    const stillValid = await provider();
    await expect.poll(() => endpoint.requests.length).toBe(2);
    const refreshed = await provider();

    // Assess
    expect(first.accessKeyId).toBe('ASIAHTTP1');
    expect(stillValid).toBe(first);
    expect(refreshed.accessKeyId).toBe('ASIAHTTP2');
  });

  it('waits for fresh credentials once the held ones have expired', async () => {
    // Prepare
    let served = 0;
    const endpoint = await startEndpoint(() => {
      served += 1;
      return { status: 200, body: roleCredentials(`ASIAHTTP${served}`, -1_000) };
    });
    process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = endpoint.url;
    const provider = defaultProvider();

    // Act
    const first = await provider();
    const second = await provider();

    // Assess
    expect(first.accessKeyId).toBe('ASIAHTTP1');
    expect(second.accessKeyId).toBe('ASIAHTTP2');
  });

  it('resolves once for concurrent callers', async () => {
    // Prepare
    const endpoint = await startEndpoint(() => ({
      status: 200,
      body: roleCredentials('ASIAHTTP', 3_600_000),
    }));
    process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = endpoint.url;
    const provider = defaultProvider();

    // Act
    const all = await Promise.all([provider(), provider(), provider()]);

    // Assess
    expect(new Set(all).size).toBe(1);
    expect(endpoint.requests).toHaveLength(1);
  });

  it("reports a failing container endpoint's own error", async () => {
    // Prepare
    const endpoint = await startEndpoint(() => ({ status: 500, body: { Code: 'Broken' } }));
    process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = endpoint.url;

    // Act
    const failure = await defaultProvider({ maxRetries: 0 })().catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(CredentialsProviderError);
    expect((failure as Error).message).toMatch(/status: 500/);
  });
});
