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
import { ContentionError } from '../../../lambdas/shared/errors.js';
import {
  historyPage,
  keys,
  pageBoundary,
  presenceOf,
  storeMessageEventual,
  storeMessageStrong,
  toMessageFrame,
} from '../../../lambdas/shared/store/index.js';
import { NOW, unitDb, unitDeps } from '../../helpers/unit-deps.js';

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

describe('Shared: repository keys and shapes', () => {
  it('builds the keys of docs/data-model.md', () => {
    // Assess
    expect(keys.connection('c')).toEqual({ pk: 'CONN#c', sk: 'META' });
    expect(keys.roomMember('r', 'eu-west-1', 'c')).toEqual({ pk: 'ROOM#r', sk: 'MEMBER#eu-west-1#c' });
    expect(keys.connectionRoom('c', 'r')).toEqual({ pk: 'CONN#c', sk: 'ROOM#r' });
    expect(keys.counter('r', 'global')).toEqual({ pk: 'ROOM#r', sk: 'SEQ#global' });
    expect(keys.claim('r', 'i')).toEqual({ pk: 'ROOM#r', sk: 'ID#i' });
    expect(keys.message('r', 'us-east-1', 42)).toEqual({ pk: 'ROOM#r', sk: 'MSG#us-east-1#000000000042' });
    expect(keys.timeSortKey(1_700_000_000_000, 'us-east-1', 7)).toBe('1700000000000#us-east-1#000000000007');
  });

  it('turns a stored message into a message frame, parsing the body text', () => {
    // Act
    const frame = toMessageFrame({
      room: 'r',
      id: 'i',
      origin: 'o',
      seq: 3,
      from: 'u',
      body: '{"a":[1,null]}',
      ts: 5,
      region: 'o',
    });

    // Assess
    expect(frame).toEqual({
      type: 'message',
      room: 'r',
      id: 'i',
      origin: 'o',
      seq: 3,
      from: 'u',
      body: { a: [1, null] },
      ts: 5,
    });
  });

  it('lists presence once per user and region, sorted', () => {
    // Act
    const members = presenceOf([
      { room: 'r', user: 'bob', region: 'us-east-1', connectionId: '1', joinedAt: 0 },
      { room: 'r', user: 'amy', region: 'eu-west-1', connectionId: '2', joinedAt: 0 },
      { room: 'r', user: 'bob', region: 'us-east-1', connectionId: '3', joinedAt: 0 },
      { room: 'r', user: 'bob', region: 'eu-west-1', connectionId: '4', joinedAt: 0 },
    ]);

    // Assess
    expect(members).toEqual([
      { user: 'amy', region: 'eu-west-1' },
      { user: 'bob', region: 'eu-west-1' },
      { user: 'bob', region: 'us-east-1' },
    ]);
  });

  it('history queries byTime newest first below before, then returns oldest first', async () => {
    // Prepare
    ddbMock.on(QueryCommand).resolves({
      Items: [
        { id: 'newer', ts: 1_700_000_000_400 },
        { id: 'older', ts: 1_700_000_000_300 },
        { id: 'beyond the page', ts: 1_700_000_000_200 },
      ],
    });

    // Act
    const page = await historyPage(unitDb(), 'r', { limit: 2, before: 1_700_000_000_500 });

    // Assess
    expect(page.map((item) => item.id)).toEqual(['older', 'newer']);
    expect(ddbMock.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      IndexName: 'byTime',
      KeyConditionExpression: 'gpk = :gpk AND gsk < :before',
      ExpressionAttributeValues: { ':gpk': 'ROOM#r', ':before': '1700000000500' },
      ScanIndexForward: false,
      Limit: 3,
    });
  });
});

describe('Shared: repository eventual send', () => {
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

describe('Shared: repository strong send', () => {
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

describe('Repository: history page boundaries', () => {
  const at = (ts: number, id: string) => ({ ts, id });

  it('keeps a full page whose oldest ts differs from the next message', () => {
    expect(pageBoundary([at(5, 'a'), at(4, 'b'), at(3, 'c')], 2).map((m) => m.id)).toEqual(['a', 'b']);
  });

  it('ends the page before a ts group that continues past it', () => {
    expect(pageBoundary([at(5, 'a'), at(4, 'b'), at(4, 'c')], 2).map((m) => m.id)).toEqual(['a']);
  });

  it('returns a page that is one ts group whole, since it cannot be cut', () => {
    expect(pageBoundary([at(4, 'a'), at(4, 'b'), at(4, 'c')], 2).map((m) => m.id)).toEqual(['a', 'b']);
  });

  it('returns a short last page as it is', () => {
    expect(pageBoundary([at(4, 'a'), at(4, 'b')], 2).map((m) => m.id)).toEqual(['a', 'b']);
    expect(pageBoundary([], 2)).toEqual([]);
  });
});
