import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { CONNECTION_TTL_SECONDS, keys, probe } from '../../../../lambdas/shared/store/index.js';
import { unitDb } from '../../../helpers/unit-deps.js';

const ddbMock = mockClient(DynamoDBDocumentClient);

afterEach(() => {
  ddbMock.reset();
});

describe('Store (DynamoDB): keys', () => {
  it('builds the keys of docs/data-model.md', () => {
    // Assess
    expect(keys.connection('c')).toEqual({ pk: 'CONN#c', sk: 'META' });
    expect(keys.roomMember('r', 'eu-west-1', 'c')).toEqual({ pk: 'ROOM#r', sk: 'MEMBER#eu-west-1#c' });
    expect(keys.connectionRoom('c', 'r')).toEqual({ pk: 'CONN#c', sk: 'ROOM#r' });
    expect(keys.userConnection('u', 'c')).toEqual({ pk: 'USER#u', sk: 'CONN#c' });
    expect(keys.counter('r', 'global')).toEqual({ pk: 'ROOM#r', sk: 'SEQ#global' });
    expect(keys.claim('r', 'i')).toEqual({ pk: 'ROOM#r', sk: 'ID#i' });
    expect(keys.message('r', 'us-east-1', 42)).toEqual({ pk: 'ROOM#r', sk: 'MSG#us-east-1#000000000042' });
    expect(keys.timeSortKey(1_700_000_000_000, 'us-east-1', 7)).toBe('1700000000000#us-east-1#000000000007');
    expect(keys.health).toEqual({ pk: 'HEALTH', sk: 'HEALTH' });
  });

  it('keeps connection items 2 h 10 min, past API Gateway closing any connection after 2 h', () => {
    // Assess
    expect(CONNECTION_TTL_SECONDS).toBe(7_800);
  });
});

describe('Store (DynamoDB): health', () => {
  it('probes with a strongly consistent read of the health key', async () => {
    // Prepare
    ddbMock.on(GetCommand).resolves({});

    // Act
    await probe(unitDb());

    // Assess
    expect(ddbMock.commandCalls(GetCommand)[0]?.args[0].input).toEqual({
      TableName: 'parley',
      Key: keys.health,
      ConsistentRead: true,
    });
  });
});
