import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  collect,
  historyPage,
  messagesAfter,
  pageBoundary,
  roomCursor,
  toMessageFrame,
} from '../../../../lambdas/shared/store/index.js';
import { unitDb } from '../../../helpers/unit-deps.js';

const ddbMock = mockClient(DynamoDBDocumentClient);

afterEach(() => {
  ddbMock.reset();
});

const storedMessage = (origin: string, seq: number) => ({
  room: 'r',
  id: `${origin}-${seq}`,
  origin,
  seq,
  from: 'bob',
  body: '"x"',
  ts: seq,
  region: origin,
});

describe('Store (DynamoDB): messages', () => {
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

  it('history asks for one more than the page, to see whether the page ends inside a ts group', async () => {
    // Prepare
    ddbMock
      .on(QueryCommand)
      .resolves({ Items: [storedMessage('us-east-1', 2), storedMessage('us-east-1', 1)] });

    // Act
    const page = await historyPage(unitDb(), 'r', { limit: 50 });

    // Assess
    expect(ddbMock.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      KeyConditionExpression: 'gpk = :gpk',
      Limit: 51,
    });
    expect(page.map((item) => item.seq)).toEqual([1, 2]);
  });

  it('replays one origin after a seq with a strongly consistent range query, across pages', async () => {
    // Prepare
    ddbMock
      .on(QueryCommand, {
        ConsistentRead: true,
        ExpressionAttributeValues: {
          ':pk': 'ROOM#r',
          ':from': 'MSG#us-east-1#000000000002',
          ':to': 'MSG#us-east-1#999999999999',
        },
      })
      .resolvesOnce({ Items: [storedMessage('us-east-1', 2)], LastEvaluatedKey: { pk: 'ROOM#r', sk: 'x' } })
      .resolvesOnce({ Items: [storedMessage('us-east-1', 3)] });

    // Act
    const items = await collect(messagesAfter(unitDb(), 'r', 'us-east-1', 1));

    // Assess
    expect(items.map((item) => item.seq)).toEqual([2, 3]);
    const inputs = ddbMock.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(inputs.map((input) => input.KeyConditionExpression)).toEqual([
      'pk = :pk AND sk BETWEEN :from AND :to',
      'pk = :pk AND sk BETWEEN :from AND :to',
    ]);
    expect(inputs[1]?.ExclusiveStartKey).toEqual({ pk: 'ROOM#r', sk: 'x' });
  });

  it("reads the cursor from the room's counters and each origin's newest message", async () => {
    // Prepare
    ddbMock
      .on(QueryCommand, { ExpressionAttributeValues: { ':pk': 'ROOM#r', ':prefix': 'SEQ#' } })
      .resolves({ Items: [{ sk: 'SEQ#us-east-1' }] });
    ddbMock
      .on(QueryCommand, { Limit: 1, ExpressionAttributeValues: { ':from': 'MSG#us-east-1#000000000001' } })
      .resolves({ Items: [{ seq: 3 }] });
    ddbMock
      .on(QueryCommand, { Limit: 1, ExpressionAttributeValues: { ':from': 'MSG#eu-west-1#000000000001' } })
      .resolves({ Items: [] });

    // Act
    const cursor = await roomCursor(unitDb(), 'r', ['eu-west-1']);

    // Assess
    expect(cursor).toEqual({ 'us-east-1': 3 });
    const newest = ddbMock.commandCalls(QueryCommand, { Limit: 1 }).map((call) => call.args[0].input);
    expect(newest).toHaveLength(2);
    expect(newest[0]).toMatchObject({
      ScanIndexForward: false,
      ConsistentRead: true,
      ProjectionExpression: 'seq',
    });
  });
});

describe('Store (DynamoDB): history page boundaries', () => {
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
