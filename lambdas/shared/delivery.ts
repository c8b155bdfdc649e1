/**
 * Delivery of server frames to WebSocket connections through the stage's `@connections` API.
 *
 * - Bounded concurrency, so a large room does not open hundreds of sockets at once.
 * - `GoneException` (410): the connection is stale; its item and memberships are removed.
 * - Throttling (429, `LimitExceededException`, `TooManyRequestsException`): retried with
 *   exponential backoff and full jitter, a bounded number of times.
 * - What still fails is handed to the SQS delivery queue as {@link DeliveryJob}s, whose DLQ keeps
 *   whatever the delivery worker cannot deliver either.
 *
 * @example
 * ```ts
 * const report = await deliverToRoom(deps, frame, memberIds, { inlineMax: 100 });
 * ```
 */
import {
  type ApiGatewayManagementApiClient,
  GetConnectionCommand,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { MAX_REPLY_BYTES, type ServerFrame } from '../../protocol/index.js';
import { logger } from './logger.js';
import { count, MetricName } from './metrics.js';
import { frameBytes, tooLargeReply } from './reply-size.js';
import { fullJitter, retry } from './retry.js';
import type { Store } from './store/index.js';

/**
 * The body of one SQS delivery-queue message: a frame and the connections (all in the region of
 * the queue) that should receive it. The delivery worker posts `frame` to each connection id.
 */
export interface DeliveryJob {
  /** The server frame to post, exactly as clients receive it. */
  frame: ServerFrame;
  /** Connection ids of this region. */
  connectionIds: string[];
}

/** What delivery needs of the store: a connection `@connections` reports gone (410) is removed. */
export type DeliveryStore = Pick<Store, 'removeConnection'>;

/**
 * What delivery needs: the `@connections` client, the store (for 410 cleanup), the queue. `S`
 * is the store's methods: handlers that do more than deliver carry more of them here.
 */
export interface DeliveryDeps<S = DeliveryStore> {
  connections: ApiGatewayManagementApiClient;
  store: S;
  /** This region: the region of every connection delivered to. */
  region: string;
  sqs?: SQSClient | undefined;
  /** The delivery queue; without it, failures are only logged and counted. */
  queueUrl?: string | undefined;
  /** Posts in flight at once (default {@link DEFAULT_DELIVERY_CONCURRENCY}). */
  concurrency?: number;
  /** Attempts per connection when throttled (default 5). */
  maxAttempts?: number;
  /** Backoff base and cap in ms (default 50 and 2000). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** The outcome of delivering one frame to a set of connections. */
export interface DeliveryReport {
  delivered: string[];
  gone: string[];
  /** Still throttled after every attempt. */
  throttled: string[];
  /** Failed with any other error. */
  failed: string[];
}

/** Connection ids per delivery-queue message. */
export const DELIVERY_BATCH_IDS = 100;
/** SQS limits: 10 entries per `SendMessageBatch`, 256 KiB per request (some headroom kept). */
const SQS_BATCH_ENTRIES = 10;
const SQS_BATCH_BYTES = 240 * 1024;

const statusOf = (error: unknown): number | undefined =>
  (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;

/** Whether `@connections` says the connection no longer exists (410 Gone). */
export const isGone = (error: unknown): boolean =>
  (error instanceof Error && error.name === 'GoneException') || statusOf(error) === 410;

/**
 * Whether API Gateway no longer knows a connection (`GetConnection` answers 410). Any other
 * failure counts as alive: this only ever frees a slot for a connection that is surely gone.
 */
export const connectionGone = async (
  client: ApiGatewayManagementApiClient,
  connectionId: string,
): Promise<boolean> => {
  try {
    await client.send(new GetConnectionCommand({ ConnectionId: connectionId }));
    return false;
  } catch (error) {
    return isGone(error);
  }
};

const THROTTLE_NAMES = new Set([
  'LimitExceededException',
  'TooManyRequestsException',
  'ThrottlingException',
  'TooManyRequests',
]);

/** Whether `@connections` throttled the call (429). */
export const isThrottle = (error: unknown): boolean =>
  (error instanceof Error && THROTTLE_NAMES.has(error.name)) || statusOf(error) === 429;

type PostResult = 'delivered' | 'gone' | 'throttled' | 'failed';

/** Posts one frame to one connection, retrying throttling with backoff and full jitter. */
export const postWithRetry = async (
  deps: DeliveryDeps,
  connectionId: string,
  frame: ServerFrame,
): Promise<PostResult> => {
  const data = JSON.stringify(frame);
  const throttled = (error: unknown) => !isGone(error) && isThrottle(error);
  try {
    await retry(
      async () => {
        try {
          await deps.connections.send(
            new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }),
          );
        } catch (error) {
          if (throttled(error)) count(MetricName.DeliveryThrottles);
          throw error;
        }
      },
      {
        attempts: deps.maxAttempts ?? 5,
        retryable: throttled,
        delayMs: (attempt) =>
          fullJitter(attempt, deps.baseDelayMs ?? 50, deps.maxDelayMs ?? 2_000, deps.random),
        sleep: deps.sleep,
      },
    );
    return 'delivered';
  } catch (error) {
    if (isGone(error)) return 'gone';
    if (isThrottle(error)) return 'throttled';
    logger.warn('post to connection failed', { connectionId, error: error as Error });
    return 'failed';
  }
};

/**
 * Posts in flight at once by default: the SDK's HTTP handler keeps 50 sockets per client, so more
 * would only wait in its queue (and past 100 waiting it logs a warning on every call), and fewer
 * leaves sockets idle while a room of a hundred waits on round trips.
 */
export const DEFAULT_DELIVERY_CONCURRENCY = 50;

/** Runs `work` over `items` with at most `limit` in flight. */
const forEachLimited = async <T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) => {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
};

/** Removes a connection that `@connections` reported gone; a failed cleanup is only logged. */
export const removeGone = async (
  deps: Pick<DeliveryDeps, 'store' | 'region'>,
  connectionId: string,
): Promise<void> => {
  try {
    await deps.store.removeConnection(connectionId, deps.region);
  } catch (error) {
    logger.warn('could not remove a gone connection', { connectionId, error: error as Error });
  }
};

/** Delivers one frame to each connection; never throws for a per-connection failure. */
export const deliver = async (
  deps: DeliveryDeps,
  frame: ServerFrame,
  connectionIds: readonly string[],
): Promise<DeliveryReport> => {
  const report: DeliveryReport = { delivered: [], gone: [], throttled: [], failed: [] };
  await forEachLimited(
    connectionIds,
    deps.concurrency ?? DEFAULT_DELIVERY_CONCURRENCY,
    async (connectionId) => {
      const result = await postWithRetry(deps, connectionId, frame);
      report[result === 'delivered' ? 'delivered' : result].push(connectionId);
      if (result === 'gone') await removeGone(deps, connectionId);
    },
  );
  count(MetricName.MessagesDelivered, report.delivered.length);
  count(MetricName.ConnectionsGone, report.gone.length);
  count(MetricName.DeliveryFailures, report.throttled.length + report.failed.length);
  return report;
};

/**
 * Sends a frame to a single caller (a direct reply). Returns whether it arrived; a gone caller is
 * cleaned up. Replies are never queued: a queued `joined` could arrive after the replay it precedes.
 */
export const reply = async (
  deps: DeliveryDeps,
  connectionId: string,
  frame: ServerFrame,
): Promise<boolean> => {
  // A reply over PostToConnection's 128 KiB would be refused (413) and lost: the caller is told
  // instead, with payload_too_large (its ref echoed), so no reply is ever dropped without a word.
  const bytes = frameBytes(frame);
  const sent = bytes > MAX_REPLY_BYTES ? tooLargeReply(frame, bytes) : frame;
  if (sent !== frame) logger.warn('reply too large', { connectionId, type: frame.type, bytes });
  const result = await postWithRetry(deps, connectionId, sent);
  if (result === 'gone') await removeGone(deps, connectionId);
  if (result !== 'delivered') logger.warn('reply not delivered', { connectionId, result, type: frame.type });
  return result === 'delivered' && sent === frame;
};

/**
 * Puts delivery jobs on the delivery queue: connection ids in chunks of {@link DELIVERY_BATCH_IDS},
 * sent with `SendMessageBatch` within SQS's entry and size limits.
 *
 * @throws Error when the queue is not configured or SQS refuses an entry.
 */
export const enqueueDeliveries = async (
  deps: DeliveryDeps,
  frame: ServerFrame,
  connectionIds: readonly string[],
): Promise<number> => {
  if (connectionIds.length === 0) return 0;
  if (deps.sqs === undefined || deps.queueUrl === undefined) {
    throw new Error('DELIVERY_QUEUE_URL is not configured; cannot queue deliveries');
  }
  const bodies: string[] = [];
  for (let start = 0; start < connectionIds.length; start += DELIVERY_BATCH_IDS) {
    const job: DeliveryJob = { frame, connectionIds: connectionIds.slice(start, start + DELIVERY_BATCH_IDS) };
    bodies.push(JSON.stringify(job));
  }
  let batch: string[] = [];
  let batchBytes = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const entries = batch.map((body, index) => ({ Id: String(index), MessageBody: body }));
    batch = [];
    batchBytes = 0;
    const result = await deps.sqs?.send(
      new SendMessageBatchCommand({ QueueUrl: deps.queueUrl, Entries: entries }),
    );
    const failed = result?.Failed ?? [];
    if (failed.length > 0) {
      throw new Error(`delivery queue refused ${failed.length} job(s): ${failed[0]?.Message ?? 'unknown'}`);
    }
  };
  for (const body of bodies) {
    const size = Buffer.byteLength(body);
    if (batch.length === SQS_BATCH_ENTRIES || batchBytes + size > SQS_BATCH_BYTES) await flush();
    batch.push(body);
    batchBytes += size;
  }
  await flush();
  count(MetricName.DeliveriesQueued, connectionIds.length);
  return bodies.length;
};

/** Options of {@link deliverToRoom}. */
export interface RoomDeliveryOptions {
  /** Rooms with more local members than this go straight to the delivery queue. */
  inlineMax: number;
  /**
   * Whether connections that failed with a non-throttling error are queued too (the send path:
   * nothing may fail the ack) or left to the caller (the fan-out: the stream record is retried).
   */
  queueFailures: boolean;
}

/**
 * Delivers a frame to a room's local members: inline up to `inlineMax`, else through the delivery
 * queue; inline failures (throttled, and other errors when `queueFailures`) go to the queue.
 * Returns the report; `failed` holds what was neither delivered nor queued.
 */
export const deliverToRoom = async (
  deps: DeliveryDeps,
  frame: ServerFrame,
  connectionIds: readonly string[],
  options: RoomDeliveryOptions,
): Promise<DeliveryReport> => {
  if (connectionIds.length > options.inlineMax) {
    await enqueueDeliveries(deps, frame, connectionIds);
    return { delivered: [], gone: [], throttled: [], failed: [] };
  }
  const report = await deliver(deps, frame, connectionIds);
  const toQueue = options.queueFailures ? [...report.throttled, ...report.failed] : report.throttled;
  if (toQueue.length > 0) {
    try {
      await enqueueDeliveries(deps, frame, toQueue);
      const queued = new Set(toQueue);
      return { ...report, throttled: [], failed: report.failed.filter((id) => !queued.has(id)) };
    } catch (error) {
      logger.error('could not queue failed deliveries', { error: error as Error, count: toQueue.length });
    }
  }
  return report;
};
