import {
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import {
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  parseStreamFailure,
  redriveDeliveryDlq,
  redriveStreamDlq,
  type StreamBatchInfo,
} from '../../../lambdas/shared/redrive.js';
import type { StreamRecordLike } from '../../../lambdas/shared/store/index.js';

const sqsMock = mockClient(SQSClient);
const streamsMock = mockClient(DynamoDBStreamsClient);

afterEach(() => {
  sqsMock.reset();
  streamsMock.reset();
});

const DLQ = 'https://sqs.us-east-1.amazonaws.com/1/parley-delivery-dlq';
const TARGET = 'https://sqs.us-east-1.amazonaws.com/1/parley-delivery';
const sqs = () =>
  new SQSClient({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const streams = () =>
  new DynamoDBStreamsClient({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });

const info: StreamBatchInfo = {
  shardId: 'shardId-0001',
  startSequenceNumber: '100',
  endSequenceNumber: '102',
  streamArn: 'arn:aws:dynamodb:us-east-1:1:table/parley/stream/2026',
  batchSize: 3,
};
const failureRecord = {
  requestContext: {
    requestId: 'r',
    functionArn: 'arn:f',
    condition: 'RetryAttemptsExhausted',
    approximateInvokeCount: 3,
  },
  responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
  version: '1.0',
  timestamp: '2026-01-01T00:00:00.000Z',
  DDBStreamBatchInfo: info,
};
const record = (seq: string): StreamRecordLike => ({
  eventName: 'INSERT',
  dynamodb: { SequenceNumber: seq },
});

describe('Redrive: delivery DLQ', () => {
  it('sends every DLQ message back to the delivery queue and deletes it from the DLQ', async () => {
    // Prepare
    sqsMock
      .on(ReceiveMessageCommand)
      .resolvesOnce({
        Messages: [
          { Body: '{"job":1}', ReceiptHandle: 'h1' },
          { Body: '{"job":2}', ReceiptHandle: 'h2' },
        ],
      })
      .resolves({ Messages: [] });
    sqsMock.on(SendMessageCommand).resolves({});
    sqsMock.on(DeleteMessageCommand).resolves({});

    // Act
    const result = await redriveDeliveryDlq({ sqs: sqs(), dlqUrl: DLQ, targetUrl: TARGET });

    // Assess
    expect(result).toEqual({ kind: 'delivery', queueUrl: DLQ, received: 2, replayed: 2, failed: 0 });
    expect(sqsMock.commandCalls(SendMessageCommand).map((call) => call.args[0].input)).toEqual([
      { QueueUrl: TARGET, MessageBody: '{"job":1}' },
      { QueueUrl: TARGET, MessageBody: '{"job":2}' },
    ]);
    expect(sqsMock.commandCalls(DeleteMessageCommand).map((call) => call.args[0].input)).toEqual([
      { QueueUrl: DLQ, ReceiptHandle: 'h1' },
      { QueueUrl: DLQ, ReceiptHandle: 'h2' },
    ]);
  });

  it('keeps a message in the DLQ when it cannot be sent back, and honours max', async () => {
    // Prepare
    sqsMock.on(ReceiveMessageCommand).resolves({ Messages: [{ Body: 'x', ReceiptHandle: 'h1' }] });
    sqsMock.on(SendMessageCommand).rejects(new Error('queue gone'));

    // Act
    const result = await redriveDeliveryDlq({ sqs: sqs(), dlqUrl: DLQ, targetUrl: TARGET, max: 3 });

    // Assess
    expect(result).toMatchObject({ received: 3, replayed: 0, failed: 3 });
    expect(sqsMock.commandCalls(DeleteMessageCommand)).toHaveLength(0);
    expect(
      sqsMock.commandCalls(ReceiveMessageCommand).map((call) => call.args[0].input.MaxNumberOfMessages),
    ).toEqual([3, 2, 1]);
  });
});

describe('Redrive: stream DLQ', () => {
  it('parses the batch info of an on-failure record and refuses other bodies', () => {
    // Assess
    expect(parseStreamFailure(JSON.stringify(failureRecord))).toEqual(info);
    expect(() => parseStreamFailure('{"hello":1}')).toThrow(/DDBStreamBatchInfo/);
  });

  it('re-reads the records from the first to the last sequence number and re-delivers them', async () => {
    // Prepare
    sqsMock
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [{ Body: JSON.stringify(failureRecord), ReceiptHandle: 'h1' }] })
      .resolves({});
    sqsMock.on(DeleteMessageCommand).resolves({});
    streamsMock.on(GetShardIteratorCommand).resolves({ ShardIterator: 'it-1' });
    streamsMock
      .on(GetRecordsCommand, { ShardIterator: 'it-1' })
      .resolves({ Records: [record('100'), record('101')] as never, NextShardIterator: 'it-2' });
    streamsMock
      .on(GetRecordsCommand, { ShardIterator: 'it-2' })
      .resolves({ Records: [record('102'), record('103')] as never, NextShardIterator: 'it-3' });
    const processed: string[] = [];

    // Act
    const result = await redriveStreamDlq({
      sqs: sqs(),
      streams: streams(),
      dlqUrl: DLQ,
      process: async (item) => processed.push(item.dynamodb?.SequenceNumber ?? ''),
    });

    // Assess
    expect(result).toEqual({ kind: 'stream', queueUrl: DLQ, received: 1, replayed: 1, failed: 0 });
    expect(processed).toEqual(['100', '101', '102']);
    expect(streamsMock.commandCalls(GetShardIteratorCommand)[0]?.args[0].input).toEqual({
      StreamArn: info.streamArn,
      ShardId: info.shardId,
      ShardIteratorType: 'AT_SEQUENCE_NUMBER',
      SequenceNumber: '100',
    });
    expect(sqsMock.commandCalls(DeleteMessageCommand)).toHaveLength(1);
  });

  it('leaves the DLQ message when re-delivery fails or the records have expired', async () => {
    // Prepare
    sqsMock
      .on(ReceiveMessageCommand)
      .resolvesOnce({
        Messages: [
          { Body: JSON.stringify(failureRecord), ReceiptHandle: 'fails' },
          {
            Body: JSON.stringify({ ...failureRecord, DDBStreamBatchInfo: { ...info, shardId: 'trimmed' } }),
            ReceiptHandle: 'old',
          },
        ],
      })
      .resolves({});
    streamsMock.on(GetShardIteratorCommand, { ShardId: 'shardId-0001' }).resolves({ ShardIterator: 'it-1' });
    streamsMock.on(GetShardIteratorCommand, { ShardId: 'trimmed' }).resolves({ ShardIterator: 'it-old' });
    streamsMock
      .on(GetRecordsCommand, { ShardIterator: 'it-1' })
      .resolves({ Records: [record('100')] as never });
    streamsMock.on(GetRecordsCommand, { ShardIterator: 'it-old' }).resolves({ Records: [] });

    // Act
    const result = await redriveStreamDlq({
      sqs: sqs(),
      streams: streams(),
      dlqUrl: DLQ,
      process: async () => {
        throw new Error('still failing');
      },
    });

    // Assess
    expect(result).toMatchObject({ received: 2, replayed: 0, failed: 2 });
    expect(sqsMock.commandCalls(DeleteMessageCommand)).toHaveLength(0);
  });
});
