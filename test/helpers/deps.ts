/**
 * Handler dependencies for tests that run the real logic against real engines (DynamoDB Local and
 * the fake `@connections` endpoint on 127.0.0.1).
 */
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { documentClient } from '../../lambdas/shared/clients.js';
import type { HandlerDeps } from '../../lambdas/shared/deps.js';
import type { RuntimeConfig } from '../../lambdas/shared/env.js';
import { type Db, dynamoStore } from '../../lambdas/shared/store/index.js';

/** Dummy credentials: local engines accept any. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** Handler deps on a table in DynamoDB Local, and the table itself, to read items as stored. */
export type LocalDeps = HandlerDeps & { db: Db };

/** Builds deps for one region of a table in DynamoDB Local, with the whole DynamoDB store. */
export const localDeps = (options: {
  clientConfig: DynamoDBClientConfig;
  tableName: string;
  connectionsEndpoint: string;
  region?: string;
  config?: Partial<RuntimeConfig>;
}): LocalDeps => {
  const region = options.region ?? 'us-east-1';
  const db: Db = {
    client: documentClient(new DynamoDBClient({ ...options.clientConfig, maxAttempts: 3 })),
    table: options.tableName,
  };
  return {
    config: {
      tableName: options.tableName,
      region,
      consistency: 'eventual',
      maxBodyBytes: 16_384,
      retentionDays: 30,
      fanoutInlineMax: 100,
      deliveryQueueUrl: undefined,
      ...options.config,
    },
    db,
    store: dynamoStore(db),
    region,
    connections: new ApiGatewayManagementApiClient({
      endpoint: options.connectionsEndpoint,
      region,
      credentials: LOCAL_CREDENTIALS,
      maxAttempts: 1,
    }),
    sleep: () => Promise.resolve(),
    now: Date.now,
  };
};

/**
 * Points the real handlers' environment at a test table on DynamoDB Local and a fake
 * `@connections` endpoint, as the CDK app and the local stack would set it, plus `extra`
 * settings (limits) of the test. Call before importing the handler modules: they read it once.
 */
export const useHandlerEnvironment = (input: {
  tableName: string;
  connectionsEndpoint: string;
  dynamoDbEndpoint: string;
  extra?: Record<string, string>;
}): void => {
  Object.assign(process.env, {
    TABLE_NAME: input.tableName,
    AWS_REGION: 'us-east-1',
    CONSISTENCY: 'eventual',
    CONNECTIONS_ENDPOINT: input.connectionsEndpoint,
    AWS_ENDPOINT_URL_DYNAMODB: input.dynamoDbEndpoint,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    ...input.extra,
  });
};
