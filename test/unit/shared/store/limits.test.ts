import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { sendSchedule, takeSendToken } from '../../../../lambdas/shared/store/index.js';
import { NOW, unitDb } from '../../../helpers/unit-deps.js';

const ddbMock = mockClient(DynamoDBDocumentClient);
const limits = { sendRatePerSecond: 2, sendBurst: 4 };
const conditionFailed = Object.assign(new Error('condition'), { name: 'ConditionalCheckFailedException' });

afterEach(() => {
  ddbMock.reset();
});

describe('Store (DynamoDB): send rate limit', () => {
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
});
