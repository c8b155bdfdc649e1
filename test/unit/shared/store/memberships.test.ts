import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  addMembership,
  CONNECTION_TTL_SECONDS,
  isMember,
  keys,
  listMembers,
  presenceOf,
  removeMembership,
  roomCount,
} from '../../../../lambdas/shared/store/index.js';
import { NOW, unitDb } from '../../../helpers/unit-deps.js';

const ddbMock = mockClient(DynamoDBDocumentClient);

afterEach(() => {
  ddbMock.reset();
});

describe('Store (DynamoDB): memberships', () => {
  it('writes the room side of a membership, then the connection side, with the TTL of the connection', async () => {
    // Prepare
    ddbMock.on(PutCommand).resolves({});

    // Act
    await addMembership(unitDb(), {
      room: 'r',
      connectionId: 'c1',
      user: 'alice',
      region: 'us-east-1',
      now: NOW,
    });

    // Assess
    const ttl = NOW / 1000 + CONNECTION_TTL_SECONDS;
    expect(ddbMock.commandCalls(PutCommand).map((call) => call.args[0].input.Item)).toEqual([
      {
        ...keys.roomMember('r', 'us-east-1', 'c1'),
        room: 'r',
        user: 'alice',
        region: 'us-east-1',
        connectionId: 'c1',
        joinedAt: NOW,
        ttl,
      },
      { ...keys.connectionRoom('c1', 'r'), room: 'r', ttl },
    ]);
  });

  it('reads membership from the connection side, strongly consistent', async () => {
    // Prepare
    ddbMock
      .on(GetCommand)
      .resolvesOnce({ Item: { pk: 'CONN#c1' } })
      .resolves({});

    // Act
    const results = [await isMember(unitDb(), 'r', 'c1'), await isMember(unitDb(), 'r', 'c1')];

    // Assess
    expect(results).toEqual([true, false]);
    expect(ddbMock.commandCalls(GetCommand)[0]?.args[0].input).toEqual({
      TableName: 'parley',
      Key: keys.connectionRoom('c1', 'r'),
      ConsistentRead: true,
      ProjectionExpression: 'pk',
    });
  });

  it('deletes both sides of a membership', async () => {
    // Prepare
    ddbMock.on(DeleteCommand).resolves({});

    // Act
    await removeMembership(unitDb(), { room: 'r', connectionId: 'c1', region: 'us-east-1' });

    // Assess
    expect(ddbMock.commandCalls(DeleteCommand).map((call) => call.args[0].input.Key)).toEqual([
      keys.connectionRoom('c1', 'r'),
      keys.roomMember('r', 'us-east-1', 'c1'),
    ]);
  });

  it("lists a room's members in one region, or everywhere, by sort-key prefix", async () => {
    // Prepare
    ddbMock
      .on(QueryCommand)
      .resolves({ Items: [{ connectionId: 'c1', user: 'u', region: 'eu-west-1', room: 'r' }] });

    // Act
    await listMembers(unitDb(), 'r', 'eu-west-1');
    await listMembers(unitDb(), 'r');

    // Assess
    const inputs = ddbMock.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(inputs.map((input) => input.KeyConditionExpression)).toEqual([
      'pk = :pk AND begins_with(sk, :prefix)',
      'pk = :pk AND begins_with(sk, :prefix)',
    ]);
    expect(inputs.map((input) => input.ExpressionAttributeValues)).toEqual([
      { ':pk': 'ROOM#r', ':prefix': 'MEMBER#eu-west-1#' },
      { ':pk': 'ROOM#r', ':prefix': 'MEMBER#' },
    ]);
  });

  it("counts a connection's rooms with Select COUNT, page by page", async () => {
    // Prepare
    ddbMock
      .on(QueryCommand)
      .resolvesOnce({ Count: 2, LastEvaluatedKey: { pk: 'CONN#c1', sk: 'ROOM#b' } })
      .resolves({ Count: 1 });

    // Act
    const count = await roomCount(unitDb(), 'c1');

    // Assess
    expect(count).toBe(3);
    expect(ddbMock.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      ExpressionAttributeValues: { ':pk': 'CONN#c1', ':prefix': 'ROOM#' },
      Select: 'COUNT',
      ConsistentRead: true,
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
});
