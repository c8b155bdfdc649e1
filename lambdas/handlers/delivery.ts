/**
 * The delivery-queue worker: each SQS message is a `DeliveryJob` (`{frame, connectionIds}`, see
 * `lambdas/shared/delivery.ts`). Gone connections are removed; a job with any connection still
 * throttled or failing is reported as a batch item failure, so SQS retries it and finally moves
 * it to the DLQ (clients drop the repeats by `(origin, seq)`).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from 'zod/mini';
import { serverFrameSchema } from '../../protocol/index.js';
import { type DeliveryJob, deliver } from '../shared/delivery.js';
import { type HandlerDeps, type RouteStore, withHandlerDeps } from '../shared/deps.js';
import { baseMiddlewares } from '../shared/route.js';
import { removeConnection } from '../shared/store/index.js';

const processor = new BatchProcessor(EventType.SQS);

const jobSchema = z.object({
  frame: serverFrameSchema,
  connectionIds: z.array(z.string().check(z.minLength(1))),
});

/**
 * Parses a delivery job.
 *
 * @throws Error when the body is not a valid job (left to the DLQ for inspection).
 */
export const parseDeliveryJob = (body: string): DeliveryJob => {
  const parsed = jobSchema.safeParse(JSON.parse(body));
  if (!parsed.success)
    throw new Error(`invalid delivery job: ${parsed.error.issues[0]?.message ?? 'unknown'}`);
  return parsed.data;
};

/** Delivers one job. */
export const deliverJob = async (deps: HandlerDeps<RouteStore>, record: SQSRecord): Promise<void> => {
  const job = parseDeliveryJob(record.body);
  const report = await deliver(deps, job.frame, job.connectionIds);
  const undelivered = report.throttled.length + report.failed.length;
  if (undelivered > 0)
    throw new Error(`${undelivered} of ${job.connectionIds.length} connection(s) not reached`);
};

/**
 * Processes one SQS batch with partial failure reporting, one job after another: each job already
 * keeps the client's socket pool busy (see `DEFAULT_DELIVERY_CONCURRENCY`), so jobs in parallel
 * would only queue for sockets, and in order a connection in two jobs of one batch (two messages
 * of a large room) gets them in the order they were queued.
 */
export const deliveryWorker = (deps: HandlerDeps<RouteStore>, event: SQSEvent): Promise<SQSBatchResponse> =>
  processPartialResponse(event, (record: SQSRecord) => deliverJob(deps, record), processor, {
    processInParallel: false,
  });

/** The delivery queue handler. */
export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use(baseMiddlewares())
  .handler(withHandlerDeps(deliveryWorker, { removeConnection }));
