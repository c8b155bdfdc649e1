import {
  ApiGatewayManagementApiClient,
  ForbiddenException,
  GoneException,
  LimitExceededException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_DELIVERY_CONCURRENCY,
  DELIVERY_BATCH_IDS,
  type DeliveryJob,
  deliver,
  deliverToRoom,
  enqueueDeliveries,
  isGone,
  isThrottle,
  reply,
} from '../../../lambdas/shared/delivery.js';
import type { ServerFrame } from '../../../protocol/index.js';
import { postedFrames, QUEUE_URL, unitDeps } from '../../helpers/unit-deps.js';

const apiMock = mockClient(ApiGatewayManagementApiClient);
const sqsMock = mockClient(SQSClient);

const frame: ServerFrame = { type: 'pong', ts: 1 };
const gone = () => new GoneException({ message: 'gone', $metadata: { httpStatusCode: 410 } });
const throttled = () =>
  new LimitExceededException({ message: 'slow down', $metadata: { httpStatusCode: 429 } });

afterEach(() => {
  apiMock.reset();
  sqsMock.reset();
});

const queuedJobs = (): DeliveryJob[] =>
  sqsMock
    .commandCalls(SendMessageBatchCommand)
    .flatMap((call) => call.args[0].input.Entries ?? [])
    .map((entry) => JSON.parse(entry.MessageBody ?? '') as DeliveryJob);

describe('Shared: delivery', () => {
  it('classifies gone and throttling errors by name and by status', () => {
    // Assess
    expect(isGone(gone())).toBe(true);
    expect(isGone(Object.assign(new Error('x'), { $metadata: { httpStatusCode: 410 } }))).toBe(true);
    expect(isThrottle(throttled())).toBe(true);
    expect(isThrottle(Object.assign(new Error('x'), { name: 'TooManyRequestsException' }))).toBe(true);
    expect(isThrottle(Object.assign(new Error('x'), { $metadata: { httpStatusCode: 429 } }))).toBe(true);
    expect(isGone(throttled())).toBe(false);
    expect(isThrottle(new Error('other'))).toBe(false);
  });

  it('posts the frame as JSON to every connection', async () => {
    // Prepare
    apiMock.on(PostToConnectionCommand).resolves({});

    // Act
    const report = await deliver(unitDeps(), frame, ['a', 'b', 'c']);

    // Assess
    expect(report).toEqual({ delivered: ['a', 'b', 'c'], gone: [], throttled: [], failed: [] });
    expect(postedFrames(apiMock)).toEqual(['a', 'b', 'c'].map((connectionId) => ({ connectionId, frame })));
  });

  it('removes a gone connection with all its memberships', async () => {
    // Prepare
    apiMock.on(PostToConnectionCommand, { ConnectionId: 'stale' }).rejects(gone());
    apiMock.on(PostToConnectionCommand, { ConnectionId: 'fresh' }).resolves({});
    const deps = unitDeps();
    const { store } = deps;
    await store.putConnection({ connectionId: 'stale', user: 'u', region: 'us-east-1', now: 1 });
    await store.registerUserConnection({
      user: 'u',
      connectionId: 'stale',
      region: 'us-east-1',
      now: 1,
      max: 5,
    });
    for (const room of ['r1', 'r2']) {
      await store.addMembership({ room, connectionId: 'stale', user: 'u', region: 'us-east-1', now: 1 });
    }

    // Act
    const report = await deliver(deps, frame, ['stale', 'fresh']);

    // Assess
    expect(report.gone).toEqual(['stale']);
    expect(report.delivered).toEqual(['fresh']);
    expect(await store.getConnection('stale')).toBeUndefined();
    for (const room of ['r1', 'r2']) {
      expect(await store.isMember(room, 'stale')).toBe(false);
      expect(await store.listMembers(room)).toEqual([]);
    }
    // Its user entry too: under a limit of one, u may connect again.
    expect(
      await store.registerUserConnection({
        user: 'u',
        connectionId: 'next',
        region: 'us-east-1',
        now: 1,
        max: 1,
      }),
    ).toBe(true);
  });

  it('retries throttling with backoff and full jitter, then succeeds', async () => {
    // Prepare
    apiMock.on(PostToConnectionCommand).rejectsOnce(throttled()).rejectsOnce(throttled()).resolves({});
    const delays: number[] = [];
    const deps = unitDeps({}, { sleep: async (ms) => void delays.push(ms), random: () => 0.999 });

    // Act
    const report = await deliver(deps, frame, ['a']);

    // Assess
    expect(report.delivered).toEqual(['a']);
    expect(apiMock.commandCalls(PostToConnectionCommand)).toHaveLength(3);
    // Full jitter: below base * 2^attempt (50, then 100 ms).
    expect(delays).toHaveLength(2);
    expect(delays[0]).toBeLessThan(50);
    expect(delays[1]).toBeLessThan(100);
    expect(delays[1]).toBeGreaterThan(delays[0] ?? 0);
  });

  it('stops after the bounded attempts and queues what is still throttled', async () => {
    // Prepare
    apiMock.on(PostToConnectionCommand).rejects(throttled());
    sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });

    // Act
    const report = await deliverToRoom(unitDeps(), frame, ['a'], { inlineMax: 10, queueFailures: false });

    // Assess
    expect(apiMock.commandCalls(PostToConnectionCommand)).toHaveLength(5);
    expect(report.throttled).toEqual([]);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)[0]?.args[0].input.QueueUrl).toBe(QUEUE_URL);
    expect(queuedJobs()).toEqual([{ frame, connectionIds: ['a'] }]);
  });

  it('leaves other failures to the caller unless asked to queue them', async () => {
    // Prepare
    apiMock.on(PostToConnectionCommand).rejects(new ForbiddenException({ message: 'no', $metadata: {} }));
    sqsMock.on(SendMessageBatchCommand).resolves({ Failed: [] });

    // Act
    const kept = await deliverToRoom(unitDeps(), frame, ['a'], { inlineMax: 10, queueFailures: false });
    const queued = await deliverToRoom(unitDeps(), frame, ['b'], { inlineMax: 10, queueFailures: true });

    // Assess
    expect(kept.failed).toEqual(['a']);
    expect(queued.failed).toEqual([]);
    expect(queuedJobs()).toEqual([{ frame, connectionIds: ['b'] }]);
  });

  it('sends rooms above the inline limit to the queue in batches of connection ids', async () => {
    // Prepare
    sqsMock.on(SendMessageBatchCommand).resolves({ Failed: [] });
    const ids = Array.from({ length: 1_250 }, (_, index) => `c${index}`);

    // Act
    const report = await deliverToRoom(unitDeps(), frame, ids, { inlineMax: 100, queueFailures: true });

    // Assess
    expect(apiMock.commandCalls(PostToConnectionCommand)).toHaveLength(0);
    expect(report.delivered).toEqual([]);
    const calls = sqsMock.commandCalls(SendMessageBatchCommand);
    expect(calls.map((call) => call.args[0].input.Entries?.length)).toEqual([10, 3]);
    const jobs = queuedJobs();
    expect(jobs.every((job) => job.connectionIds.length <= DELIVERY_BATCH_IDS)).toBe(true);
    expect(jobs.flatMap((job) => job.connectionIds)).toEqual(ids);
  });

  it('reports a queue that refuses entries', async () => {
    // Prepare
    sqsMock
      .on(SendMessageBatchCommand)
      .resolves({ Failed: [{ Id: '0', Code: 'x', Message: 'refused', SenderFault: true }] });

    // Act + Assess
    await expect(enqueueDeliveries(unitDeps(), frame, ['a'])).rejects.toThrow(/refused/);
    await expect(enqueueDeliveries(unitDeps({}, { queueUrl: undefined }), frame, ['a'])).rejects.toThrow(
      /DELIVERY_QUEUE_URL/,
    );
  });

  /** Makes every post take a turn of the event loop; returns the most posts seen in flight. */
  const trackPostsInFlight = (): (() => number) => {
    let inFlight = 0;
    let peak = 0;
    apiMock.on(PostToConnectionCommand).callsFake(async () => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight -= 1;
      return {};
    });
    return () => peak;
  };
  const connectionIds = (count: number): string[] => Array.from({ length: count }, (_, index) => `c${index}`);

  it('keeps at most the configured number of posts in flight', async () => {
    // Prepare
    const peak = trackPostsInFlight();

    // Act
    await deliver(unitDeps({}, { concurrency: 3 }), frame, connectionIds(20));

    // Assess
    expect(peak()).toBe(3);
  });

  it('keeps as many posts in flight as the SDK has sockets when not configured', async () => {
    // Prepare
    const peak = trackPostsInFlight();

    // Act
    await deliver(unitDeps(), frame, connectionIds(200));

    // Assess
    expect(DEFAULT_DELIVERY_CONCURRENCY).toBe(50);
    expect(peak()).toBe(DEFAULT_DELIVERY_CONCURRENCY);
  });

  it('reply reports whether the caller got the frame', async () => {
    // Prepare
    apiMock.on(PostToConnectionCommand, { ConnectionId: 'ok' }).resolves({});
    apiMock.on(PostToConnectionCommand, { ConnectionId: 'broken' }).rejects(new Error('down'));

    // Act + Assess
    expect(await reply(unitDeps(), 'ok', frame)).toBe(true);
    expect(await reply(unitDeps(), 'broken', frame)).toBe(false);
  });
});
