import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { rateSchedule, takeToken, tatAttribute } from '../../../../lambdas/shared/store/index.js';
import { NOW, unitDb } from '../../../helpers/unit-deps.js';

const ddbMock = mockClient(DynamoDBDocumentClient);
const rate = { perSecond: 2, burst: 4 };
const conditionFailed = Object.assign(new Error('condition'), { name: 'ConditionalCheckFailedException' });

afterEach(() => {
  ddbMock.reset();
});

describe('Store (DynamoDB): rate limits', () => {
  it('rateSchedule spaces requests by the rate and lets the burst run ahead of now', () => {
    // Act + Assess
    expect(rateSchedule(rate)).toEqual({ intervalMs: 500, toleranceMs: 1_500 });
    expect(rateSchedule({ perSecond: 10, burst: 1 })).toEqual({
      intervalMs: 100,
      toleranceMs: 0,
    });
  });

  it("takeToken takes a full bucket with one conditional update and no read, on send's sendTat", async () => {
    // Prepare
    ddbMock.on(UpdateCommand).resolves({});

    // Act
    const taken = await takeToken(unitDb(), 'c', 'send', rate, NOW);

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

  it('takeToken schedules a request behind the ones ahead of it while the burst lasts', async () => {
    // Prepare
    ddbMock.on(UpdateCommand).rejectsOnce(conditionFailed).resolves({});

    // Act
    const taken = await takeToken(unitDb(), 'c', 'send', rate, NOW);

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

  it('takeToken refuses a spent burst', async () => {
    // Prepare
    ddbMock.on(UpdateCommand).rejects(conditionFailed);
    ddbMock.on(GetCommand).resolves({ Item: { pk: 'CONN#c' } });

    // Act + Assess
    expect(await takeToken(unitDb(), 'c', 'send', rate, NOW)).toBe(false);
    expect(ddbMock.commandCalls(UpdateCommand)).toHaveLength(2);
  });

  it('takeToken does not limit a connection without an item (nothing to keep the bucket on)', async () => {
    // Prepare
    ddbMock.on(UpdateCommand).rejects(conditionFailed);
    ddbMock.on(GetCommand).resolves({});

    // Act + Assess
    expect(await takeToken(unitDb(), 'c', 'send', rate, NOW)).toBe(true);
  });

  it('takeToken lets an error other than a failed condition through', async () => {
    // Prepare
    ddbMock.on(UpdateCommand).rejects(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));

    // Act + Assess
    await expect(takeToken(unitDb(), 'c', 'send', rate, NOW)).rejects.toThrow('slow down');
  });

  it('keeps each action in its own attribute', async () => {
    // Prepare
    ddbMock.on(UpdateCommand).rejectsOnce(conditionFailed).resolves({});

    // Act
    const taken = await takeToken(unitDb(), 'c', 'join', rate, NOW);

    // Assess
    expect(taken).toBe(true);
    expect(tatAttribute('join')).toBe('joinTat');
    expect(ddbMock.commandCalls(UpdateCommand).map((call) => call.args[0].input)).toEqual([
      expect.objectContaining({
        UpdateExpression: 'SET joinTat = :next',
        ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(joinTat) OR joinTat <= :now)',
      }),
      expect.objectContaining({
        UpdateExpression: 'SET joinTat = joinTat + :interval',
        ConditionExpression: 'attribute_exists(pk) AND joinTat > :now AND joinTat <= :latest',
      }),
    ]);
  });

  it('with seen, records the heartbeat in the same write as the bucket, in either step', async () => {
    // Prepare
    ddbMock.on(UpdateCommand).resolvesOnce({}).rejectsOnce(conditionFailed).resolves({});

    // Act
    const first = await takeToken(unitDb(), 'c', 'ping', rate, NOW, { seen: true });
    const second = await takeToken(unitDb(), 'c', 'ping', rate, NOW, { seen: true });

    // Assess
    expect([first, second]).toEqual([true, true]);
    expect(ddbMock.commandCalls(UpdateCommand).map((call) => call.args[0].input)).toEqual([
      expect.objectContaining({
        Key: { pk: 'CONN#c', sk: 'META' },
        UpdateExpression: 'SET pingTat = :next, lastSeen = :now',
        ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(pingTat) OR pingTat <= :now)',
        ExpressionAttributeValues: { ':next': NOW + 500, ':now': NOW },
      }),
      expect.objectContaining({ UpdateExpression: 'SET pingTat = :next, lastSeen = :now' }),
      expect.objectContaining({
        UpdateExpression: 'SET pingTat = pingTat + :interval, lastSeen = :now',
        ConditionExpression: 'attribute_exists(pk) AND pingTat > :now AND pingTat <= :latest',
      }),
    ]);
    expect(ddbMock.commandCalls(GetCommand)).toHaveLength(0);
  });
});
