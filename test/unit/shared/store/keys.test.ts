import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CONNECTION_TTL_SECONDS,
  keys,
  openEntry,
  parseOpenEntry,
  probe,
} from '../../../../lambdas/shared/store/index.js';
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
    expect(keys.userOpen('u', 'us-east-1')).toEqual({ pk: 'USER#u', sk: 'OPEN#us-east-1' });
    expect(keys.present('r', 'u', 'us-east-1')).toEqual({ pk: 'ROOM#r', sk: 'PRESENT#u\u0001us-east-1' });
    expect(keys.counter('r', 'global')).toEqual({ pk: 'ROOM#r', sk: 'SEQ#global' });
    expect(keys.claim('r', 'i')).toEqual({ pk: 'ROOM#r', sk: 'ID#i' });
    expect(keys.message('r', 'us-east-1', 42)).toEqual({ pk: 'ROOM#r', sk: 'MSG#us-east-1#000000000042' });
    expect(keys.timeSortKey(1_700_000_000_000, 'us-east-1', 7)).toBe('1700000000000#us-east-1#000000000007');
    expect(keys.health).toEqual({ pk: 'HEALTH', sk: 'HEALTH' });
  });

  it('orders present members by user, then region, and reads open entries back', () => {
    // Prepare
    const users = ['bob', 'amy b', 'amy', 'amy-c', 'Zed'];

    // Act
    const sorted = users.map((user) => keys.present('r', user, 'us-east-1').sk).sort();

    // Assess
    expect(sorted.map((sk) => sk.slice('PRESENT#'.length).split('\u0001')[0])).toEqual([
      'Zed',
      'amy',
      'amy b',
      'amy-c',
      'bob',
    ]);
    expect(openEntry(1_700_000_000_000, 'L0SM9cOFvHcCIhw=')).toBe('1700000000000#L0SM9cOFvHcCIhw=');
    expect(parseOpenEntry(openEntry(42, 'a#b'))).toEqual({ connectedAt: 42, connectionId: 'a#b' });
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
