/**
 * Dependencies for unit tests: the in-memory store (the route logic is tested on it, without key
 * shapes), real SDK clients for `@connections` and SQS (mocked per test with
 * `aws-sdk-client-mock`), a fixed clock and an instant sleep, so retries and backoff run without
 * waiting. The DynamoDB store's own tests use {@link unitDb}, a table behind a mocked client.
 */
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { AwsStub } from 'aws-sdk-client-mock';
import { documentClient } from '../../lambdas/shared/clients.js';
import type { HandlerDeps } from '../../lambdas/shared/deps.js';
import type { RuntimeConfig } from '../../lambdas/shared/env.js';
import { createMemoryStore, type Db } from '../../lambdas/shared/store/index.js';

/** The fixed clock of unit tests. */
export const NOW = 1_700_000_000_000;
/** The delivery queue of unit tests. */
export const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/parley-delivery';

const credentials = { accessKeyId: 'unit', secretAccessKey: 'unit' };

/** The table `parley` through a fresh document client (the mocks intercept every instance). */
export const unitDb = (region = 'us-east-1'): Db => ({
  client: documentClient(new DynamoDBClient({ region, credentials })),
  table: 'parley',
});

/** Builds handler deps around a fresh, empty in-memory store and fresh clients. */
export const unitDeps = (
  config: Partial<RuntimeConfig> = {},
  extra: Partial<HandlerDeps> = {},
): HandlerDeps => {
  const region = config.region ?? 'us-east-1';
  return {
    config: {
      tableName: 'parley',
      region,
      consistency: 'eventual',
      maxBodyBytes: 16_384,
      retentionDays: 30,
      fanoutInlineMax: 100,
      deliveryQueueUrl: QUEUE_URL,
      ...config,
    },
    store: createMemoryStore(),
    region,
    connections: new ApiGatewayManagementApiClient({
      region,
      credentials,
      endpoint: 'https://abc123.execute-api.us-east-1.amazonaws.com/prod',
      maxAttempts: 1,
    }),
    sqs: new SQSClient({ region, credentials }),
    queueUrl: QUEUE_URL,
    now: () => NOW,
    sleep: () => Promise.resolve(),
    random: () => 0.5,
    ...extra,
  };
};

/** The frames posted through a mocked `@connections` client, in order. */
export const postedFrames = (
  // biome-ignore lint/suspicious/noExplicitAny: the stub's generic parameters are irrelevant here
  apiMock: AwsStub<any, any, any>,
): { connectionId: string; frame: Record<string, unknown> }[] =>
  apiMock.commandCalls(PostToConnectionCommand).map((call) => ({
    connectionId: String(call.args[0].input.ConnectionId),
    frame: JSON.parse(String(call.args[0].input.Data)) as Record<string, unknown>,
  }));
