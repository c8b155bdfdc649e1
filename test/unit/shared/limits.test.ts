import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRoomsClaim, roomAllowed } from '../../../lambdas/shared/limits.js';
import { registerUserConnection, sendSchedule, takeSendToken } from '../../../lambdas/shared/store/index.js';
import { callerOf } from '../../../lambdas/shared/websocket.js';
import { routeEvent } from '../../helpers/events.js';
import { NOW, unitDb, unitDeps } from '../../helpers/unit-deps.js';

const ddbMock = mockClient(DynamoDBDocumentClient);
const limits = { sendRatePerSecond: 2, sendBurst: 4 };
const conditionFailed = Object.assign(new Error('condition'), { name: 'ConditionalCheckFailedException' });

afterEach(() => {
  ddbMock.reset();
});

describe('Shared: limits', () => {
  it('sendSchedule spaces sends by the rate and lets the burst run ahead of now', () => {
    // Act + Assess
    expect(sendSchedule(limits)).toEqual({ intervalMs: 500, toleranceMs: 1_500 });
    expect(sendSchedule({ sendRatePerSecond: 10, sendBurst: 1 })).toEqual({
      intervalMs: 100,
      toleranceMs: 0,
    });
  });

  it('takeSendToken takes a full bucket with one conditional update and no read', async () => {
    // Prepare
    ddbMock.on(UpdateCommand).resolves({});

    // Act
    const taken = await takeSendToken(unitDb(), 'c', limits, NOW);

    // Assess
    expect(taken).toBe(true);
    expect(ddbMock.commandCalls(GetCommand)).toHaveLength(0);
    const inputs = ddbMock.commandCalls(UpdateCommand).map((call) => call.args[0].input);
    expect(inputs).toEqual([
      expect.objectContaining({
        Key: { pk: 'CONN#c', sk: 'META' },
        UpdateExpression: 'SET sendTat = :next',
        ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(sendTat) OR sendTat <= :now)',
        ExpressionAttributeValues: { ':next': NOW + 500, ':now': NOW },
      }),
    ]);
  });

  it('takeSendToken schedules a send behind the ones ahead of it while the burst lasts', async () => {
    // Prepare
    ddbMock.on(UpdateCommand).rejectsOnce(conditionFailed).resolves({});

    // Act
    const taken = await takeSendToken(unitDb(), 'c', limits, NOW);

    // Assess
    expect(taken).toBe(true);
    expect(ddbMock.commandCalls(GetCommand)).toHaveLength(0);
    expect(ddbMock.commandCalls(UpdateCommand)[1]?.args[0].input).toEqual(
      expect.objectContaining({
        UpdateExpression: 'SET sendTat = sendTat + :interval',
        ConditionExpression: 'attribute_exists(pk) AND sendTat > :now AND sendTat <= :latest',
        ExpressionAttributeValues: { ':interval': 500, ':now': NOW, ':latest': NOW + 1_500 },
      }),
    );
  });

  it('takeSendToken refuses a spent burst', async () => {
    // Prepare
    ddbMock.on(UpdateCommand).rejects(conditionFailed);
    ddbMock.on(GetCommand).resolves({ Item: { pk: 'CONN#c' } });

    // Act + Assess
    expect(await takeSendToken(unitDb(), 'c', limits, NOW)).toBe(false);
    expect(ddbMock.commandCalls(UpdateCommand)).toHaveLength(2);
  });

  it('takeSendToken does not limit a connection without an item (nothing to keep the bucket on)', async () => {
    // Prepare
    ddbMock.on(UpdateCommand).rejects(conditionFailed);
    ddbMock.on(GetCommand).resolves({});

    // Act + Assess
    expect(await takeSendToken(unitDb(), 'c', limits, NOW)).toBe(true);
  });

  it('takeSendToken lets an error other than a failed condition through', async () => {
    // Prepare
    ddbMock.on(UpdateCommand).rejects(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));

    // Act + Assess
    await expect(takeSendToken(unitDb(), 'c', limits, NOW)).rejects.toThrow('slow down');
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

  it.each([
    [['lobby'], 'lobby', true],
    [['lobby'], 'lobby2', false],
    [['team-*'], 'team-red', true],
    [['team-*'], 'team-', true],
    [['team-*'], 'xteam-red', false],
    [['*'], 'anything', true],
    [['a.b'], 'aXb', false],
    [['org:*:chat'], 'org:42:chat', true],
    [[], 'lobby', false],
    [undefined, 'lobby', true],
  ])('roomAllowed(%j, %s) is %s', (patterns, room, expected) => {
    // Act + Assess
    expect(roomAllowed(patterns, room)).toBe(expected);
  });

  it('parseRoomsClaim accepts an absent claim or an array of patterns and refuses anything else', () => {
    // Act + Assess
    expect(parseRoomsClaim(undefined)).toBeUndefined();
    expect(parseRoomsClaim(['a', 'b-*'])).toEqual(['a', 'b-*']);
    for (const bad of ['a', [1], ['a b'], [''], {}, Array.from({ length: 101 }, () => 'a')]) {
      expect(() => parseRoomsClaim(bad)).toThrow(/rooms claim/);
    }
  });

  it('callerOf reads the serialized rooms claim and allows nothing when it is unreadable', () => {
    // Prepare
    const event = routeEvent('ping', { action: 'ping' });
    const withRooms = (rooms: unknown) => ({
      ...event,
      requestContext: { ...event.requestContext, authorizer: { user: 'alice', rooms } },
    });

    // Act + Assess
    expect(callerOf(event).rooms).toBeUndefined();
    expect(callerOf(withRooms('["a-*"]')).rooms).toEqual(['a-*']);
    expect(callerOf(withRooms('{nope')).rooms).toEqual([]);
    expect(callerOf(withRooms('[1]')).rooms).toEqual([]);
  });
});
