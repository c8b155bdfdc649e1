/**
 * The event source mappings against a scripted stream, queue and function: bisect on error without
 * spending retries, bounded retries, the on-failure destination's batch info, partial batch
 * responses, the maximum record age, and throttled invocations (retried without spending a retry;
 * SQS messages left for their visibility timeout).
 */
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { type MappingContext, startSqsMapping, startStreamMapping } from '../../../local/event-sources.js';
import { type LambdaService, LambdaThrottledError } from '../../../local/lambda-service.js';
import type { BufferedRecord, StreamReader } from '../../../local/stream-reader.js';
import type { MappingModel } from '../../../local/template.js';

const record = (seq: number, observedAt = Date.now()): BufferedRecord => ({
  shardId: 'shardId-1',
  observedAt,
  record: {
    eventID: `e${seq}`,
    eventName: 'INSERT',
    dynamodb: {
      SequenceNumber: String(seq),
      Keys: { pk: { S: `k${seq}` } },
      NewImage: { pk: { S: `k${seq}` } },
    },
  },
});

/** A stream whose records are all there at the first poll. */
const scriptedReader = (records: BufferedRecord[]) => {
  const pending = [...records];
  return {
    streamArn: 'arn:aws:dynamodb:us-east-1:000000000000:table/parley/stream/1',
    get pending() {
      return pending;
    },
    commit: (count: number) => void pending.splice(0, count),
    poll: async () => 0,
  };
};

const mapping = (extra: Partial<MappingModel> = {}): MappingModel => ({
  logicalId: 'Mapping',
  functionLogicalId: 'FanoutFn',
  source: { kind: 'stream' },
  batchSize: 10,
  maximumRetryAttempts: 2,
  bisectBatchOnFunctionError: true,
  maximumRecordAgeInSeconds: 3600,
  reportBatchItemFailures: true,
  onFailureQueueLogicalId: 'Dlq',
  maximumBatchingWindowInSeconds: 0,
  ...extra,
});

type Invoke = (records: { dynamodb: { SequenceNumber: string } }[]) => unknown;

const run = async (records: BufferedRecord[], model: MappingModel, invoke: Invoke) => {
  const reader = scriptedReader(records);
  const invocations: string[][] = [];
  const sent: Record<string, unknown>[] = [];
  const lambda = {
    functionOf: () => ({
      handler: 'fanout',
      logicalId: 'FanoutFn',
      functionName: 'fanout',
      environment: {},
      timeoutMs: 1000,
      memoryMb: 128,
    }),
    invoke: async (_handler: string, event: { Records: { dynamodb: { SequenceNumber: string } }[] }) => {
      invocations.push(event.Records.map((r) => r.dynamodb.SequenceNumber));
      return invoke(event.Records);
    },
  };
  const context: MappingContext = {
    region: 'us-east-1',
    lambda: lambda as unknown as LambdaService,
    sqs: {
      send: async (command: SendMessageCommand) =>
        void sent.push(command.input as unknown as Record<string, unknown>),
    } as unknown as SQSClient,
    paused: () => false,
    queueUrl: (id) => (id === 'Dlq' ? 'http://127.0.0.1/000000000000/us-east-1-Dlq' : undefined),
    queueArn: () => undefined,
    log: () => undefined,
    retryDelayMs: () => 1,
    pollIntervalMs: 5,
  };
  const running = startStreamMapping(context, model, reader as unknown as StreamReader);
  await expect.poll(() => reader.pending.length, { timeout: 5_000 }).toBe(0);
  await running.stop();
  return { invocations, dlq: sent.map((m) => JSON.parse(String(m.MessageBody)) as Record<string, unknown>) };
};

describe('Local Lambda service: stream mapping', () => {
  it('bisects a failing batch, retries the bad record, then sends its batch info to the DLQ', async () => {
    const { invocations, dlq } = await run(
      [1, 2, 3, 4].map((n) => record(n)),
      mapping(),
      (records) => {
        if (records.some((r) => r.dynamodb.SequenceNumber === '3')) throw new Error('bad record');
        return { batchItemFailures: [] };
      },
    );
    expect(invocations).toEqual([['1', '2', '3', '4'], ['1', '2'], ['3', '4'], ['3'], ['3'], ['3'], ['4']]);
    expect(dlq).toHaveLength(1);
    expect(dlq[0]).toMatchObject({
      requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3 },
      version: '1.0',
      DDBStreamBatchInfo: {
        shardId: 'shardId-1',
        startSequenceNumber: '3',
        endSequenceNumber: '3',
        batchSize: 1,
        streamArn: 'arn:aws:dynamodb:us-east-1:000000000000:table/parley/stream/1',
      },
    });
  });

  it('retries from the first reported item failure', async () => {
    let calls = 0;
    const { invocations, dlq } = await run(
      [1, 2, 3].map((n) => record(n)),
      mapping({ bisectBatchOnFunctionError: false }),
      () => (++calls === 1 ? { batchItemFailures: [{ itemIdentifier: '2' }] } : { batchItemFailures: [] }),
    );
    expect(invocations).toEqual([
      ['1', '2', '3'],
      ['2', '3'],
    ]);
    expect(dlq).toHaveLength(0);
  });

  it('discards records older than the maximum record age to the DLQ without invoking', async () => {
    const old = Date.now() - 2 * 3600 * 1000;
    const { invocations, dlq } = await run([record(1, old), record(2)], mapping(), () => ({
      batchItemFailures: [],
    }));
    expect(invocations).toEqual([['2']]);
    expect(dlq[0]).toMatchObject({
      requestContext: { condition: 'RecordAgeExceeded' },
      DDBStreamBatchInfo: { startSequenceNumber: '1', batchSize: 1 },
    });
  });

  it('retries a throttled batch whole, spending no retry and bisecting nothing', async () => {
    let calls = 0;
    const { invocations, dlq } = await run(
      [1, 2, 3, 4].map((n) => record(n)),
      mapping({ maximumRetryAttempts: 2, bisectBatchOnFunctionError: true }),
      () => {
        if (++calls <= 4) throw new LambdaThrottledError('fanout', 'ConcurrentInvocationLimitExceeded');
        return { batchItemFailures: [] };
      },
    );
    // Four throttles, more than the two retries a function error gets, then the batch goes through.
    expect(invocations).toEqual(Array.from({ length: 5 }, () => ['1', '2', '3', '4']));
    expect(dlq).toHaveLength(0);
  });

  it('retries a throttled batch until its records exceed the maximum age, then discards them as RecordAgeExceeded', async () => {
    const stale = record(1);
    let calls = 0;
    const { invocations, dlq } = await run([stale], mapping(), () => {
      // The third throttle outlasts the record's maximum age.
      if (++calls === 3) stale.observedAt = 0;
      throw new LambdaThrottledError('fanout', 'ConcurrentInvocationLimitExceeded');
    });
    expect(invocations).toEqual([['1'], ['1'], ['1']]);
    expect(dlq).toHaveLength(1);
    expect(dlq[0]).toMatchObject({
      requestContext: { condition: 'RecordAgeExceeded' },
      DDBStreamBatchInfo: { startSequenceNumber: '1', batchSize: 1 },
    });
  });
});

describe('Local Lambda service: SQS mapping', () => {
  it('leaves a throttled batch in the queue, to come back after its visibility timeout, and deletes it once it goes through', async () => {
    const message: Message = { MessageId: 'm-1', ReceiptHandle: 'r-1', Body: '{"n":1}' };
    // The queue: each receive gets the message while it is queued; a receive that finds nothing
    // waits a little, as a long poll does.
    const deliveries = [message, message]; // the second is its return after the visibility timeout
    const deleted: string[][] = [];
    const logs: string[] = [];
    const invocations: unknown[] = [];
    let calls = 0;
    let receives = 0;
    const sqs = {
      send: async (command: unknown) => {
        if (command instanceof ReceiveMessageCommand) {
          receives++;
          const next = deliveries.shift();
          if (next) return { Messages: [next] };
          await new Promise((resolve) => setTimeout(resolve, 5));
          return {};
        }
        if (command instanceof DeleteMessageBatchCommand) {
          deleted.push((command.input.Entries ?? []).map((e) => String(e.ReceiptHandle)));
          return {};
        }
        throw new Error('unexpected command');
      },
    };
    const lambda = {
      functionOf: () => ({
        handler: 'delivery',
        logicalId: 'DeliveryFn',
        functionName: 'delivery',
        environment: {},
        timeoutMs: 1000,
        memoryMb: 128,
      }),
      invoke: async (_handler: string, event: unknown) => {
        invocations.push(event);
        // The first invocation is throttled; the message's return goes through.
        if (++calls === 1) throw new LambdaThrottledError('delivery', 'ConcurrentInvocationLimitExceeded');
        return { batchItemFailures: [] };
      },
    };
    const context: MappingContext = {
      region: 'us-east-1',
      lambda: lambda as unknown as LambdaService,
      sqs: sqs as unknown as SQSClient,
      paused: () => false,
      queueUrl: () => 'http://127.0.0.1/000000000000/us-east-1-Delivery',
      queueArn: () => 'arn:aws:sqs:us-east-1:000000000000:us-east-1-Delivery',
      log: (line) => logs.push(line),
      retryDelayMs: () => 1,
      pollIntervalMs: 5,
    };
    const running = startSqsMapping(
      context,
      mapping({
        functionLogicalId: 'DeliveryFn',
        source: { kind: 'sqs', queueLogicalId: 'Delivery' },
        reportBatchItemFailures: true,
      }),
    );
    try {
      // The mapping works batch after batch: a third receive means both deliveries are done with.
      await expect.poll(() => receives).toBeGreaterThanOrEqual(3);
    } finally {
      await running.stop();
    }
    expect(invocations).toHaveLength(2);
    // Deleted once, after the invocation that went through; the throttled one deleted nothing.
    expect(deleted).toEqual([['r-1']]);
    expect(logs).toEqual([expect.stringContaining('delivery throttled on 1 message(s)')]);
  });
});
