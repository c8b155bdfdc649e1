/**
 * Replays the dead-letter queues (invoked by hand through the `redrive` Lambda or a CLI).
 *
 * - Delivery DLQ: each message is a `DeliveryJob`; it is sent back to the delivery queue, then
 *   deleted from the DLQ. Running twice is harmless: a job may be delivered again, and clients
 *   drop repeats by `(origin, seq)`.
 * - Stream DLQ: Lambda's on-failure records of a DynamoDB stream mapping carry only the shard and
 *   the sequence number range (`DDBStreamBatchInfo`), not the data. The records are read again with
 *   `GetShardIterator` (`AT_SEQUENCE_NUMBER`) + `GetRecords` and re-delivered through the fan-out
 *   logic. Stream records are kept 24 hours: an older failure can no longer be replayed (it is
 *   reported as failed and left in the DLQ); clients recover such messages by cursor on resume.
 *
 * A DLQ message is deleted only after its replay succeeded.
 */
import {
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import {
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { logger } from './logger.js';
import type { StreamRecordLike } from './store/index.js';

/** Input of the `redrive` Lambda; the defaults come from `DELIVERY_DLQ_URL` / `STREAM_DLQ_URL`. */
export interface RedriveInput {
  /** The DLQ to replay (default: the DLQ of `kind`). */
  queueUrl?: string;
  /** Which DLQ format it holds (default `delivery`). */
  kind?: 'delivery' | 'stream';
  /** At most this many DLQ messages (default 1000). */
  max?: number;
}

/** The outcome of a redrive. */
export interface RedriveResult {
  kind: 'delivery' | 'stream';
  queueUrl: string;
  /** DLQ messages received. */
  received: number;
  /** DLQ messages replayed and deleted. */
  replayed: number;
  /** DLQ messages left in the DLQ because their replay failed. */
  failed: number;
}

/** The batch info Lambda puts in an on-failure record of a DynamoDB stream mapping. */
export interface StreamBatchInfo {
  shardId: string;
  startSequenceNumber: string;
  endSequenceNumber: string;
  streamArn: string;
  batchSize?: number;
}

const DEFAULT_MAX = 1_000;

type Received = { body: string; receiptHandle: string };

/** Receives up to `max` messages from a queue, page by page, handing each to `handle`. */
const drain = async (
  sqs: SQSClient,
  queueUrl: string,
  max: number,
  handle: (message: Received) => Promise<boolean>,
): Promise<Omit<RedriveResult, 'kind' | 'queueUrl'>> => {
  const result = { received: 0, replayed: 0, failed: 0 };
  while (result.received < max) {
    const page = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, max - result.received),
        WaitTimeSeconds: 1,
        // Long enough to replay a page; a failed message becomes visible again afterwards.
        VisibilityTimeout: 60,
      }),
    );
    const messages = page.Messages ?? [];
    if (messages.length === 0) break;
    for (const message of messages) {
      if (message.Body === undefined || message.ReceiptHandle === undefined) continue;
      result.received += 1;
      let ok = false;
      try {
        ok = await handle({ body: message.Body, receiptHandle: message.ReceiptHandle });
      } catch (error) {
        logger.warn('redrive of a DLQ message failed', { error: error as Error, queueUrl });
      }
      if (ok) {
        await sqs.send(
          new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
        );
        result.replayed += 1;
      } else {
        result.failed += 1;
      }
    }
  }
  return result;
};

/** Moves the delivery DLQ's jobs back to the delivery queue. */
export const redriveDeliveryDlq = async (deps: {
  sqs: SQSClient;
  dlqUrl: string;
  targetUrl: string;
  max?: number;
}): Promise<RedriveResult> => {
  const counts = await drain(deps.sqs, deps.dlqUrl, deps.max ?? DEFAULT_MAX, async ({ body }) => {
    await deps.sqs.send(new SendMessageCommand({ QueueUrl: deps.targetUrl, MessageBody: body }));
    return true;
  });
  return { kind: 'delivery', queueUrl: deps.dlqUrl, ...counts };
};

/**
 * Parses a stream on-failure record.
 *
 * @throws Error when the body carries no `DDBStreamBatchInfo`.
 */
export const parseStreamFailure = (body: string): StreamBatchInfo => {
  const value = JSON.parse(body) as { DDBStreamBatchInfo?: Partial<StreamBatchInfo> };
  const info = value.DDBStreamBatchInfo;
  if (
    typeof info?.shardId !== 'string' ||
    typeof info.startSequenceNumber !== 'string' ||
    typeof info.endSequenceNumber !== 'string' ||
    typeof info.streamArn !== 'string'
  ) {
    throw new Error('not a DynamoDB stream on-failure record (no DDBStreamBatchInfo)');
  }
  return info as StreamBatchInfo;
};

/** Reads the stream records of one failed batch, from its first to its last sequence number. */
export const readStreamBatch = async (
  streams: DynamoDBStreamsClient,
  info: StreamBatchInfo,
  maxEmptyPolls = 3,
): Promise<StreamRecordLike[]> => {
  const end = BigInt(info.endSequenceNumber);
  const iterator = await streams.send(
    new GetShardIteratorCommand({
      StreamArn: info.streamArn,
      ShardId: info.shardId,
      ShardIteratorType: 'AT_SEQUENCE_NUMBER',
      SequenceNumber: info.startSequenceNumber,
    }),
  );
  const records: StreamRecordLike[] = [];
  let next = iterator.ShardIterator;
  let emptyPolls = 0;
  while (next !== undefined && emptyPolls < maxEmptyPolls) {
    const page = await streams.send(new GetRecordsCommand({ ShardIterator: next }));
    const batch = page.Records ?? [];
    if (batch.length === 0) emptyPolls += 1;
    for (const record of batch) {
      const seq = record.dynamodb?.SequenceNumber;
      if (seq !== undefined && BigInt(seq) > end) return records;
      records.push(record as StreamRecordLike);
      if (seq !== undefined && BigInt(seq) === end) return records;
    }
    next = page.NextShardIterator;
  }
  return records;
};

/** Replays the stream DLQ: re-reads each failed batch and passes every record to `process`. */
export const redriveStreamDlq = async (deps: {
  sqs: SQSClient;
  streams: DynamoDBStreamsClient;
  dlqUrl: string;
  process: (record: StreamRecordLike) => Promise<unknown>;
  max?: number;
}): Promise<RedriveResult> => {
  const counts = await drain(deps.sqs, deps.dlqUrl, deps.max ?? DEFAULT_MAX, async ({ body }) => {
    const info = parseStreamFailure(body);
    const records = await readStreamBatch(deps.streams, info);
    if (records.length === 0) {
      logger.warn('stream records of a failed batch are no longer readable', { shardId: info.shardId });
      return false;
    }
    for (const record of records) await deps.process(record);
    return true;
  });
  return { kind: 'stream', queueUrl: deps.dlqUrl, ...counts };
};
