import {
  ApiGatewayManagementApiClient,
  GetConnectionCommand,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
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
import { connect } from '../../../lambdas/handlers/connect.js';
import { defaultError, fallback } from '../../../lambdas/handlers/default.js';
import { disconnect } from '../../../lambdas/handlers/disconnect.js';
import { history } from '../../../lambdas/handlers/history.js';
import { join } from '../../../lambdas/handlers/join.js';
import { leave } from '../../../lambdas/handlers/leave.js';
import { ping } from '../../../lambdas/handlers/ping.js';
import { presence } from '../../../lambdas/handlers/presence.js';
import { ForbiddenError, UnauthorizedError } from '../../../lambdas/shared/errors.js';
import { CONNECTION_TTL_SECONDS, keys } from '../../../lambdas/shared/store/index.js';
import { connectEvent, disconnectEvent, routeEvent } from '../../helpers/events.js';
import { NOW, postedFrames, unitDeps } from '../../helpers/unit-deps.js';

const apiMock = mockClient(ApiGatewayManagementApiClient);
const ddbMock = mockClient(DynamoDBDocumentClient);

afterEach(() => {
  apiMock.reset();
  ddbMock.reset();
});

const caller = { connectionId: 'c1', user: 'alice' };
const member = (connectionId: string, user: string, region = 'us-east-1') => ({
  connectionId,
  user,
  region,
  room: 'r',
});
const seenItem = (connectionId: string, lastSeen: number) => ({ pk: `CONN#${connectionId}`, lastSeen });
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

describe('Handler: connect', () => {
  it('stores the connection with its user, region and a 2 h 10 min TTL', async () => {
    // Prepare
    ddbMock.on(PutCommand).resolves({});
    ddbMock.on(QueryCommand).resolves({ Items: [] });

    // Act
    const result = await connect(unitDeps(), connectEvent('c1', 'alice'));

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(ddbMock.commandCalls(PutCommand)[0]?.args[0].input.Item).toEqual({
      pk: 'USER#alice',
      sk: 'CONN#c1',
      region: 'us-east-1',
      connectedAt: NOW,
      ttl: NOW / 1000 + CONNECTION_TTL_SECONDS,
    });
    expect(ddbMock.commandCalls(PutCommand)[1]?.args[0].input.Item).toEqual({
      pk: 'CONN#c1',
      sk: 'META',
      user: 'alice',
      region: 'us-east-1',
      connectedAt: NOW,
      lastSeen: NOW,
      ttl: NOW / 1000 + CONNECTION_TTL_SECONDS,
    });
    expect(CONNECTION_TTL_SECONDS).toBe(7_800);
  });

  it('answers 401 and stores nothing without an authorizer user', async () => {
    // Act
    const result = await connect(unitDeps(), connectEvent('c1', null));

    // Assess
    expect(result).toEqual({ statusCode: 401 });
    expect(ddbMock.commandCalls(PutCommand)).toHaveLength(0);
  });
});

describe('Handler: join', () => {
  it('writes both memberships, answers joined, replays from since in seq order, then announces to others', async () => {
    // Prepare
    ddbMock.on(PutCommand).resolves({});
    ddbMock
      .on(QueryCommand, { ExpressionAttributeValues: { ':pk': 'ROOM#r', ':prefix': 'SEQ#' } })
      .resolves({ Items: [{ sk: 'SEQ#us-east-1' }] });
    ddbMock
      .on(QueryCommand, { ExpressionAttributeValues: { ':pk': 'ROOM#r', ':prefix': 'MEMBER#' } })
      .resolves({ Items: [member('c1', 'alice'), member('c2', 'bob'), member('w1', 'carl', 'eu-west-1')] });
    ddbMock
      .on(QueryCommand, { ExpressionAttributeValues: { ':pk': 'ROOM#r', ':prefix': 'MEMBER#us-east-1#' } })
      .resolves({ Items: [member('c1', 'alice'), member('c2', 'bob')] });
    ddbMock.on(QueryCommand, { Limit: 1 }).resolves({ Items: [{ seq: 3 }] });
    // Resume query: messages after seq 1 of us-east-1, in two pages.
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
    ddbMock.on(BatchGetCommand).resolves({
      Responses: { parley: [seenItem('c1', NOW), seenItem('c2', NOW - 5_000), seenItem('w1', NOW - 30_000)] },
    });
    apiMock.on(PostToConnectionCommand).resolves({});
    ddbMock.on(GetCommand).resolves({});
    ddbMock.on(QueryCommand, { Select: 'COUNT' }).resolves({ Count: 0 });

    // Act
    await join(unitDeps(), caller, { action: 'join', room: 'r', ref: 'j', since: { 'us-east-1': 1 } });

    // Assess
    expect(ddbMock.commandCalls(PutCommand).map((call) => call.args[0].input.Item)).toEqual([
      expect.objectContaining({
        ...keys.roomMember('r', 'us-east-1', 'c1'),
        user: 'alice',
        connectionId: 'c1',
        joinedAt: NOW,
      }),
      expect.objectContaining({ ...keys.connectionRoom('c1', 'r'), room: 'r' }),
    ]);
    expect(postedFrames(apiMock)).toEqual([
      {
        connectionId: 'c1',
        frame: {
          type: 'joined',
          ref: 'j',
          room: 'r',
          cursor: { 'us-east-1': 3 },
          members: [
            { user: 'alice', region: 'us-east-1' },
            { user: 'bob', region: 'us-east-1' },
            { user: 'carl', region: 'eu-west-1' },
          ],
          region: 'us-east-1',
        },
      },
      {
        connectionId: 'c1',
        frame: expect.objectContaining({ type: 'message', origin: 'us-east-1', seq: 2 }),
      },
      {
        connectionId: 'c1',
        frame: expect.objectContaining({ type: 'message', origin: 'us-east-1', seq: 3 }),
      },
      {
        connectionId: 'c2',
        frame: { type: 'presence', room: 'r', event: 'join', user: 'alice', region: 'us-east-1' },
      },
    ]);
  });

  it('refuses an unknown connection without a user', async () => {
    // Prepare
    ddbMock.on(GetCommand).resolves({});

    // Act + Assess
    await expect(
      join(unitDeps(), { connectionId: 'c1', user: undefined }, { action: 'join', room: 'r' }),
    ).rejects.toBeInstanceOf(UnauthorizedError);
    expect(ddbMock.commandCalls(PutCommand)).toHaveLength(0);
  });
});

describe('Handler: leave', () => {
  it('removes both memberships, answers left and tells the remaining local members', async () => {
    // Prepare
    ddbMock.on(GetCommand).resolves({ Item: { pk: 'CONN#c1' } });
    ddbMock.on(DeleteCommand).resolves({});
    ddbMock.on(QueryCommand).resolves({ Items: [member('c2', 'bob')] });
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    await leave(unitDeps(), caller, { action: 'leave', room: 'r', ref: 'l' });

    // Assess
    expect(ddbMock.commandCalls(DeleteCommand).map((call) => call.args[0].input.Key)).toEqual([
      keys.connectionRoom('c1', 'r'),
      keys.roomMember('r', 'us-east-1', 'c1'),
    ]);
    expect(postedFrames(apiMock)).toEqual([
      { connectionId: 'c1', frame: { type: 'left', ref: 'l', room: 'r' } },
      {
        connectionId: 'c2',
        frame: { type: 'presence', room: 'r', event: 'leave', user: 'alice', region: 'us-east-1' },
      },
    ]);
  });

  it('answers left without announcing when the connection was not in the room', async () => {
    // Prepare
    ddbMock.on(GetCommand).resolves({});
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    await leave(unitDeps(), caller, { action: 'leave', room: 'r' });

    // Assess
    expect(postedFrames(apiMock)).toEqual([{ connectionId: 'c1', frame: { type: 'left', room: 'r' } }]);
    expect(ddbMock.commandCalls(DeleteCommand)).toHaveLength(0);
  });
});

describe('Handler: history', () => {
  it('answers the page oldest first with the default limit of 50', async () => {
    // Prepare
    ddbMock.on(GetCommand).resolves({ Item: { pk: 'CONN#c1' } });
    ddbMock
      .on(QueryCommand)
      .resolves({ Items: [storedMessage('us-east-1', 2), storedMessage('us-east-1', 1)] });
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    await history(unitDeps(), caller, { action: 'history', room: 'r', ref: 'h' });

    // Assess
    // One more than the page: whether the page ends inside a group of messages with one ts.
    expect(ddbMock.commandCalls(QueryCommand)[0]?.args[0].input.Limit).toBe(51);
    const reply = postedFrames(apiMock)[0]?.frame;
    expect(reply).toMatchObject({ type: 'history', ref: 'h', room: 'r' });
    expect(((reply?.messages ?? []) as { seq: number }[]).map((message) => message.seq)).toEqual([1, 2]);
  });

  it('is forbidden before join', async () => {
    // Prepare
    ddbMock.on(GetCommand).resolves({});

    // Act + Assess
    await expect(history(unitDeps(), caller, { action: 'history', room: 'r' })).rejects.toBeInstanceOf(
      ForbiddenError,
    );
    expect(ddbMock.commandCalls(QueryCommand)).toHaveLength(0);
  });
});

describe('Handler: presence', () => {
  it('lists the members of every region', async () => {
    // Prepare
    ddbMock.on(GetCommand).resolves({ Item: { pk: 'CONN#c1' } });
    ddbMock.on(QueryCommand).resolves({ Items: [member('c1', 'alice'), member('w1', 'bob', 'eu-west-1')] });
    ddbMock.on(BatchGetCommand).resolves({
      Responses: { parley: [seenItem('c1', NOW - 1_000), seenItem('w1', NOW - 44_000)] },
    });
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    await presence(unitDeps(), caller, { action: 'presence', room: 'r' });

    // Assess
    expect(postedFrames(apiMock)[0]?.frame).toEqual({
      type: 'presence',
      room: 'r',
      members: [
        { user: 'alice', region: 'us-east-1' },
        { user: 'bob', region: 'eu-west-1' },
      ],
    });
    expect(ddbMock.commandCalls(QueryCommand)[0]?.args[0].input.ExpressionAttributeValues).toEqual({
      ':pk': 'ROOM#r',
      ':prefix': 'MEMBER#',
    });
  });

  it('leaves out a member of another region not heard from within the presence timeout', async () => {
    // Prepare
    ddbMock.on(GetCommand).resolves({ Item: { pk: 'CONN#c1' } });
    ddbMock.on(QueryCommand).resolves({
      Items: [member('c1', 'alice'), member('w1', 'bob', 'eu-west-1'), member('w2', 'carol', 'eu-west-1')],
    });
    // bob's region went down 46 s ago; carol's connection item is gone from this replica.
    ddbMock.on(BatchGetCommand).resolves({
      Responses: { parley: [seenItem('c1', NOW), seenItem('w1', NOW - 46_000)] },
    });
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    await presence(unitDeps(), caller, { action: 'presence', room: 'r' });

    // Assess
    expect(postedFrames(apiMock)[0]?.frame).toMatchObject({
      members: [{ user: 'alice', region: 'us-east-1' }],
    });
    expect(apiMock.commandCalls(GetConnectionCommand)).toHaveLength(0);
  });

  it('asks @connections about a stale member of this region: keeps a live one, removes a gone one', async () => {
    // Prepare
    ddbMock.on(GetCommand).resolves({ Item: { pk: 'CONN#c1' } });
    ddbMock
      .on(QueryCommand, { KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)' })
      .callsFake((input: { ExpressionAttributeValues: Record<string, string> }) =>
        input.ExpressionAttributeValues[':pk'] === 'ROOM#r'
          ? { Items: [member('c1', 'alice'), member('quiet', 'dave'), member('dead', 'erin')] }
          : { Items: [{ room: 'r' }] },
      );
    ddbMock.on(BatchGetCommand).resolves({
      Responses: {
        parley: [seenItem('c1', NOW), seenItem('quiet', NOW - 600_000), seenItem('dead', NOW - 600_000)],
      },
    });
    ddbMock.on(DeleteCommand).resolves({});
    apiMock.on(GetConnectionCommand, { ConnectionId: 'quiet' }).resolves({});
    apiMock
      .on(GetConnectionCommand, { ConnectionId: 'dead' })
      .rejects(
        Object.assign(new Error('Gone'), { name: 'GoneException', $metadata: { httpStatusCode: 410 } }),
      );
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    await presence(unitDeps(), caller, { action: 'presence', room: 'r' });

    // Assess
    expect(postedFrames(apiMock)[0]?.frame).toMatchObject({
      members: [
        { user: 'alice', region: 'us-east-1' },
        { user: 'dave', region: 'us-east-1' },
      ],
    });
    const deleted = ddbMock.commandCalls(DeleteCommand).map((call) => call.args[0].input.Key);
    expect(deleted).toContainEqual(keys.connection('dead'));
    expect(deleted).toContainEqual(keys.roomMember('r', 'us-east-1', 'dead'));
    expect(deleted).not.toContainEqual(keys.connection('quiet'));
  });

  it('lists every member, with no reads of connections, when the presence timeout is 0', async () => {
    // Prepare
    ddbMock.on(GetCommand).resolves({ Item: { pk: 'CONN#c1' } });
    ddbMock.on(QueryCommand).resolves({ Items: [member('c1', 'alice'), member('w1', 'bob', 'eu-west-1')] });
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    await presence(unitDeps({ presenceTimeoutSeconds: 0 }), caller, { action: 'presence', room: 'r' });

    // Assess
    expect(postedFrames(apiMock)[0]?.frame).toMatchObject({ members: [{ user: 'alice' }, { user: 'bob' }] });
    expect(ddbMock.commandCalls(BatchGetCommand)).toHaveLength(0);
  });

  it('is forbidden before join', async () => {
    // Prepare
    ddbMock.on(GetCommand).resolves({});

    // Act + Assess
    await expect(presence(unitDeps(), caller, { action: 'presence', room: 'r' })).rejects.toBeInstanceOf(
      ForbiddenError,
    );
  });
});

describe('Handler: ping and $default', () => {
  it('answers pong with the server time and the ref', async () => {
    // Prepare
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    await ping(unitDeps(), caller, { action: 'ping', ref: 'p' });

    // Assess
    expect(postedFrames(apiMock)).toEqual([
      { connectionId: 'c1', frame: { type: 'pong', ref: 'p', ts: NOW } },
    ]);
    expect(ddbMock.commandCalls(UpdateCommand)[0]?.args[0].input).toMatchObject({
      Key: keys.connection('c1'),
      UpdateExpression: 'SET lastSeen = :now',
      ExpressionAttributeValues: { ':now': NOW },
    });
  });

  it('still answers pong when recording the heartbeat fails, and records none with the presence timeout off', async () => {
    // Prepare
    apiMock.on(PostToConnectionCommand).resolves({});
    ddbMock.on(UpdateCommand).rejects(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));

    // Act
    await ping(unitDeps(), caller, { action: 'ping', ref: 'a' });
    await ping(unitDeps({ presenceTimeoutSeconds: 0 }), caller, { action: 'ping', ref: 'b' });

    // Assess
    expect(postedFrames(apiMock).map((posted) => posted.frame)).toEqual([
      { type: 'pong', ref: 'a', ts: NOW },
      { type: 'pong', ref: 'b', ts: NOW },
    ]);
    expect(ddbMock.commandCalls(UpdateCommand)).toHaveLength(1);
  });

  it('names the unknown action in a bad_request error', async () => {
    // Prepare
    const sent: unknown[] = [];

    // Act
    const result = await fallback(
      async (connectionId, frame) => sent.push({ connectionId, frame }),
      routeEvent('$default', { action: 'dance', ref: 'd' }),
    );

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(sent).toEqual([
      {
        connectionId: 'conn-1',
        frame: {
          type: 'error',
          code: 'bad_request',
          message: 'unknown action "dance"; expected one of join, leave, send, history, presence, ping',
          ref: 'd',
          action: 'dance',
        },
      },
    ]);
  });

  it('answers frames that are not JSON, or have no action, with bad_request', () => {
    // Assess
    expect(defaultError('{oops')).toMatchObject({ code: 'bad_request', message: 'frame is not valid JSON' });
    expect(defaultError('{"room":"r"}')).toMatchObject({ code: 'bad_request' });
    expect(defaultError('{"action":"ping"}')).toMatchObject({ code: 'bad_request', action: 'ping' });
  });
});

describe('Handler: disconnect', () => {
  it('removes the connection and its memberships and announces the leave', async () => {
    // Prepare
    ddbMock.on(GetCommand).resolves({ Item: { user: 'alice', region: 'us-east-1' } });
    ddbMock
      .on(QueryCommand, { ExpressionAttributeValues: { ':pk': 'CONN#c1', ':prefix': 'ROOM#' } })
      .resolves({ Items: [{ room: 'r' }] });
    ddbMock
      .on(QueryCommand, { ExpressionAttributeValues: { ':pk': 'ROOM#r', ':prefix': 'MEMBER#us-east-1#' } })
      .resolves({ Items: [member('c2', 'bob')] });
    ddbMock.on(DeleteCommand).resolves({});
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    const result = await disconnect(unitDeps(), disconnectEvent('c1', 'alice'));

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(ddbMock.commandCalls(DeleteCommand).map((call) => call.args[0].input.Key)).toEqual(
      expect.arrayContaining([
        keys.connection('c1'),
        keys.connectionRoom('c1', 'r'),
        keys.roomMember('r', 'us-east-1', 'c1'),
      ]),
    );
    expect(postedFrames(apiMock)).toEqual([
      {
        connectionId: 'c2',
        frame: { type: 'presence', room: 'r', event: 'leave', user: 'alice', region: 'us-east-1' },
      },
    ]);
  });
});
