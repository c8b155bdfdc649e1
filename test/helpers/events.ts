/**
 * Event factories for the handler tests: API Gateway WebSocket route events, the `$connect`
 * REQUEST authorizer event, DynamoDB stream records and SQS records, in the shapes API Gateway
 * and Lambda deliver them.
 */
import type { DynamoDBRecord, DynamoDBStreamEvent, SQSEvent, SQSRecord } from 'aws-lambda';
import type { AuthorizerEvent } from '../../lambdas/shared/auth.js';
import type { StreamAttributeValue } from '../../lambdas/shared/store/index.js';
import type { WebSocketEvent } from '../../lambdas/shared/websocket.js';

/** A message event of a WebSocket route (`routeKey` is the action, or `$default`). */
export const routeEvent = (
  routeKey: string,
  body: unknown,
  options: { connectionId?: string; user?: string | null; raw?: boolean } = {},
): WebSocketEvent => ({
  requestContext: {
    routeKey,
    eventType: 'MESSAGE',
    connectionId: options.connectionId ?? 'conn-1',
    requestId: 'req-1',
    domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
    stage: 'prod',
    connectedAt: 1_700_000_000_000,
    authorizer:
      options.user === null
        ? undefined
        : { principalId: options.user ?? 'alice', user: options.user ?? 'alice' },
  },
  body: options.raw === true ? (body as string) : JSON.stringify(body),
  isBase64Encoded: false,
});

/** A `$connect` event after the authorizer allowed it. */
export const connectEvent = (connectionId = 'conn-1', user: string | null = 'alice'): WebSocketEvent => ({
  requestContext: {
    routeKey: '$connect',
    eventType: 'CONNECT',
    connectionId,
    requestId: 'req-c',
    authorizer: user === null ? undefined : { principalId: user, user },
  },
  queryStringParameters: { token: 'redacted' },
  isBase64Encoded: false,
});

/** A `$disconnect` event. */
export const disconnectEvent = (connectionId = 'conn-1', user = 'alice'): WebSocketEvent => ({
  requestContext: {
    routeKey: '$disconnect',
    eventType: 'DISCONNECT',
    connectionId,
    requestId: 'req-d',
    authorizer: { principalId: user, user },
    disconnectStatusCode: 1000,
  },
  isBase64Encoded: false,
});

/** The REQUEST authorizer event of `$connect`. */
export const authorizerEvent = (token?: string): AuthorizerEvent => ({
  type: 'REQUEST',
  methodArn: 'arn:aws:execute-api:us-east-1:123456789012:abc123/prod/$connect',
  queryStringParameters: token === undefined ? {} : { token },
});

const marshall = (value: unknown): StreamAttributeValue => {
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'number') return { N: String(value) };
  if (typeof value === 'boolean') return { BOOL: value };
  if (value === null) return { NULL: true };
  if (Array.isArray(value)) return { L: value.map(marshall) };
  return { M: marshallImage(value as Record<string, unknown>) };
};

/** Marshalls a plain item into a stream image. */
export const marshallImage = (item: Record<string, unknown>): Record<string, StreamAttributeValue> =>
  Object.fromEntries(Object.entries(item).map(([key, value]) => [key, marshall(value)]));

let sequence = 100;

/** A DynamoDB stream record of an item change. */
export const streamRecord = (
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE',
  images: { newImage?: Record<string, unknown>; oldImage?: Record<string, unknown> },
  options: { ttl?: boolean } = {},
): DynamoDBRecord => {
  sequence += 1;
  return {
    eventID: `event-${sequence}`,
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    eventSourceARN: 'arn:aws:dynamodb:us-east-1:123456789012:table/parley/stream/2026-01-01T00:00:00.000',
    dynamodb: {
      SequenceNumber: String(sequence),
      StreamViewType: 'NEW_AND_OLD_IMAGES',
      ...(images.newImage !== undefined ? { NewImage: marshallImage(images.newImage) as never } : {}),
      ...(images.oldImage !== undefined ? { OldImage: marshallImage(images.oldImage) as never } : {}),
    },
    ...(options.ttl === true
      ? { userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' } }
      : {}),
  } as DynamoDBRecord;
};

/** A stream event of records. */
export const streamEvent = (...records: DynamoDBRecord[]): DynamoDBStreamEvent => ({ Records: records });

/** An SQS record with a JSON body. */
export const sqsRecord = (body: unknown, messageId: string): SQSRecord => ({
  messageId,
  receiptHandle: `receipt-${messageId}`,
  body: typeof body === 'string' ? body : JSON.stringify(body),
  attributes: {
    ApproximateReceiveCount: '1',
    SentTimestamp: '1700000000000',
    SenderId: 'AIDA',
    ApproximateFirstReceiveTimestamp: '1700000000000',
  },
  messageAttributes: {},
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:parley-delivery',
  awsRegion: 'us-east-1',
});

/** An SQS event of records. */
export const sqsEvent = (...records: SQSRecord[]): SQSEvent => ({ Records: records });

/** A minimal Lambda context for invoking middy handlers directly. */
export const lambdaContext = () =>
  ({
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'parley-test',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:parley-test',
    memoryLimitInMB: '256',
    awsRequestId: 'aws-req-1',
    logGroupName: '/aws/lambda/parley-test',
    logStreamName: 'stream',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  }) as const;
