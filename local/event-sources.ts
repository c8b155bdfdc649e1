/**
 * The local Lambda service's event source mappings, played from the template: the table's stream
 * (batch size, retries, bisect on error, maximum record age, partial batch responses, on-failure
 * SQS destination; a throttled batch is retried without spending a retry) and SQS queues (batch
 * size, partial batch responses; failed and throttled messages return after the visibility
 * timeout and the queue's redrive policy moves them to its DLQ).
 */
import { randomUUID } from 'node:crypto';
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { sleep } from '../lambdas/shared/retry.js';
import { isThrottled, type LambdaService } from './lambda-service.js';
import type { BufferedRecord, StreamReader } from './stream-reader.js';
import type { MappingModel } from './template.js';

/** Converts SDK values to what Lambda's JSON event carries (binary attributes as base64). */
const toEventJson = (value: unknown): unknown => {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value instanceof Date) return Math.floor(value.getTime() / 1000);
  if (Array.isArray(value)) return value.map(toEventJson);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, toEventJson(v)]),
    );
  }
  return value;
};

/** Shared by both kinds of mapping. */
export interface MappingContext {
  region: string;
  lambda: LambdaService;
  sqs: SQSClient;
  /** Whether the region is down (a simulated outage): the mapping waits. */
  paused: () => boolean;
  /** Local URL of a queue by logical id. */
  queueUrl: (logicalId: string) => string | undefined;
  /** Local ARN of a queue by logical id. */
  queueArn: (logicalId: string) => string | undefined;
  log: (line: string) => void;
  /** Delay before retry n (1-based) of a failed batch. */
  retryDelayMs: (attempt: number) => number;
  /** Poll interval of an idle mapping. */
  pollIntervalMs: number;
}

/** A running mapping. */
export interface RunningMapping {
  logicalId: string;
  handler: string;
  stop(): Promise<void>;
}

/** Whether a mapping has been told to stop; its steps check it between calls. */
interface StopFlag {
  stopped: boolean;
}

/**
 * Runs a mapping's poller: `step` (one poll and its invocations) again and again until the
 * mapping stops, waiting a poll interval while the region is down. A step that fails (an engine
 * call) is logged and the next waits five poll intervals, so a failing engine is not hammered.
 */
const runPoller = (
  context: MappingContext,
  mapping: MappingModel,
  handler: string,
  label: string,
  flag: StopFlag,
  step: () => Promise<void>,
): RunningMapping => {
  const loop = async (): Promise<void> => {
    while (!flag.stopped) {
      try {
        if (context.paused()) await sleep(context.pollIntervalMs);
        else await step();
      } catch (error) {
        if (flag.stopped) return;
        context.log(
          `[${context.region}] ${label} ${mapping.logicalId}: ${error instanceof Error ? error.message : String(error)}`,
        );
        await sleep(context.pollIntervalMs * 5);
      }
    }
  };
  const done = loop();
  return {
    logicalId: mapping.logicalId,
    handler,
    stop: async () => {
      flag.stopped = true;
      await done;
    },
  };
};

/**
 * Plays a DynamoDB stream mapping: reads the region's stream and invokes the function batch by
 * batch, in order, retrying and bisecting failed batches; a batch that exhausts its retries (or
 * whose records grow too old) goes to the on-failure queue as Lambda's batch info, and the mapping
 * moves on.
 */
export const startStreamMapping = (
  context: MappingContext,
  mapping: MappingModel,
  reader: StreamReader,
): RunningMapping => {
  const fn = context.lambda.functionOf(mapping.functionLogicalId);
  if (!fn)
    throw new Error(`mapping ${mapping.logicalId}: function ${mapping.functionLogicalId} is not running`);
  const handler = fn.handler;
  const functionArn = `arn:aws:lambda:${context.region}:000000000000:function:${fn.functionName}`;
  const flag: StopFlag = { stopped: false };

  const event = (records: BufferedRecord[]) => ({
    Records: records.map(({ record }) => ({
      ...(toEventJson(record) as Record<string, unknown>),
      awsRegion: context.region,
      eventSourceARN: reader.streamArn,
    })),
  });

  const sendToDestination = async (
    records: BufferedRecord[],
    condition: string,
    invokeCount: number,
  ): Promise<void> => {
    const first = records[0];
    const last = records[records.length - 1];
    if (!first || !last) return;
    const destination = mapping.onFailureQueueLogicalId
      ? context.queueUrl(mapping.onFailureQueueLogicalId)
      : undefined;
    context.log(
      `[${context.region}] ${handler}: ${records.length} stream record(s) discarded (${condition})${destination ? ' to the on-failure queue' : ''}`,
    );
    if (!destination) return;
    const arrival = (r: BufferedRecord): string =>
      (r.record.dynamodb?.ApproximateCreationDateTime ?? new Date(r.observedAt)).toISOString();
    // The same document Lambda sends to an on-failure destination for a stream batch.
    const body = {
      requestContext: {
        requestId: randomUUID(),
        functionArn,
        condition,
        approximateInvokeCount: invokeCount,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: new Date().toISOString(),
      DDBStreamBatchInfo: {
        shardId: first.shardId,
        startSequenceNumber: first.record.dynamodb?.SequenceNumber,
        endSequenceNumber: last.record.dynamodb?.SequenceNumber,
        approximateArrivalOfFirstRecord: arrival(first),
        approximateArrivalOfLastRecord: arrival(last),
        batchSize: records.length,
        streamArn: reader.streamArn,
      },
    };
    await context.sqs.send(
      new SendMessageCommand({ QueueUrl: destination, MessageBody: JSON.stringify(body) }),
    );
  };

  /** Processes one batch until it succeeds or is discarded. */
  const processBatch = async (batch: BufferedRecord[], attemptsSoFar: number): Promise<void> => {
    let records = batch;
    let attempts = attemptsSoFar;
    let throttles = 0;
    while (records.length > 0 && !flag.stopped) {
      const maxAgeMs = mapping.maximumRecordAgeInSeconds * 1000;
      const fresh = records.findIndex((r) => Date.now() - r.observedAt <= maxAgeMs);
      const expired = fresh < 0 ? records : records.slice(0, fresh);
      if (expired.length > 0) {
        await sendToDestination(expired, 'RecordAgeExceeded', attempts);
        records = fresh < 0 ? [] : records.slice(fresh);
        if (records.length === 0) return;
      }
      let failedFrom = -1;
      try {
        const result = (await context.lambda.invoke(handler, event(records))) as {
          batchItemFailures?: { itemIdentifier?: string }[];
        } | null;
        const failures = mapping.reportBatchItemFailures ? (result?.batchItemFailures ?? []) : [];
        if (failures.length === 0) return;
        const indexes = failures.map((f) =>
          records.findIndex((r) => r.record.dynamodb?.SequenceNumber === f.itemIdentifier),
        );
        // An unknown or empty identifier fails the whole batch, as in Lambda.
        failedFrom = indexes.some((i) => i < 0) ? 0 : Math.min(...indexes);
      } catch (error) {
        if (isThrottled(error)) {
          // The function was never invoked: Lambda retries such a batch until its records expire
          // or exceed the maximum record age (checked above), spending no retry and bisecting
          // nothing, both of which are for function errors ("Retain discarded records for a
          // DynamoDB event source in Lambda", "Before invocation",
          // https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html).
          throttles++;
          context.log(
            `[${context.region}] ${handler} throttled on ${records.length} record(s); retrying (${throttles})`,
          );
          await sleep(context.retryDelayMs(throttles));
          continue;
        }
        context.log(
          `[${context.region}] ${handler} failed on ${records.length} record(s): ${error instanceof Error ? error.message : String(error)}`,
        );
        failedFrom = 0;
      }
      throttles = 0;
      // Lambda checkpoints the records before the first reported failure and retries from there.
      records = records.slice(failedFrom);
      attempts++;
      if (mapping.bisectBatchOnFunctionError && records.length > 1) {
        // Splitting a batch does not count towards the retry quota.
        const middle = Math.ceil(records.length / 2);
        await processBatch(records.slice(0, middle), attempts - 1);
        await processBatch(records.slice(middle), attempts - 1);
        return;
      }
      if (attempts > mapping.maximumRetryAttempts) {
        await sendToDestination(records, 'RetryAttemptsExhausted', attempts);
        return;
      }
      await sleep(context.retryDelayMs(attempts));
    }
  };

  return runPoller(context, mapping, handler, 'stream mapping', flag, async () => {
    await reader.poll();
    const pending = reader.pending;
    const first = pending[0];
    if (!first) {
      await sleep(context.pollIntervalMs);
      return;
    }
    // A batch never spans shards, so its DLQ batch info names one shard.
    let size = 0;
    while (size < mapping.batchSize && pending[size]?.shardId === first.shardId) size++;
    const batch = pending.slice(0, size);
    await processBatch(batch, 0);
    reader.commit(batch.length);
  });
};

/**
 * Plays an SQS mapping: long-polls the queue, invokes the function with up to `batchSize`
 * messages and deletes the ones that succeeded (all of them, or all but the reported failures).
 */
export const startSqsMapping = (context: MappingContext, mapping: MappingModel): RunningMapping => {
  const fn = context.lambda.functionOf(mapping.functionLogicalId);
  if (!fn)
    throw new Error(`mapping ${mapping.logicalId}: function ${mapping.functionLogicalId} is not running`);
  if (mapping.source.kind !== 'sqs') throw new Error(`mapping ${mapping.logicalId} is not an SQS mapping`);
  const queueLogicalId = mapping.source.queueLogicalId;
  const queueUrl = context.queueUrl(queueLogicalId);
  const queueArn = context.queueArn(queueLogicalId);
  if (!queueUrl || !queueArn)
    throw new Error(`mapping ${mapping.logicalId}: queue ${queueLogicalId} is not running`);
  const handler = fn.handler;
  const flag: StopFlag = { stopped: false };

  const toRecord = (message: Message) => ({
    messageId: message.MessageId,
    receiptHandle: message.ReceiptHandle,
    body: message.Body ?? '',
    attributes: message.Attributes ?? {},
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, attribute]) => [
        name,
        {
          stringValue: attribute.StringValue,
          binaryValue: attribute.BinaryValue
            ? Buffer.from(attribute.BinaryValue).toString('base64')
            : undefined,
          stringListValues: attribute.StringListValues ?? [],
          binaryListValues: [],
          dataType: attribute.DataType,
        },
      ]),
    ),
    md5OfBody: message.MD5OfBody,
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: context.region,
  });

  return runPoller(context, mapping, handler, 'SQS mapping', flag, async () => {
    const received = await context.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, mapping.batchSize),
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    const messages = received.Messages ?? [];
    if (messages.length === 0 || flag.stopped) return;
    let failed = new Set<string>();
    try {
      const result = (await context.lambda.invoke(handler, { Records: messages.map(toRecord) })) as {
        batchItemFailures?: { itemIdentifier?: string }[];
      } | null;
      if (mapping.reportBatchItemFailures) {
        failed = new Set((result?.batchItemFailures ?? []).map((f) => String(f.itemIdentifier)));
      }
    } catch (error) {
      // A throttled batch (the function never ran) is left in the queue like a failed one: it
      // comes back after the visibility timeout, and the receive counts towards the redrive
      // policy as on AWS. Lambda itself retries a throttled batch with backoff within the
      // visibility timeout ("Handling errors for an SQS event source in Lambda",
      // https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html); here it
      // waits for the timeout instead.
      context.log(
        isThrottled(error)
          ? `[${context.region}] ${handler} throttled on ${messages.length} message(s); they return after the visibility timeout`
          : `[${context.region}] ${handler} failed on ${messages.length} message(s): ${error instanceof Error ? error.message : String(error)}`,
      );
      failed = new Set(messages.map((m) => String(m.MessageId)));
    }
    const done = messages.filter((m) => !failed.has(String(m.MessageId)));
    if (done.length > 0) {
      await context.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: done.map((m, index) => ({ Id: String(index), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
  });
};
