import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { handler as authorizer } from '../../../lambdas/handlers/authorizer.js';
import { handler as connect } from '../../../lambdas/handlers/connect.js';
import { handler as fallback } from '../../../lambdas/handlers/default.js';
import { handler as health } from '../../../lambdas/handlers/health.js';
import { handler as ping } from '../../../lambdas/handlers/ping.js';
import { handler as redrive } from '../../../lambdas/handlers/redrive.js';
import { handler as send } from '../../../lambdas/handlers/send.js';
import { authorizerEvent, connectEvent, lambdaContext, routeEvent } from '../../helpers/events.js';
import { postedFrames } from '../../helpers/unit-deps.js';

// The deployed entry points: middlewares + environment + module clients, with the SDK mocked.
const apiMock = mockClient(ApiGatewayManagementApiClient);
const ddbMock = mockClient(DynamoDBDocumentClient);
const sqsMock = mockClient(SQSClient);
const secretsMock = mockClient(SecretsManagerClient);
const saved = { ...process.env };

beforeAll(() => {
  Object.assign(process.env, {
    TABLE_NAME: 'parley',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'unit',
    AWS_SECRET_ACCESS_KEY: 'unit',
    CONNECTIONS_ENDPOINT: 'https://abc123.execute-api.us-east-1.amazonaws.com/prod',
    MAX_BODY_BYTES: '16',
    AUTH_MODE: 'hs256',
    JWT_SECRET_ID: 'parley/jwt-signing-secret',
    DELIVERY_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/delivery',
    DELIVERY_DLQ_URL: 'https://sqs.us-east-1.amazonaws.com/1/delivery-dlq',
  });
});

afterAll(() => {
  process.env = saved;
});

afterEach(() => {
  apiMock.reset();
  ddbMock.reset();
  sqsMock.reset();
  secretsMock.reset();
});

describe('Entry points', () => {
  it('ping answers pong through @connections and returns 200', async () => {
    // Prepare
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    const result = await ping(routeEvent('ping', { action: 'ping', ref: 'p' }), lambdaContext());

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(postedFrames(apiMock)).toEqual([
      { connectionId: 'conn-1', frame: expect.objectContaining({ type: 'pong', ref: 'p' }) },
    ]);
  });

  it('send refuses a body over MAX_BODY_BYTES with payload_too_large and touches no table', async () => {
    // Prepare
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    const result = await send(
      routeEvent('send', { action: 'send', room: 'r', id: 'i', body: 'x'.repeat(20), ref: 'big' }),
      lambdaContext(),
    );

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(postedFrames(apiMock)).toEqual([
      {
        connectionId: 'conn-1',
        frame: expect.objectContaining({
          type: 'error',
          code: 'payload_too_large',
          ref: 'big',
          action: 'send',
        }),
      },
    ]);
    expect(ddbMock.calls()).toHaveLength(0);
  });

  it('send turns an unexpected failure into an internal error frame, never a raw throw', async () => {
    // Prepare
    apiMock.on(PostToConnectionCommand).resolves({});
    ddbMock.on(GetCommand).resolves({ Item: { pk: 'CONN#conn-1' } });
    ddbMock.on(TransactWriteCommand).rejects(new Error('disk on fire'));

    // Act
    const result = await send(
      routeEvent('send', { action: 'send', room: 'r', id: 'i', body: 1, ref: 's' }),
      lambdaContext(),
    );

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(postedFrames(apiMock)).toEqual([
      {
        connectionId: 'conn-1',
        frame: { type: 'error', code: 'internal', message: 'internal error', ref: 's', action: 'send' },
      },
    ]);
  });

  it('$default answers bad_request for an unknown action', async () => {
    // Prepare
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    const result = await fallback(routeEvent('$default', { action: 'fly' }), lambdaContext());

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(postedFrames(apiMock)[0]?.frame).toMatchObject({
      type: 'error',
      code: 'bad_request',
      action: 'fly',
    });
  });

  it('connect stores the connection', async () => {
    // Prepare
    ddbMock.on(PutCommand).resolves({});
    ddbMock.on(UpdateCommand).resolves({});
    ddbMock.on(QueryCommand).resolves({ Items: [] });

    // Act
    const result = await connect(connectEvent('c-9', 'zoe'), lambdaContext());

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(ddbMock.commandCalls(UpdateCommand)[0]?.args[0].input.Key).toEqual({
      pk: 'USER#zoe',
      sk: 'OPEN#us-east-1',
    });
    expect(ddbMock.commandCalls(PutCommand)[0]?.args[0].input).toMatchObject({
      TableName: 'parley',
      Item: { pk: 'CONN#c-9', user: 'zoe', region: 'us-east-1' },
    });
  });

  it('the authorizer verifies with the secret JWT_SECRET_ID names and throws Unauthorized without a token', async () => {
    // Prepare
    secretsMock
      .on(GetSecretValueCommand, { SecretId: 'parley/jwt-signing-secret' })
      .resolves({ SecretString: 'entry-point-secret-0123456789abcdef' });
    // Every token needs exp (docs/protocol.md, "Tokens").
    const token = await new SignJWT({ sub: 'zoe' })
      .setIssuedAt()
      .setExpirationTime('1h')
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode('entry-point-secret-0123456789abcdef'));

    // Act
    const allowed = await authorizer(authorizerEvent(token), lambdaContext());

    // Assess
    expect(allowed).toMatchObject({ principalId: 'zoe', context: { user: 'zoe' } });
    await expect(authorizer(authorizerEvent(), lambdaContext())).rejects.toThrow('Unauthorized');
  });

  it('health answers 200 from the table named by TABLE_NAME', async () => {
    // Prepare
    ddbMock.on(GetCommand).resolves({});

    // Act
    const result = await health({} as never, lambdaContext());

    // Assess
    expect(result).toMatchObject({ statusCode: 200 });
    expect(ddbMock.commandCalls(GetCommand)[0]?.args[0].input.TableName).toBe('parley');
  });

  it('redrive defaults to the delivery DLQ and the delivery queue from the environment', async () => {
    // Prepare
    sqsMock
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [{ Body: 'job', ReceiptHandle: 'h' }] })
      .resolves({});
    sqsMock.on(SendMessageCommand).resolves({});
    sqsMock.on(DeleteMessageCommand).resolves({});

    // Act
    const result = await redrive({}, lambdaContext());

    // Assess
    expect(result).toEqual({
      kind: 'delivery',
      queueUrl: 'https://sqs.us-east-1.amazonaws.com/1/delivery-dlq',
      received: 1,
      replayed: 1,
      failed: 0,
    });
    expect(sqsMock.commandCalls(SendMessageCommand)[0]?.args[0].input.QueueUrl).toBe(
      'https://sqs.us-east-1.amazonaws.com/1/delivery',
    );
  });
});
