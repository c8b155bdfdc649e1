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
  openEntry,
  putConnection,
  registerUserConnection,
  removeConnection,
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

  it("removes a connection: each membership, the connection item and its entry among its user's open connections", async () => {
    // Prepare
    ddbMock
      .on(GetCommand)
      .resolves({ Item: { pk: 'CONN#stale', sk: 'META', user: 'u', region: 'us-east-1', connectedAt: NOW } });
    ddbMock.on(QueryCommand).resolves({ Items: [{ room: 'r1' }, { room: 'r2' }] });
    ddbMock.on(DeleteCommand).resolves({});
    // Each set keeps another element: no item goes with its last one.
    ddbMock
      .on(UpdateCommand)
      .resolves({ Attributes: { connections: new Set(['x']), conns: new Set(['y']) } });

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
      ]),
    );
    expect(deleted).toHaveLength(5);
    const released = ddbMock
      .commandCalls(UpdateCommand)
      .map((call) => call.args[0].input)
      .at(-1);
    expect(released).toMatchObject({
      Key: keys.userOpen('u', 'us-east-1'),
      UpdateExpression: 'DELETE #set :element',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: { '#set': 'conns' },
      ExpressionAttributeValues: { ':element': new Set([openEntry(NOW, 'stale')]) },
    });
  });

  const input = { user: 'u', connectionId: 'c', region: 'us-east-1', now: NOW, max: 3 };
  /** The user's open-connection items: one per region, each a set of entries. */
  const openItems = (here: string[], away: string[] = [], at = NOW - 60_000) => ({
    Items: [
      { region: 'us-east-1', conns: new Set(here.map((id) => openEntry(at, id))) },
      ...(away.length === 0
        ? []
        : [{ region: 'eu-west-1', conns: new Set(away.map((id) => openEntry(at, id))) }]),
    ],
  });

  it("registerUserConnection adds the connection to its region's set on the condition that the set has room", async () => {
    // Prepare
    ddbMock.on(QueryCommand).resolves(openItems([], ['away']));
    ddbMock.on(UpdateCommand).resolves({});

    // Act
    const allowed = await registerUserConnection(unitDb(), input);

    // Assess
    expect(allowed).toBe(true);
    expect(ddbMock.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      ExpressionAttributeValues: { ':pk': 'USER#u', ':prefix': 'OPEN#' },
    });
    expect(ddbMock.commandCalls(UpdateCommand)[0]?.args[0].input).toMatchObject({
      Key: keys.userOpen('u', 'us-east-1'),
      UpdateExpression: 'ADD conns :entries SET #region = :region, #ttl = :ttl',
      ConditionExpression: 'attribute_not_exists(conns) OR size(conns) < :allowed OR contains(conns, :entry)',
      // One slot is taken in eu-west-1.
      ExpressionAttributeValues: {
        ':entries': new Set([openEntry(NOW, 'c')]),
        ':allowed': 2,
        ':ttl': NOW / 1000 + CONNECTION_TTL_SECONDS,
      },
    });
  });

  it("registerUserConnection frees this region's connections API Gateway no longer knows, then tries again", async () => {
    // Prepare: the set is full with a gone connection and a live one; one more is open elsewhere.
    ddbMock.on(QueryCommand).resolves(openItems(['gone', 'live'], ['away']));
    ddbMock.on(UpdateCommand).rejectsOnce(conditionFailed).resolves({});
    ddbMock.on(GetCommand).resolves({});
    ddbMock.on(DeleteCommand).resolves({});
    const checked: string[] = [];

    // Act
    const allowed = await registerUserConnection(unitDb(), {
      ...input,
      isGone: async (connectionId) => {
        checked.push(connectionId);
        return connectionId === 'gone';
      },
    });

    // Assess: only this region's entries are checked; the gone one is released and not counted.
    expect(allowed).toBe(true);
    expect(checked.sort()).toEqual(['gone', 'live']);
    const updates = ddbMock.commandCalls(UpdateCommand).map((call) => call.args[0].input);
    expect(updates.map((update) => update.UpdateExpression)).toEqual([
      'ADD conns :entries SET #region = :region, #ttl = :ttl',
      'DELETE #set :element',
      'ADD conns :entries SET #region = :region, #ttl = :ttl',
    ]);
    expect(updates[1]?.ExpressionAttributeValues?.[':element']).toEqual(
      new Set([openEntry(NOW - 60_000, 'gone')]),
    );
    expect(ddbMock.commandCalls(DeleteCommand).map((call) => call.args[0].input.Key)).toContainEqual(
      keys.connection('gone'),
    );
  });

  it('registerUserConnection refuses when every counted connection is alive, and never checks a fresh one', async () => {
    // Prepare: one entry of a minute ago, one of a $connect that may still be running.
    ddbMock.on(QueryCommand).resolves({
      Items: [
        { region: 'us-east-1', conns: new Set([openEntry(NOW - 60_000, 'a'), openEntry(NOW - 1_000, 'b')]) },
      ],
    });
    ddbMock.on(UpdateCommand).rejects(conditionFailed);
    const checked: string[] = [];

    // Act
    const allowed = await registerUserConnection(unitDb(), {
      ...input,
      max: 2,
      isGone: async (connectionId) => {
        checked.push(connectionId);
        return false;
      },
    });

    // Assess
    expect(allowed).toBe(false);
    expect(checked).toEqual(['a']);
    expect(ddbMock.commandCalls(UpdateCommand)).toHaveLength(1);
    expect(ddbMock.commandCalls(DeleteCommand)).toHaveLength(0);
  });

  it("registerUserConnection refuses with no write when other regions hold the user's every slot", async () => {
    // Prepare: two open elsewhere, and one whose connection must be over (older than 2 h 10 min).
    ddbMock.on(QueryCommand).resolves({
      Items: [
        { region: 'eu-west-1', conns: new Set([openEntry(NOW - 60_000, 'x'), openEntry(NOW - 60_000, 'y')]) },
        {
          region: 'ap-south-1',
          conns: new Set([openEntry(NOW - (CONNECTION_TTL_SECONDS + 1) * 1000, 'old')]),
        },
      ],
    });

    // Act
    const refused = await registerUserConnection(unitDb(), { ...input, max: 2 });

    // Assess
    expect(refused).toBe(false);
    expect(ddbMock.commandCalls(UpdateCommand)).toHaveLength(0);
  });
});
