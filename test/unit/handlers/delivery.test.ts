import {
  ApiGatewayManagementApiClient,
  GoneException,
  LimitExceededException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { deliveryWorker, parseDeliveryJob } from '../../../lambdas/handlers/delivery.js';
import { sqsEvent, sqsRecord } from '../../helpers/events.js';
import { postedFrames, unitDeps } from '../../helpers/unit-deps.js';

const apiMock = mockClient(ApiGatewayManagementApiClient);

afterEach(() => {
  apiMock.reset();
});

const frame = {
  type: 'message',
  room: 'r',
  id: 'i',
  origin: 'us-east-1',
  seq: 1,
  from: 'a',
  body: 'x',
  ts: 1,
};

describe('Handler: delivery', () => {
  it('posts each job frame to its connections', async () => {
    // Prepare
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    const response = await deliveryWorker(
      unitDeps(),
      sqsEvent(sqsRecord({ frame, connectionIds: ['a', 'b'] }, 'm1')),
    );

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(postedFrames(apiMock)).toEqual([
      { connectionId: 'a', frame },
      { connectionId: 'b', frame },
    ]);
  });

  it('removes gone connections without failing the job', async () => {
    // Prepare
    apiMock.on(PostToConnectionCommand).rejects(new GoneException({ message: 'gone', $metadata: {} }));
    const deps = unitDeps();
    await deps.store.putConnection({ connectionId: 'old', user: 'u', region: 'us-east-1', now: 1 });

    // Act
    const response = await deliveryWorker(deps, sqsEvent(sqsRecord({ frame, connectionIds: ['old'] }, 'm1')));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await deps.store.getConnection('old')).toBeUndefined();
  });

  it('reports jobs still throttled or malformed as batch item failures, and only those', async () => {
    // Prepare
    apiMock.on(PostToConnectionCommand, { ConnectionId: 'ok' }).resolves({});
    apiMock
      .on(PostToConnectionCommand, { ConnectionId: 'busy' })
      .rejects(new LimitExceededException({ message: 'slow', $metadata: {} }));

    // Act
    const response = await deliveryWorker(
      unitDeps(),
      sqsEvent(
        sqsRecord({ frame, connectionIds: ['ok'] }, 'good'),
        sqsRecord({ frame, connectionIds: ['busy'] }, 'throttled'),
        sqsRecord('not json', 'garbage'),
        sqsRecord({ frame: { type: 'nope' }, connectionIds: ['ok'] }, 'invalid'),
      ),
    );

    // Assess
    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual([
      'garbage',
      'invalid',
      'throttled',
    ]);
    expect(apiMock.commandCalls(PostToConnectionCommand, { ConnectionId: 'busy' })).toHaveLength(5);
  });

  it('parses a job and refuses one without connection ids', () => {
    // Assess
    expect(parseDeliveryJob(JSON.stringify({ frame, connectionIds: ['a'] }))).toEqual({
      frame,
      connectionIds: ['a'],
    });
    expect(() => parseDeliveryJob(JSON.stringify({ frame }))).toThrow(/invalid delivery job/);
  });
  it('delivers the jobs of a batch in their queue order, one job after another', async () => {
    // Prepare: the first job's post is slow, so jobs run side by side would post seq 2 first.
    const posts: number[] = [];
    apiMock.on(PostToConnectionCommand).callsFake(async (input: { Data: unknown }) => {
      const { seq } = JSON.parse(String(input.Data)) as { seq: number };
      if (seq === 1) await new Promise((resolve) => setTimeout(resolve, 20));
      posts.push(seq);
      return {};
    });

    // Act
    const response = await deliveryWorker(
      unitDeps(),
      sqsEvent(
        sqsRecord({ frame, connectionIds: ['a'] }, 'm1'),
        sqsRecord({ frame: { ...frame, id: 'j', seq: 2 }, connectionIds: ['a'] }, 'm2'),
      ),
    );

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(posts).toEqual([1, 2]);
  });
});
