import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { health } from '../../../lambdas/handlers/health.js';
import { keys } from '../../../lambdas/shared/store/index.js';
import { unitDeps } from '../../helpers/unit-deps.js';

const ddbMock = mockClient(DynamoDBDocumentClient);

afterEach(() => {
  ddbMock.reset();
});

describe('Handler: health', () => {
  it('answers 200 ok with the region when the replica answers', async () => {
    // Prepare
    ddbMock.on(GetCommand).resolves({});

    // Act
    const result = await health(unitDeps().store, 'us-east-1');

    // Assess
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(String(result.body))).toEqual({ status: 'ok', region: 'us-east-1' });
    expect(ddbMock.commandCalls(GetCommand)[0]?.args[0].input).toMatchObject({
      TableName: 'parley',
      Key: keys.health,
    });
  });

  it('answers 503 unavailable with the reason when the replica fails', async () => {
    // Prepare
    ddbMock
      .on(GetCommand)
      .rejects(Object.assign(new Error('endpoint unreachable'), { name: 'InternalServerError' }));

    // Act
    const result = await health(unitDeps().store, 'eu-west-1');

    // Assess
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(String(result.body))).toEqual({
      status: 'unavailable',
      region: 'eu-west-1',
      reason: 'InternalServerError: endpoint unreachable',
    });
  });

  it('answers 503 when no table is configured', async () => {
    // Act
    const result = await health(undefined, 'eu-west-1');

    // Assess
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(String(result.body)).reason).toMatch(/TABLE_NAME/);
  });
});
