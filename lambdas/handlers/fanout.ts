/**
 * The fan-out of this region's replica stream: delivers messages and presence changes that
 * originated in other regions to this region's members (see `lambdas/shared/stream.ts`).
 * Records are processed with Powertools' `BatchProcessor`, in order; a failed record is reported as a batch
 * item failure so the event source mapping retries, bisects and finally sends it to the DLQ.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { type HandlerDeps, withHandlerDeps } from '../shared/deps.js';
import { baseMiddlewares } from '../shared/route.js';
import { listMembers, removeConnection, type StreamRecordLike } from '../shared/store/index.js';
import { type FanoutStore, processStreamRecord } from '../shared/stream.js';

const processor = new BatchProcessor(EventType.DynamoDBStreams);

/**
 * Processes one stream batch with partial failure reporting. Records are processed one at a time,
 * in stream order, so one origin's messages reach a connection in seq order; after a failure the
 * rest of the batch is failed too, because the mapping resumes from the first failed record and
 * delivering later records first would reorder them.
 */
export const fanout = (
  deps: HandlerDeps<FanoutStore>,
  event: DynamoDBStreamEvent,
): Promise<DynamoDBBatchResponse> => {
  let failed = false;
  return processPartialResponse(
    event,
    async (record: DynamoDBRecord) => {
      if (failed) throw new Error('an earlier record of this batch failed; retried in order');
      try {
        await processStreamRecord(deps, record as StreamRecordLike);
      } catch (error) {
        failed = true;
        throw error;
      }
    },
    processor,
    { processInParallel: false },
  );
};

/** The stream handler. */
export const handler = middy<DynamoDBStreamEvent, DynamoDBBatchResponse>()
  .use(baseMiddlewares())
  .handler(withHandlerDeps(fanout, { listMembers, removeConnection }));
