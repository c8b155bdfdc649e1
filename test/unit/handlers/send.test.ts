import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { send } from '../../../lambdas/handlers/send.js';
import { ForbiddenError } from '../../../lambdas/shared/errors.js';
import { keys } from '../../../lambdas/shared/store/index.js';
import { NOW, postedFrames, unitDeps } from '../../helpers/unit-deps.js';

const apiMock = mockClient(ApiGatewayManagementApiClient);
const ddbMock = mockClient(DynamoDBDocumentClient);
const sqsMock = mockClient(SQSClient);

afterEach(() => {
  apiMock.reset();
  ddbMock.reset();
  sqsMock.reset();
});

const caller = { connectionId: 'c-alice', user: 'alice' };
const frame = { action: 'send' as const, room: 'r', id: 'm1', body: { text: 'hi' }, ref: 'ref-1' };
const members = (...connectionIds: string[]) => ({
  Items: connectionIds.map((connectionId) => ({ connectionId, user: 'u', region: 'us-east-1', room: 'r' })),
});

const joined = () =>
  ddbMock
    .on(GetCommand, { Key: keys.connectionRoom('c-alice', 'r') })
    .resolves({ Item: { pk: 'CONN#c-alice' } });

describe('Handler: send', () => {
  it('refuses a connection that has not joined the room, writing nothing', async () => {
    // Prepare
    ddbMock.on(GetCommand).resolves({});

    // Act + Assess
    await expect(send(unitDeps(), caller, frame)).rejects.toBeInstanceOf(ForbiddenError);
    expect(ddbMock.commandCalls(TransactWriteCommand)).toHaveLength(0);
    expect(ddbMock.commandCalls(PutCommand)).toHaveLength(0);
  });

  it('acks with the echoed ref, then delivers the message to local members including the sender', async () => {
    // Prepare
    ddbMock.on(GetCommand).resolves({});
    joined();
    ddbMock.on(TransactWriteCommand).resolves({});
    ddbMock.on(QueryCommand).resolves(members('c-alice', 'c-bob'));
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    await send(unitDeps(), caller, frame);

    // Assess
    const message = {
      type: 'message',
      room: 'r',
      id: 'm1',
      origin: 'us-east-1',
      seq: 1,
      from: 'alice',
      body: { text: 'hi' },
      ts: NOW,
    };
    expect(postedFrames(apiMock)).toEqual([
      {
        connectionId: 'c-alice',
        frame: { type: 'ack', ref: 'ref-1', room: 'r', id: 'm1', origin: 'us-east-1', seq: 1, ts: NOW },
      },
      { connectionId: 'c-alice', frame: message },
      { connectionId: 'c-bob', frame: message },
    ]);
  });

  it('answers a repeated id with the first ack and delivers nothing', async () => {
    // Prepare
    ddbMock.on(GetCommand).resolves({});
    joined();
    ddbMock
      .on(GetCommand, { Key: keys.claim('r', 'm1') })
      .resolves({ Item: { origin: 'us-east-1', seq: 7, ts: 123 } });
    ddbMock.on(TransactWriteCommand).rejects(
      new TransactionCanceledException({
        message: 'cancelled',
        $metadata: {},
        CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }, { Code: 'None' }],
      }),
    );
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    const outcome = await send(unitDeps(), caller, frame);

    // Assess
    expect(outcome.duplicate).toBe(true);
    expect(postedFrames(apiMock)).toEqual([
      {
        connectionId: 'c-alice',
        frame: { type: 'ack', ref: 'ref-1', room: 'r', id: 'm1', origin: 'us-east-1', seq: 7, ts: 123 },
      },
    ]);
    expect(ddbMock.commandCalls(QueryCommand)).toHaveLength(0);
  });

  it('uses the global origin and conditional writes in strong mode', async () => {
    // Prepare
    ddbMock.on(GetCommand).resolves({});
    joined();
    ddbMock.on(PutCommand).resolves({});
    ddbMock.on(UpdateCommand).resolves({});
    ddbMock.on(QueryCommand).resolves(members());
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    const outcome = await send(unitDeps({ consistency: 'strong' }), caller, frame);

    // Assess
    expect(outcome.ack).toEqual({ origin: 'global', seq: 1, ts: NOW });
    expect(ddbMock.commandCalls(TransactWriteCommand)).toHaveLength(0);
    expect(postedFrames(apiMock)[0]?.frame).toMatchObject({ type: 'ack', origin: 'global', seq: 1 });
  });

  it('puts rooms above FANOUT_INLINE_MAX on the delivery queue instead of posting inline', async () => {
    // Prepare
    ddbMock.on(GetCommand).resolves({});
    joined();
    ddbMock.on(TransactWriteCommand).resolves({});
    ddbMock.on(QueryCommand).resolves(members('c1', 'c2', 'c3'));
    apiMock.on(PostToConnectionCommand).resolves({});
    sqsMock.on(SendMessageBatchCommand).resolves({ Failed: [] });

    // Act
    await send(unitDeps({ fanoutInlineMax: 2 }), caller, frame);

    // Assess
    expect(postedFrames(apiMock).map((post) => post.frame.type)).toEqual(['ack']);
    const entries = sqsMock.commandCalls(SendMessageBatchCommand)[0]?.args[0].input.Entries ?? [];
    expect(entries.map((entry) => JSON.parse(entry.MessageBody ?? '').connectionIds)).toEqual([
      ['c1', 'c2', 'c3'],
    ]);
  });

  it('takes the sender from the connection item when the authorizer context is absent', async () => {
    // Prepare
    ddbMock.on(GetCommand).resolves({});
    joined();
    ddbMock.on(GetCommand, { Key: keys.connection('c-alice') }).resolves({ Item: { user: 'stored-alice' } });
    ddbMock.on(TransactWriteCommand).resolves({});
    ddbMock.on(QueryCommand).resolves(members());
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    const outcome = await send(unitDeps(), { connectionId: 'c-alice', user: undefined }, frame);

    // Assess
    expect(outcome.duplicate === false && outcome.message.from).toBe('stored-alice');
  });
});
