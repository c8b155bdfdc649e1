import {
  BatchGetCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CONNECTION_TTL_SECONDS,
  keys,
  lastSeenOf,
  putConnection,
  registerUserConnection,
  removeConnection,
  touchConnection,
} from '../../../../lambdas/shared/store/index.js';
import { NOW, unitDb } from '../../../helpers/unit-deps.js';

const ddbMock = mockClient(DynamoDBDocumentClient);
const conditionFailed = Object.assign(new Error('condition'), { name: 'ConditionalCheckFailedException' });

afterEach(() => {
  ddbMock.reset();
});

describe('Store (DynamoDB): connections', () => {
  it('puts the connection item with its user, region, lastSeen and a 2 h 10 min TTL', async () => {
    // Prepare
    ddbMock.on(PutCommand).resolves({});

    // Act
    await putConnection(unitDb(), { connectionId: 'c1', user: 'alice', region: 'us-east-1', now: NOW });

    // Assess
    expect(ddbMock.commandCalls(PutCommand)[0]?.args[0].input).toEqual({
      TableName: 'parley',
      Item: {
        pk: 'CONN#c1',
        sk: 'META',
        user: 'alice',
        region: 'us-east-1',
        connectedAt: NOW,
        lastSeen: NOW,
        ttl: NOW / 1000 + CONNECTION_TTL_SECONDS,
      },
    });
  });

  it('records a heartbeat with a conditional update that never recreates a gone connection', async () => {
    // Prepare
    ddbMock.on(UpdateCommand).resolvesOnce({}).rejects(conditionFailed);

    // Act
    const touched = await touchConnection(unitDb(), 'c1', NOW);
    const gone = await touchConnection(unitDb(), 'c1', NOW);

    // Assess
    expect([touched, gone]).toEqual([true, false]);
    expect(ddbMock.commandCalls(UpdateCommand)[0]?.args[0].input).toEqual({
      TableName: 'parley',
      Key: keys.connection('c1'),
      UpdateExpression: 'SET lastSeen = :now',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':now': NOW },
    });
  });

  it('reads lastSeen with BatchGetItem, and leaves absent what this replica does not have', async () => {
    // Prepare
    ddbMock.on(BatchGetCommand).resolves({
      Responses: {
        parley: [
          { pk: 'CONN#c1', lastSeen: NOW },
          { pk: 'CONN#c2', connectedAt: NOW - 1 },
        ],
      },
    });

    // Act
    const seen = await lastSeenOf(unitDb(), ['c1', 'c2', 'gone', 'c1']);

    // Assess
    expect([...seen.entries()]).toEqual([
      ['c1', NOW],
      ['c2', NOW - 1],
    ]);
    expect(ddbMock.commandCalls(BatchGetCommand)[0]?.args[0].input).toEqual({
      RequestItems: {
        parley: {
          Keys: [keys.connection('c1'), keys.connection('c2'), keys.connection('gone')],
          ProjectionExpression: 'pk, lastSeen, connectedAt',
        },
      },
    });
  });

  it('retries the keys left unprocessed, then reports them unknown rather than gone', async () => {
    // Prepare
    ddbMock
      .on(BatchGetCommand)
      .resolvesOnce({
        Responses: { parley: [{ pk: 'CONN#c1', lastSeen: NOW }] },
        UnprocessedKeys: { parley: { Keys: [keys.connection('c2')] } },
      })
      .resolves({
        Responses: { parley: [] },
        UnprocessedKeys: { parley: { Keys: [keys.connection('c2')] } },
      });
    const delays: number[] = [];

    // Act
    const seen = await lastSeenOf(unitDb(), ['c1', 'c2'], async (ms) => void delays.push(ms));

    // Assess
    expect([...seen.entries()]).toEqual([
      ['c1', NOW],
      ['c2', undefined],
    ]);
    expect(ddbMock.commandCalls(BatchGetCommand)).toHaveLength(5);
    expect(ddbMock.commandCalls(BatchGetCommand)[1]?.args[0].input.RequestItems?.parley?.Keys).toEqual([
      keys.connection('c2'),
    ]);
    expect(delays).toHaveLength(4);
  });

  it('removes a connection: both sides of each membership, the connection item and its user entry', async () => {
    // Prepare
    ddbMock
      .on(GetCommand)
      .resolves({ Item: { pk: 'CONN#stale', sk: 'META', user: 'u', region: 'us-east-1' } });
    ddbMock.on(QueryCommand).resolves({ Items: [{ room: 'r1' }, { room: 'r2' }] });
    ddbMock.on(DeleteCommand).resolves({});

    // Act
    const removed = await removeConnection(unitDb(), 'stale', 'eu-west-1');

    // Assess
    expect(removed).toEqual({ rooms: ['r1', 'r2'], user: 'u' });
    expect(ddbMock.commandCalls(GetCommand)[0]?.args[0].input).toMatchObject({
      Key: keys.connection('stale'),
      ConsistentRead: true,
    });
    expect(ddbMock.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      ExpressionAttributeValues: { ':pk': 'CONN#stale', ':prefix': 'ROOM#' },
      ConsistentRead: true,
    });
    const deleted = ddbMock.commandCalls(DeleteCommand).map((call) => call.args[0].input.Key);
    // The memberships carry the region the connection was stored with, not the caller's.
    expect(deleted).toEqual(
      expect.arrayContaining([
        { pk: 'CONN#stale', sk: 'ROOM#r1' },
        { pk: 'ROOM#r1', sk: 'MEMBER#us-east-1#stale' },
        { pk: 'CONN#stale', sk: 'ROOM#r2' },
        { pk: 'ROOM#r2', sk: 'MEMBER#us-east-1#stale' },
        { pk: 'CONN#stale', sk: 'META' },
        { pk: 'USER#u', sk: 'CONN#stale' },
      ]),
    );
    expect(deleted).toHaveLength(6);
  });

  it("registerUserConnection records the user's entry of the connection with a 2 h 10 min TTL", async () => {
    // Prepare
    ddbMock.on(QueryCommand).resolves({ Items: [] });
    ddbMock.on(PutCommand).resolves({});

    // Act
    const allowed = await registerUserConnection(unitDb(), {
      user: 'alice',
      connectionId: 'c1',
      region: 'us-east-1',
      now: NOW,
      max: 10,
    });

    // Assess
    expect(allowed).toBe(true);
    expect(ddbMock.commandCalls(PutCommand)[0]?.args[0].input.Item).toEqual({
      pk: 'USER#alice',
      sk: 'CONN#c1',
      region: 'us-east-1',
      connectedAt: NOW,
      ttl: NOW / 1000 + CONNECTION_TTL_SECONDS,
    });
  });

  it("registerUserConnection frees the slots of this region's connections API Gateway no longer knows", async () => {
    // Prepare: the user is at the limit with a gone connection here, a live one here and one elsewhere.
    ddbMock.on(QueryCommand).resolves({
      Items: [
        { sk: 'CONN#gone', region: 'us-east-1' },
        { sk: 'CONN#live', region: 'us-east-1' },
        { sk: 'CONN#away', region: 'eu-west-1' },
      ],
    });
    ddbMock.on(GetCommand).resolves({});
    ddbMock.on(DeleteCommand).resolves({});
    ddbMock.on(PutCommand).resolves({});
    const checked: string[] = [];
    const isGone = async (connectionId: string): Promise<boolean> => {
      checked.push(connectionId);
      return connectionId === 'gone';
    };

    // Act
    const allowed = await registerUserConnection(unitDb(), {
      user: 'u',
      connectionId: 'c',
      region: 'us-east-1',
      now: NOW,
      max: 3,
      isGone,
    });

    // Assess: only this region's entries are checked; the gone one is removed and not counted.
    expect(allowed).toBe(true);
    expect(checked.sort()).toEqual(['gone', 'live']);
    const deleted = ddbMock.commandCalls(DeleteCommand).map((call) => call.args[0].input.Key);
    expect(deleted).toContainEqual({ pk: 'USER#u', sk: 'CONN#gone' });
    expect(deleted).toContainEqual({ pk: 'CONN#gone', sk: 'META' });
    expect(deleted).not.toContainEqual({ pk: 'USER#u', sk: 'CONN#live' });
    expect(ddbMock.commandCalls(PutCommand)[0]?.args[0].input.Item).toMatchObject({
      pk: 'USER#u',
      sk: 'CONN#c',
    });
  });

  it('registerUserConnection still refuses when every counted connection is alive', async () => {
    // Prepare
    ddbMock.on(QueryCommand).resolves({ Items: [{ sk: 'CONN#a', region: 'us-east-1' }] });

    // Act
    const allowed = await registerUserConnection(unitDb(), {
      user: 'u',
      connectionId: 'c',
      region: 'us-east-1',
      now: NOW,
      max: 1,
      isGone: async () => false,
    });

    // Assess
    expect(allowed).toBe(false);
    expect(ddbMock.commandCalls(DeleteCommand)).toHaveLength(0);
    expect(ddbMock.commandCalls(PutCommand)).toHaveLength(0);
  });

  it('registerUserConnection counts live connections other than this one and refuses at the limit', async () => {
    // Prepare
    ddbMock.on(QueryCommand).resolves({ Items: [{ sk: 'CONN#a' }, { sk: 'CONN#b' }] });

    // Act
    const refused = await registerUserConnection(unitDb(), {
      user: 'u',
      connectionId: 'c',
      region: 'us-east-1',
      now: NOW,
      max: 2,
    });
    const allowed = await registerUserConnection(unitDb(), {
      user: 'u',
      connectionId: 'c',
      region: 'us-east-1',
      now: NOW,
      max: 3,
    });

    // Assess
    expect([refused, allowed]).toEqual([false, true]);
    expect(ddbMock.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      FilterExpression: '#ttl > :now',
      ExpressionAttributeValues: { ':pk': 'USER#u', ':prefix': 'CONN#', ':now': NOW / 1000 },
    });
  });
});
