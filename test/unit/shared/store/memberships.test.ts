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
import {
  addMembership,
  CONNECTION_TTL_SECONDS,
  countPresent,
  isMember,
  keys,
  listMembers,
  presentMembers,
  removeMembership,
  roomCount,
} from '../../../../lambdas/shared/store/index.js';
import { NOW, unitDb } from '../../../helpers/unit-deps.js';

const ddbMock = mockClient(DynamoDBDocumentClient);

afterEach(() => {
  ddbMock.reset();
});

const conditionFailed = Object.assign(new Error('The conditional request failed'), {
  name: 'ConditionalCheckFailedException',
});

describe('Store (DynamoDB): memberships', () => {
  const input = { room: 'r', connectionId: 'c1', user: 'alice', region: 'us-east-1', now: NOW, maxRooms: 2 };
  const ttl = NOW / 1000 + CONNECTION_TTL_SECONDS;

  it('claims the connection side, counts the room under the limit, then writes the present member and the room side', async () => {
    // Prepare
    ddbMock.on(PutCommand).resolves({});
    ddbMock.on(UpdateCommand).resolves({});

    // Act
    const outcome = await addMembership(unitDb(), input);

    // Assess
    expect(outcome).toBe('joined');
    const puts = ddbMock.commandCalls(PutCommand).map((call) => call.args[0].input);
    expect(puts.map((put) => [put.Item, put.ConditionExpression])).toEqual([
      [{ ...keys.connectionRoom('c1', 'r'), room: 'r', ttl }, 'attribute_not_exists(pk)'],
      [
        {
          ...keys.roomMember('r', 'us-east-1', 'c1'),
          room: 'r',
          user: 'alice',
          region: 'us-east-1',
          connectionId: 'c1',
          joinedAt: NOW,
          ttl,
        },
        undefined,
      ],
    ]);
    const updates = ddbMock.commandCalls(UpdateCommand).map((call) => call.args[0].input);
    expect(updates.map((update) => [update.Key, update.ConditionExpression])).toEqual([
      [keys.connection('c1'), 'attribute_exists(pk) AND (attribute_not_exists(rooms) OR rooms < :max)'],
      [keys.present('r', 'alice', 'us-east-1'), undefined],
    ]);
    expect(updates[0]?.ExpressionAttributeValues).toEqual({ ':one': 1, ':max': 2 });
    expect(updates[1]?.ExpressionAttributeValues?.[':connection']).toEqual(new Set(['c1']));
  });

  it('at the limit, takes the connection side back and answers full', async () => {
    // Prepare
    ddbMock.on(PutCommand).resolves({});
    ddbMock.on(UpdateCommand).rejects(conditionFailed);
    ddbMock.on(GetCommand).resolves({ Item: { pk: 'CONN#c1' } });
    ddbMock.on(DeleteCommand).resolves({});

    // Act
    const outcome = await addMembership(unitDb(), input);

    // Assess
    expect(outcome).toBe('full');
    expect(ddbMock.commandCalls(DeleteCommand).map((call) => call.args[0].input.Key)).toEqual([
      keys.connectionRoom('c1', 'r'),
    ]);
    expect(ddbMock.commandCalls(PutCommand)).toHaveLength(1);
  });

  it('a re-join writes nothing new: only conditional writes that restore what a crash left out', async () => {
    // Prepare
    ddbMock.on(PutCommand).rejects(conditionFailed);
    ddbMock.on(UpdateCommand).rejects(conditionFailed);

    // Act
    const outcome = await addMembership(unitDb(), input);

    // Assess
    expect(outcome).toBe('rejoined');
    expect(ddbMock.commandCalls(PutCommand).map((call) => call.args[0].input.ConditionExpression)).toEqual([
      'attribute_not_exists(pk)',
      'attribute_not_exists(pk)',
    ]);
    expect(ddbMock.commandCalls(UpdateCommand).map((call) => call.args[0].input.ConditionExpression)).toEqual(
      ['NOT contains(connections, :id)'],
    );
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

  it('deletes both sides and the present entry, and uncounts the room once, when it was a member', async () => {
    // Prepare
    ddbMock.on(DeleteCommand).resolves({ Attributes: { pk: 'x' } });
    ddbMock.on(UpdateCommand).resolves({ Attributes: { connections: new Set(['c2']) } });

    // Act
    const wasMember = await removeMembership(unitDb(), {
      room: 'r',
      connectionId: 'c1',
      region: 'us-east-1',
      user: 'alice',
    });

    // Assess
    expect(wasMember).toBe(true);
    expect(ddbMock.commandCalls(DeleteCommand).map((call) => call.args[0].input.Key)).toEqual([
      keys.connectionRoom('c1', 'r'),
      keys.roomMember('r', 'us-east-1', 'c1'),
    ]);
    expect(ddbMock.commandCalls(UpdateCommand).map((call) => call.args[0].input.Key)).toEqual([
      keys.present('r', 'alice', 'us-east-1'),
      keys.connection('c1'),
    ]);
  });

  it('deletes the present member once its last connection left, on the condition that none came back', async () => {
    // Prepare
    ddbMock.on(DeleteCommand).resolves({ Attributes: { pk: 'x', user: 'alice' } });
    ddbMock.on(UpdateCommand).resolves({ Attributes: { pk: 'ROOM#r' } });

    // Act
    await removeMembership(unitDb(), { room: 'r', connectionId: 'c1', region: 'us-east-1' });

    // Assess
    const deletes = ddbMock.commandCalls(DeleteCommand).map((call) => call.args[0].input);
    expect(deletes.at(-1)).toMatchObject({
      Key: keys.present('r', 'alice', 'us-east-1'),
      ConditionExpression: 'attribute_not_exists(#set)',
      ExpressionAttributeNames: { '#set': 'connections' },
    });
  });

  it('answers false and changes nothing more for a connection that was not a member', async () => {
    // Prepare
    ddbMock.on(DeleteCommand).resolves({});

    // Act
    const wasMember = await removeMembership(unitDb(), {
      room: 'r',
      connectionId: 'c1',
      region: 'us-east-1',
    });

    // Assess
    expect(wasMember).toBe(false);
    expect(ddbMock.commandCalls(UpdateCommand)).toHaveLength(0);
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

  it('lists one page of present members, one more asked for to know whether more follow', async () => {
    // Prepare
    ddbMock.on(QueryCommand).resolves({
      Items: [
        { user: 'amy', region: 'eu-west-1', connections: new Set(['c2', 'c1']) },
        { user: 'bob', region: 'us-east-1', connections: new Set(['c3']) },
      ],
    });

    // Act
    const page = await presentMembers(unitDb(), 'r', {
      limit: 1,
      after: { user: 'al', region: 'us-east-1' },
    });

    // Assess
    expect(page).toEqual({
      members: [{ user: 'amy', region: 'eu-west-1', connectionIds: ['c1', 'c2'] }],
      last: { user: 'amy', region: 'eu-west-1' },
    });
    expect(ddbMock.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      ExpressionAttributeValues: { ':pk': 'ROOM#r', ':prefix': 'PRESENT#' },
      Limit: 2,
      ExclusiveStartKey: keys.present('r', 'al', 'us-east-1'),
    });
  });

  it('counts present members server-side and stops at the cap', async () => {
    // Prepare
    ddbMock
      .on(QueryCommand)
      .resolvesOnce({ Count: 3, LastEvaluatedKey: { pk: 'ROOM#r', sk: 'PRESENT#c' } })
      .resolves({ Count: 3, LastEvaluatedKey: { pk: 'ROOM#r', sk: 'PRESENT#f' } });

    // Act
    const count = await countPresent(unitDb(), 'r', 5);

    // Assess
    expect(count).toBe(5);
    expect(ddbMock.commandCalls(QueryCommand)).toHaveLength(2);
    expect(ddbMock.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({ Select: 'COUNT' });
  });
});
