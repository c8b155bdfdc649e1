/**
 * AWS SDK clients, created once per container (module scope, lazily) and reused across
 * invocations so connections stay warm. No endpoint is hard-coded: SDK v3 honours the standard
 * `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` variables by itself, which is how the local
 * stack and LocalStack point the handlers at their engines.
 */
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { requireEnv } from './env.js';

/**
 * A lazily created value. Each use below is marked `@__PURE__`, so a bundler drops a client (and
 * its SDK package) from a handler that never calls its getter: 23 KB less in `ping`'s bundle.
 */
const once = <T>(create: () => T): (() => T) => {
  let instance: T | undefined;
  return () => {
    instance ??= create();
    return instance;
  };
};

/**
 * Wraps a DynamoDB client in the document client Parley uses everywhere (plain JS values in and
 * out; `undefined` attributes dropped rather than rejected).
 */
export const documentClient = (client: DynamoDBClient): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });

/** The document client of this container. */
export const dynamo = /* @__PURE__ */ once(() => documentClient(new DynamoDBClient({})));

/**
 * Builds the `@connections` client for a stage's callback URL. The SDK's own retries are off
 * (`maxAttempts: 1`) because delivery applies its own bounded backoff with full jitter and then
 * hands what still fails to the delivery queue; two retry layers would multiply the delay.
 */
export const managementClient = (endpoint: string): ApiGatewayManagementApiClient =>
  new ApiGatewayManagementApiClient({ endpoint, maxAttempts: 1 });

/**
 * The `@connections` client of this region's stage. Its endpoint is `CONNECTIONS_ENDPOINT` (the
 * stage's callback URL), never `requestContext.domainName`, which is wrong behind a custom domain.
 */
export const connections = /* @__PURE__ */ once(() => managementClient(requireEnv('CONNECTIONS_ENDPOINT')));

/** The SQS client of this container. */
export const sqs = /* @__PURE__ */ once(() => new SQSClient({}));

/** The Secrets Manager client of this container (hs256 secret). */
export const secrets = /* @__PURE__ */ once(() => new SecretsManagerClient({}));

/** The DynamoDB Streams client of this container (stream DLQ redrive). */
export const streams = /* @__PURE__ */ once(() => new DynamoDBStreamsClient({}));
