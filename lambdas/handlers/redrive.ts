/**
 * Replays a dead-letter queue; invoked by hand (`aws lambda invoke`, or `npm run redrive`).
 * Input `{ queueUrl?, kind?: 'delivery' | 'stream', max? }`; the queue defaults to
 * `DELIVERY_DLQ_URL` or `STREAM_DLQ_URL`. See `lambdas/shared/redrive.ts`.
 */
import middy from '@middy/core';
import { sqs, streams } from '../shared/clients.js';
import { handlerDeps } from '../shared/deps.js';
import { requireEnv } from '../shared/env.js';
import { logger } from '../shared/logger.js';
import {
  type RedriveInput,
  type RedriveResult,
  redriveDeliveryDlq,
  redriveStreamDlq,
} from '../shared/redrive.js';
import { baseMiddlewares } from '../shared/route.js';
import { listMembers, removeConnection } from '../shared/store/index.js';
import { type FanoutStore, processStreamRecord } from '../shared/stream.js';

/** Runs one redrive with this container's clients and environment. */
export const redrive = async (input: RedriveInput = {}): Promise<RedriveResult> => {
  const kind = input.kind ?? 'delivery';
  if (kind === 'stream') {
    const deps = handlerDeps<FanoutStore>({ listMembers, removeConnection });
    return redriveStreamDlq({
      sqs: sqs(),
      streams: streams(),
      dlqUrl: input.queueUrl ?? requireEnv('STREAM_DLQ_URL'),
      process: (record) => processStreamRecord(deps, record),
      ...(input.max !== undefined ? { max: input.max } : {}),
    });
  }
  return redriveDeliveryDlq({
    sqs: sqs(),
    dlqUrl: input.queueUrl ?? requireEnv('DELIVERY_DLQ_URL'),
    targetUrl: requireEnv('DELIVERY_QUEUE_URL'),
    ...(input.max !== undefined ? { max: input.max } : {}),
  });
};

/** The redrive handler. */
export const handler = middy<RedriveInput | null, RedriveResult>()
  .use(baseMiddlewares())
  .handler(async (event) => {
    const result = await redrive(event ?? {});
    logger.info('redrive finished', { ...result });
    return result;
  });
