import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
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
import { ContentionError } from '../../../../lambdas/shared/errors.js';
import {
  keys,
  storeMessage,
  storeMessageEventual,
  storeMessageStrong,
} from '../../../../lambdas/shared/store/index.js';
import { NOW, unitDb } from '../../../helpers/unit-deps.js';

const ddbMock = mockClient(DynamoDBDocumentClient);

afterEach(() => {
  ddbMock.reset();
});

const message = { room: 'r', id: 'm1', from: 'alice', body: { text: 'hi' }, region: 'us-east-1' };
const options = { retentionDays: 30, now: () => NOW, sleep: () => Promise.resolve() };
const canceled = (...codes: string[]) =>
  new TransactionCanceledException({
    message: 'Transaction cancelled',
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });

describe('Store (DynamoDB): storeMessage', () => {
  it('stores in one transaction in eventual mode', async () => {
    // Prepare
    ddbMock.on(GetCommand).resolves({});
    ddbMock.on(TransactWriteCommand).resolves({});

    // Act
    const outcome = await storeMessage(unitDb(), message, { ...options, consistency: 'eventual' });

    // Assess
    expect(outcome.ack).toEqual({ origin: 'us-east-1', seq: 1, ts: NOW });
    expect(ddbMock.commandCalls(TransactWriteCommand)).toHaveLength(1);
  });

  it('uses the global origin and conditional writes, no transaction, in strong mode', async () => {
    // Prepare
    ddbMock.on(GetCommand).resolves({});
    ddbMock.on(PutCommand).resolves({});
    ddbMock.on(UpdateCommand).resolves({});

    // Act
    const outcome = await storeMessage(unitDb(), message, { ...options, consistency: 'strong' });

    // Assess
    expect(outcome.ack).toEqual({ origin: 'global', seq: 1, ts: NOW });
    expect(ddbMock.commandCalls(TransactWriteCommand)).toHaveLength(0);
    expect(ddbMock.commandCalls(PutCommand).map((call) => call.args[0].input.ConditionExpression)).toEqual([
      'attribute_not_exists(pk)',
      'attribute_not_exists(pk)',
    ]);
  });

  it('reads the claim of a taken id and answers its ack, with no second transaction', async () => {
    // Prepare
    ddbMock.on(GetCommand).resolves({});
    ddbMock
      .on(GetCommand, { Key: keys.claim('r', 'm1') })
      .resolves({ Item: { origin: 'us-east-1', seq: 7, ts: 123 } });
    ddbMock.on(TransactWriteCommand).rejects(canceled('ConditionalCheckFailed', 'None', 'None'));

    // Act
    const outcome = await storeMessage(unitDb(), message, { ...options, consistency: 'eventual' });

    // Assess
    expect(outcome).toEqual({ duplicate: true, ack: { origin: 'us-east-1', seq: 7, ts: 123 } });
    expect(ddbMock.commandCalls(TransactWriteCommand)).toHaveLength(1);
    expect(ddbMock.commandCalls(QueryCommand)).toHaveLength(0);
  });
});

describe('Store (DynamoDB): eventual send', () => {
  it('claims, advances the counter from n and stores n + 1 in one transaction', async () => {
    // Prepare
    ddbMock.on(GetCommand).resolves({ Item: { seq: 4 } });
    ddbMock.on(TransactWriteCommand).resolves({});

    // Act
    const outcome = await storeMessageEventual(unitDb(), message, options);

    // Assess
    expect(outcome).toMatchObject({ duplicate: false, ack: { origin: 'us-east-1', seq: 5, ts: NOW } });
    const items = ddbMock.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items[0]?.Put).toMatchObject({
      Item: { pk: 'ROOM#r', sk: 'ID#m1', origin: 'us-east-1', seq: 5, ts: NOW },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    expect(items[1]?.Update).toMatchObject({
      Key: { pk: 'ROOM#r', sk: 'SEQ#us-east-1' },
      ConditionExpression: 'seq = :current',
      ExpressionAttributeValues: { ':next': 5, ':current': 4 },
    });
    expect(items[2]?.Put).toMatchObject({
      Item: { pk: 'ROOM#r', sk: 'MSG#us-east-1#000000000005', body: '{"text":"hi"}', gpk: 'ROOM#r' },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
  });

  it('creates the counter on the first message of an origin', async () => {
    // Prepare
    ddbMock.on(GetCommand).resolves({});
    ddbMock.on(TransactWriteCommand).resolves({});

    // Act
    const outcome = await storeMessageEventual(unitDb(), message, options);

    // Assess
    expect(outcome.ack.seq).toBe(1);
    const update = ddbMock.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems?.[1]?.Update;
    expect(update?.ConditionExpression).toBe('attribute_not_exists(pk)');
  });

  it('answers a taken id with the first ack and stores nothing new', async () => {
    // Prepare
    ddbMock.on(GetCommand, { Key: keys.counter('r', 'us-east-1') }).resolves({ Item: { seq: 9 } });
    ddbMock
      .on(GetCommand, { Key: keys.claim('r', 'm1') })
      .resolves({ Item: { origin: 'eu-west-1', seq: 3, ts: 77 } });
    ddbMock.on(TransactWriteCommand).rejects(canceled('ConditionalCheckFailed', 'None', 'None'));

    // Act
    const outcome = await storeMessageEventual(unitDb(), message, options);

    // Assess
    expect(outcome).toEqual({ duplicate: true, ack: { origin: 'eu-west-1', seq: 3, ts: 77 } });
    expect(ddbMock.commandCalls(TransactWriteCommand)).toHaveLength(1);
  });

  it('re-reads the counter and retries when another send won the seq', async () => {
    // Prepare
    ddbMock
      .on(GetCommand)
      .resolvesOnce({ Item: { seq: 1 } })
      .resolves({ Item: { seq: 2 } });
    ddbMock
      .on(TransactWriteCommand)
      .rejectsOnce(canceled('None', 'ConditionalCheckFailed', 'None'))
      .resolves({});

    // Act
    const outcome = await storeMessageEventual(unitDb(), message, options);

    // Assess
    expect(outcome.ack.seq).toBe(3);
    expect(ddbMock.commandCalls(TransactWriteCommand)).toHaveLength(2);
  });

  it('gives up with rate_limited after the bounded attempts', async () => {
    // Prepare
    ddbMock.on(GetCommand).resolves({ Item: { seq: 1 } });
    ddbMock.on(TransactWriteCommand).rejects(canceled('None', 'TransactionConflict', 'None'));

    // Act + Assess
    await expect(
      storeMessageEventual(unitDb(), message, { ...options, maxAttempts: 4 }),
    ).rejects.toBeInstanceOf(ContentionError);
    expect(ddbMock.commandCalls(TransactWriteCommand)).toHaveLength(4);
  });

  it('rethrows errors that are not transaction cancellations', async () => {
    // Prepare
    ddbMock.on(GetCommand).resolves({});
    ddbMock.on(TransactWriteCommand).rejects(new Error('network'));

    // Act + Assess
    await expect(storeMessageEventual(unitDb(), message, options)).rejects.toThrow('network');
  });
});

describe('Store (DynamoDB): strong send', () => {
  const conflict = () => Object.assign(new Error('conflict'), { name: 'ReplicatedWriteConflictException' });

  it('claims, takes slot n + 1, raises the counter and records the seq, retrying replicated write conflicts', async () => {
    // Prepare
    ddbMock.on(PutCommand).resolves({});
    ddbMock
      .on(PutCommand, { Item: { sk: 'ID#m1' } })
      .rejectsOnce(conflict())
      .resolves({});
    ddbMock.on(GetCommand).resolves({ Item: { seq: 7 } });
    ddbMock.on(UpdateCommand).resolves({});

    // Act
    const outcome = await storeMessageStrong(unitDb(), message, options);

    // Assess
    expect(outcome).toMatchObject({ duplicate: false, ack: { origin: 'global', seq: 8, ts: NOW } });
    const puts = ddbMock.commandCalls(PutCommand).map((call) => call.args[0].input.Item?.sk);
    expect(puts).toEqual(['ID#m1', 'ID#m1', 'MSG#global#000000000008']);
    const updates = ddbMock.commandCalls(UpdateCommand).map((call) => call.args[0].input);
    expect(updates[0]).toMatchObject({
      Key: { sk: 'SEQ#global' },
      ConditionExpression: 'attribute_not_exists(seq) OR seq < :seq',
      ExpressionAttributeValues: { ':seq': 8 },
    });
    expect(updates[1]).toMatchObject({
      Key: { sk: 'ID#m1' },
      ExpressionAttributeValues: { ':seq': 8, ':origin': 'global' },
    });
  });

  it('moves to the next slot when one is taken', async () => {
    // Prepare
    const taken = new ConditionalCheckFailedException({ message: 'taken', $metadata: {} });
    ddbMock.on(PutCommand).resolves({});
    ddbMock.on(PutCommand, { Item: { sk: 'MSG#global#000000000001' } }).rejects(taken);
    ddbMock.on(GetCommand).resolves({});
    ddbMock.on(UpdateCommand).resolves({});

    // Act
    const outcome = await storeMessageStrong(unitDb(), message, options);

    // Assess
    expect(outcome.ack.seq).toBe(2);
  });

  it('answers the first ack when the claim already carries a seq', async () => {
    // Prepare
    const taken = new ConditionalCheckFailedException({ message: 'taken', $metadata: {} });
    ddbMock.on(PutCommand).rejects(taken);
    ddbMock.on(GetCommand).resolves({ Item: { origin: 'global', seq: 12, ts: 99 } });

    // Act
    const outcome = await storeMessageStrong(unitDb(), message, options);

    // Assess
    expect(outcome).toEqual({ duplicate: true, ack: { origin: 'global', seq: 12, ts: 99 } });
    expect(ddbMock.commandCalls(UpdateCommand)).toHaveLength(0);
  });
});
