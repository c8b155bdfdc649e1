/**
 * Provisioning: what a deploy creates, created in the local engines from the template. Each
 * region's replica of the table (keys, GSIs, stream, TTL) in DynamoDB Local, each region's queues
 * (with their redrive policies) in ElasticMQ, and the secrets in the local Secrets Manager in their
 * primary and replica regions; plus the clients the stack itself uses to reach the engines.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { LocalSecretsManager } from './secrets-manager.js';
import type { QueueModel, RegionModel, SecretModel, TableModel } from './template.js';

/** The local account id in every ARN. */
export const LOCAL_ACCOUNT_ID = '000000000000';

/** The credentials of every local client and handler: DynamoDB Local keys its databases by them. */
export const localCredentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/** What provisioning created in one region, by the template's logical ids. */
export interface RegionResources {
  /** The stream of the region's replica of the table. */
  streamArn: string;
  queueUrls: Record<string, string>;
  queueArns: Record<string, string>;
  secretArns: Record<string, string>;
}

/** The stack's own clients of the engines (replication, stream readers, tests): no proxy, no faults. */
export interface EngineClients {
  /** A DynamoDB client per region, signed for that region (its replica). */
  dynamoDb: Record<string, DynamoDBClient>;
  streams: Record<string, DynamoDBStreamsClient>;
  sqs: SQSClient;
  destroy(): void;
}

/** The clients of every region for DynamoDB Local at `dynamoDbEndpoint` and ElasticMQ at `sqsEndpoint`. */
export const engineClients = (
  regions: string[],
  dynamoDbEndpoint: string,
  sqsEndpoint: string,
): EngineClients => {
  const dynamoDb: Record<string, DynamoDBClient> = {};
  const streams: Record<string, DynamoDBStreamsClient> = {};
  for (const region of regions) {
    dynamoDb[region] = new DynamoDBClient({
      region,
      endpoint: dynamoDbEndpoint,
      credentials: localCredentials,
    });
    streams[region] = new DynamoDBStreamsClient({
      region,
      endpoint: dynamoDbEndpoint,
      credentials: localCredentials,
    });
  }
  const sqs = new SQSClient({
    region: regions[0] ?? 'us-east-1',
    endpoint: sqsEndpoint,
    credentials: localCredentials,
  });
  return {
    dynamoDb,
    streams,
    sqs,
    destroy: () => {
      for (const client of [...Object.values(dynamoDb), ...Object.values(streams), sqs]) client.destroy();
    },
  };
};

/** Creates one region's replica of the table (the client is signed for the region); resolves with its stream ARN. */
export const createTable = async (client: DynamoDBClient, table: TableModel): Promise<string> => {
  const used = new Set([
    ...table.keySchema.map((k) => k.AttributeName),
    ...table.globalSecondaryIndexes.flatMap((g) => g.KeySchema.map((k) => k.AttributeName)),
  ]);
  await client.send(
    new CreateTableCommand({
      TableName: table.name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: table.attributeDefinitions
        .filter((a) => used.has(a.AttributeName))
        .map((a) => ({ AttributeName: a.AttributeName, AttributeType: a.AttributeType as 'S' | 'N' | 'B' })),
      KeySchema: table.keySchema.map((k) => ({
        AttributeName: k.AttributeName,
        KeyType: k.KeyType as 'HASH' | 'RANGE',
      })),
      ...(table.globalSecondaryIndexes.length > 0
        ? {
            GlobalSecondaryIndexes: table.globalSecondaryIndexes.map((g) => ({
              IndexName: g.IndexName,
              KeySchema: g.KeySchema.map((k) => ({
                AttributeName: k.AttributeName,
                KeyType: k.KeyType as 'HASH' | 'RANGE',
              })),
              Projection: {
                ProjectionType: (g.Projection.ProjectionType ?? 'ALL') as 'ALL' | 'KEYS_ONLY' | 'INCLUDE',
                ...(g.Projection.NonKeyAttributes ? { NonKeyAttributes: g.Projection.NonKeyAttributes } : {}),
              },
            })),
          }
        : {}),
      // Replication and the fan-out read the stream; global tables need NEW_AND_OLD_IMAGES.
      StreamSpecification: {
        StreamEnabled: true,
        StreamViewType: (table.streamViewType ?? 'NEW_AND_OLD_IMAGES') as 'NEW_AND_OLD_IMAGES',
      },
    }),
  );
  if (table.ttlAttribute) {
    await client
      .send(
        new UpdateTimeToLiveCommand({
          TableName: table.name,
          TimeToLiveSpecification: { Enabled: true, AttributeName: table.ttlAttribute },
        }),
      )
      .catch(() => undefined);
  }
  const described = await client.send(new DescribeTableCommand({ TableName: table.name }));
  const streamArn = described.Table?.LatestStreamArn;
  if (!streamArn) throw new Error(`table ${table.name} has no stream`);
  return streamArn;
};

/**
 * Creates one region's queues, dead-letter queues first so that a redrive policy can name its
 * DLQ's ARN; resolves with their URLs and ARNs by logical id.
 */
export const createQueues = async (
  sqs: SQSClient,
  region: string,
  queues: readonly QueueModel[],
): Promise<{ urls: Record<string, string>; arns: Record<string, string> }> => {
  const urls: Record<string, string> = {};
  const arns: Record<string, string> = {};
  // Queue names carry the region, so the regions' queues stay apart in one ElasticMQ.
  const localName = (name: string): string => `${region}-${name}`.slice(0, 80);
  const ordered = [...queues].sort((a, b) => Number(Boolean(a.redrive)) - Number(Boolean(b.redrive)));
  for (const queue of ordered) {
    const attributes: Record<string, string> = {};
    if (queue.visibilityTimeoutSeconds !== undefined)
      attributes.VisibilityTimeout = String(queue.visibilityTimeoutSeconds);
    if (queue.messageRetentionSeconds !== undefined)
      attributes.MessageRetentionPeriod = String(queue.messageRetentionSeconds);
    if (queue.fifo) attributes.FifoQueue = 'true';
    if (queue.redrive) {
      const dlqArn = arns[queue.redrive.deadLetterLogicalId];
      if (dlqArn) {
        attributes.RedrivePolicy = JSON.stringify({
          deadLetterTargetArn: dlqArn,
          maxReceiveCount: queue.redrive.maxReceiveCount,
        });
      }
    }
    const created = await sqs.send(
      new CreateQueueCommand({ QueueName: localName(queue.name), Attributes: attributes }),
    );
    const url = created.QueueUrl as string;
    const described = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
    );
    urls[queue.logicalId] = url;
    arns[queue.logicalId] =
      described.Attributes?.QueueArn ?? `arn:aws:sqs:${region}:${LOCAL_ACCOUNT_ID}:${localName(queue.name)}`;
  }
  return { urls, arns };
};

/**
 * Creates the template's secrets in their primary region and every replica region, each with its
 * own ARN, all with `value` (the local signing key, so local tokens verify); resolves with their
 * ARNs by region and logical id.
 */
export const createSecrets = (
  secretsManager: LocalSecretsManager,
  secrets: readonly SecretModel[],
  value: string,
): Record<string, Record<string, string>> => {
  const secretArns: Record<string, Record<string, string>> = {};
  for (const secret of secrets) {
    for (const region of [secret.region, ...secret.replicaRegions]) {
      const created = secretsManager.create(region, secret.name, value);
      secretArns[region] = { ...secretArns[region], [secret.logicalId]: created.arn };
    }
  }
  return secretArns;
};

/** Creates every region's replica of the table and its queues, the regions in parallel. */
export const provisionRegions = async (
  clients: EngineClients,
  regions: string[],
  models: Record<string, RegionModel>,
  table: TableModel,
  secretArns: Record<string, Record<string, string>>,
): Promise<Record<string, RegionResources>> => {
  const resources: Record<string, RegionResources> = {};
  await Promise.all(
    regions.map(async (region) => {
      const streamArn = await createTable(clients.dynamoDb[region] as DynamoDBClient, table);
      const model = models[region] as RegionModel;
      const queues = await createQueues(clients.sqs, region, model.queues);
      resources[region] = {
        streamArn,
        queueUrls: queues.urls,
        queueArns: queues.arns,
        secretArns: { ...(secretArns[region] ?? {}) },
      };
    }),
  );
  return resources;
};
