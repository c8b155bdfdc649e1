/**
 * `startLocalStack`: the whole of Parley on 127.0.0.1 with no AWS account. DynamoDB Local holds
 * every region's replica of the table, ElasticMQ every region's queues; per region a local API
 * Gateway and a local Lambda service run the CDK app's handlers with the template's routes,
 * mappings and environment; a replicator plays global-table replication and a global endpoint
 * plays the Route 53 record. Used by `npm start` (`local/cli.ts`) and the end-to-end tests.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type BundledEntries, bundleEntries } from './bundle.js';
import { type CapacityCounts, CapacityMeter } from './capacity-meter.js';
import { DynamoDbProxy } from './dynamodb-proxy.js';
import { type Engine, startDynamoDbLocal, startElasticMq } from './engines.js';
import { type RunningMapping, startSqsMapping, startStreamMapping } from './event-sources.js';
import {
  FaultController,
  type FaultCounts,
  type FaultRequest,
  type FaultSettings,
  faultRequestSchema,
} from './fault-controller.js';
import { RegionGateway } from './gateway.js';
import { GlobalEndpoint } from './global-endpoint.js';
import { type LocalResolver, resolveToString, UnresolvedIntrinsicError } from './intrinsics.js';
import {
  type FaultHook,
  type InvocationRecord,
  LambdaService,
  type LocalFunction,
} from './lambda-service.js';
import { Replicator } from './replicator.js';
import { LocalSecretsManager } from './secrets-manager.js';
import { StreamReader } from './stream-reader.js';
import { type SynthesizedApp, synthesizeApp, synthesizeAppCached } from './synth.js';
import { findSecrets, findTable, type RegionModel, readRegion, type TableModel } from './template.js';
import { localJwtSecret, signLocalToken } from './token.js';

/** The local account id in every ARN. */
export const LOCAL_ACCOUNT_ID = '000000000000';
/** The default global endpoint port; regions follow it (4511, 4512, ...). */
export const DEFAULT_GLOBAL_PORT = 4510;

/** Options of {@link startLocalStack}; every one has a default. */
export interface LocalStackOptions {
  /** Repository root. @default the directory above `local/` */
  root?: string;
  /** CDK context overrides (e.g. `{ regions: 'us-east-1,eu-west-1' }`), on top of `cdk.json`. */
  context?: Record<string, unknown>;
  /** Global endpoint port. @default 4510 */
  globalPort?: number;
  /** Region ports, in the order of the regions. @default globalPort + 1, + 2, ... */
  regionPorts?: number[];
  /** DynamoDB Local port. @default a free port */
  dynamoDbPort?: number;
  /** ElasticMQ port. @default a free port */
  sqsPort?: number;
  /**
   * The value of the template's HS256 signing secret in the local Secrets Manager, which the
   * authorizer fetches, and the key of the local tokens. @default PARLEY_JWT_SECRET or
   * `parley-local-secret`
   */
  jwtSecret?: string;
  /** Health check interval of the global endpoint. @default 1000 */
  healthIntervalMs?: number;
  /** Consecutive health check failures that mark a region unhealthy. @default 2 */
  failureThreshold?: number;
  /** WebSocket idle timeout. @default 10 minutes (API Gateway's) */
  idleTimeoutMs?: number;
  /** WebSocket maximum connection duration. @default 2 hours (API Gateway's) */
  maxDurationMs?: number;
  /** How long the gateway waits for an integration (authorizer, `$connect`, a route). @default 29 s (API Gateway's) */
  integrationTimeoutMs?: number;
  /**
   * Each region's Lambda concurrency limit (invocations in flight at once; over it they are
   * throttled). @default 1000 (Lambda's default quota per Region)
   */
  lambdaConcurrency?: number;
  /** Delay before retry n of a failed stream batch. @default min(1000, 100 * 2^(n-1)) ms */
  retryDelayMs?: (attempt: number) => number;
  /** Poll interval of idle event source mappings. @default 200 */
  pollIntervalMs?: number;
  /** Poll interval of the replicator. @default 100 */
  replicationPollIntervalMs?: number;
  /** Variables set on every handler on top of the template's environment (e.g. a limit). */
  handlerEnvironment?: Record<string, string>;
  /** `POWERTOOLS_LOG_LEVEL` of the handlers. @default the template's, else INFO */
  handlerLogLevel?: string;
  /** Reuse the synthesis while the app's code and config are unchanged. @default true */
  synthCache?: boolean;
  /**
   * Ask DynamoDB for the consumed capacity of every handler call and count it
   * ({@link LocalStack.consumedCapacity}); for the benchmarks' cost model. @default false
   */
  meterCapacity?: boolean;
  /** Where log lines go. @default `.local/logs/local-stack-<globalPort>.log` */
  log?: (line: string) => void;
  /** Progress messages while starting (the CLI prints them). */
  progress?: (message: string) => void;
}

/** One region of a running stack. */
export interface LocalRegion {
  name: string;
  primary: boolean;
  port: number;
  /** `ws://127.0.0.1:<port>/` */
  endpoint: string;
  /** `http://127.0.0.1:<port>/health` */
  health: string;
  /** The stage's callback URL (`@connections`). */
  callbackUrl: string;
  /** Local SQS URLs by the template's queue logical id. */
  queues: Record<string, string>;
}

/** A running local stack. */
export interface LocalStack {
  endpoints: {
    global: string;
    web: string;
    regions: Record<string, string>;
    control: string;
    dynamoDb: string;
    /** The fault-injecting proxy in front of DynamoDB Local that the handlers call. */
    dynamoDbProxy: string;
    sqs: string;
    /** The local Secrets Manager the handlers call (`AWS_ENDPOINT_URL_SECRETS_MANAGER`). */
    secretsManager: string;
  };
  regions: LocalRegion[];
  tableName: string;
  /** Starts or ends a simulated outage of a region. */
  setOutage(region: string, outage: boolean): Promise<void>;
  /** Invokes a handler of a region directly (e.g. `redrive`), like `aws lambda invoke`. */
  invoke(region: string, handler: string, event: unknown): Promise<unknown>;
  /** Installs (or removes) a fault hook on a region's handler: a throwing hook fails the invocation. */
  setFault(region: string, handler: string, hook: FaultHook | undefined): void;
  /** Subscribes to every invocation in every region; returns the unsubscribe function. */
  onInvocation(listener: (record: InvocationRecord) => void): () => void;
  /** A DynamoDB client signed for a region (its replica of the table). */
  dynamoDb(region: string): DynamoDBClient;
  /** An SQS client for the local queues. */
  sqs(): SQSClient;
  /** Whether replication has applied everything it has read. */
  replicationIdle(): boolean;
  /** Replication lag into a region (ms). */
  replicationLagMs(region: string): number;
  /** Signs a local token. */
  token(user: string, expiresInSeconds?: number): Promise<string>;
  /**
   * Sets standing faults (each kind given replaces that kind) and runs a one-shot `drop`; the
   * same as `POST /_local/faults`. Resolves with the faults now standing and the connections dropped.
   */
  injectFaults(request: FaultRequest): Promise<{ faults: FaultSettings; dropped: number }>;
  /** Removes every standing fault (`DELETE /_local/faults`). */
  clearFaults(): void;
  /** The faults injected so far, by kind. */
  faultCounts(): FaultCounts;
  /** With `meterCapacity`: the capacity the handlers' DynamoDB calls consumed, by region (else empty). */
  consumedCapacity(): Record<string, CapacityCounts>;
  /** Starts the capacity counts again from zero. */
  resetConsumedCapacity(): void;
  /** `eventual`, or `strong` (every region's handlers read and write the primary region's table). */
  consistency: 'eventual' | 'strong';
  /** Stops everything the stack started; idempotent. */
  stop(): Promise<void>;
}

const localCredentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/** A port the OS says is free right now. */
export const freePort = (): Promise<number> =>
  new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });

const defaultRoot = (): string => resolve(dirname(fileURLToPath(import.meta.url)), '..');

const createTable = async (client: DynamoDBClient, table: TableModel): Promise<string> => {
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
 * Starts the local stack and resolves once every part is ready.
 *
 * @example
 * ```ts
 * const stack = await startLocalStack({ globalPort: 5510 });
 * const ws = new WebSocket(`${stack.endpoints.global}?token=${await stack.token('alice')}`);
 * // ...
 * await stack.stop();
 * ```
 */
export const startLocalStack = async (options: LocalStackOptions = {}): Promise<LocalStack> => {
  const root = options.root ?? defaultRoot();
  const globalPort = options.globalPort ?? DEFAULT_GLOBAL_PORT;
  const logDir = join(root, '.local', 'logs');
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `local-stack-${globalPort}.log`);
  const log =
    options.log ??
    ((line: string) => {
      appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`);
    });
  const started = Date.now();
  const report = options.progress ?? (() => undefined);
  const progress = (message: string): void => {
    report(message);
    log(`[stack] +${Date.now() - started} ms: ${message}`);
  };
  const jwtSecret = options.jwtSecret ?? localJwtSecret();
  const runDir = join(root, '.local', 'run', String(globalPort));

  const cleanups: (() => Promise<void>)[] = [];
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    log('[stack] stopping');
    // Last started, first stopped: the gateways close connections while the handlers still run.
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error: unknown) =>
        log(`stop: ${error instanceof Error ? error.message : String(error)}`),
      );
    }
    // The bundles and the cloud assembly of this run are not needed any more.
    rmSync(runDir, { recursive: true, force: true });
    log('[stack] stopped');
  };

  try {
    const [dynamoDbPort, sqsPort] = await Promise.all([
      options.dynamoDbPort ?? freePort(),
      options.sqsPort ?? freePort(),
    ]);
    progress('starting DynamoDB Local and ElasticMQ, synthesizing the CDK app');
    const dynamoDbStarting = startDynamoDbLocal(dynamoDbPort);
    const sqsStarting = startElasticMq(root, sqsPort);
    // Register the engines' stops as soon as they exist, even if another part fails.
    const engines: Promise<Engine>[] = [dynamoDbStarting, sqsStarting];
    for (const engine of engines) {
      cleanups.push(async () => {
        const running = await engine.catch(() => undefined);
        await running?.stop();
      });
    }
    // Bundling runs in esbuild's own process: start it on the handler entry files while the
    // synthesis (synchronous, CPU-bound) runs here. The template stays the truth: an entry it
    // declares outside this set is bundled after the synthesis.
    const handlersDir = join(root, 'lambdas', 'handlers');
    const speculativeEntries = existsSync(handlersDir)
      ? readdirSync(handlersDir)
          .filter((file) => file.endsWith('.ts'))
          .map((file) => `lambdas/handlers/${file}`)
      : [];
    const speculative = bundleEntries(root, speculativeEntries, join(runDir, 'build')).catch(
      (): BundledEntries => ({ entries: {} }),
    );
    const synthesize = options.synthCache === false ? synthesizeApp : synthesizeAppCached;
    const synthesized: SynthesizedApp = await synthesize(
      root,
      options.context ?? {},
      join(runDir, 'cdk.out'),
    );
    const regions = synthesized.regions;
    const regionPorts = options.regionPorts ?? regions.map((_, index) => globalPort + 1 + index);
    if (regionPorts.length < regions.length)
      throw new Error(`${regions.length} regions need ${regions.length} region ports`);
    const models: Record<string, RegionModel> = {};
    for (const { region, stackName, template } of synthesized.templates)
      models[region] = readRegion(region, stackName, template);
    // With reuseRetained the app creates no table or secret: it uses those an earlier deploy
    // kept. Locally there is no earlier deploy, so the stack provisions them as that deploy would
    // have, from the app synthesized without the setting.
    const kept =
      synthesized.reuseRetained === true
        ? await synthesize(
            root,
            { ...(options.context ?? {}), reuseRetained: 'false' },
            join(runDir, 'cdk.out.kept'),
          )
        : synthesized;
    const table = findTable(kept.templates, synthesized.tableName);
    const secretModels = findSecrets(kept.templates);

    const entries: Record<string, string> = {};
    for (const model of Object.values(models))
      for (const fn of model.functions) entries[fn.handler] = fn.entry;
    progress(`bundling ${Object.keys(entries).length} handlers`);
    const bundled = await speculative;
    const missing = Object.values(entries).filter((entry) => !bundled.entries[entry]);
    const extra =
      missing.length > 0 ? await bundleEntries(root, missing, join(runDir, 'build-extra')) : undefined;
    const bundles = {
      worker: bundled.worker ?? extra?.worker ?? '',
      handlers: Object.fromEntries(
        Object.entries(entries).map(([handler, entry]) => [
          handler,
          (bundled.entries[entry] ?? extra?.entries[entry]) as string,
        ]),
      ),
    };
    if (!bundles.worker) throw new Error('the local Lambda worker could not be bundled');

    const [dynamoDb, sqsEngine] = await Promise.all([dynamoDbStarting, sqsStarting]);
    // Strong mode: the template's handlers run with CONSISTENCY=strong.
    const consistency: 'eventual' | 'strong' = Object.values(models).some((model) =>
      model.functions.some((fn) => fn.environment.CONSISTENCY === 'strong'),
    )
      ? 'strong'
      : 'eventual';
    const primaryRegion = regions[0] as string;
    // The handlers reach DynamoDB through the fault proxy; the stack's own clients (replication,
    // stream readers, tests) go straight to DynamoDB Local. In strong mode the proxy routes every
    // region's calls to the primary region's table: one state, so every conditional write sees
    // every other region's writes at once (what multi-Region strong consistency guarantees).
    const faults = new FaultController();
    const meter = new CapacityMeter();
    const dynamoDbProxy = new DynamoDbProxy({
      target: dynamoDb.endpoint,
      faults,
      ...(consistency === 'strong' ? { routeRegion: () => primaryRegion } : {}),
      ...(options.meterCapacity ? { meter } : {}),
      log,
    });
    await dynamoDbProxy.listen();
    cleanups.push(() => dynamoDbProxy.close());
    // The template's secrets, in their primary region and every replica region, each with its own
    // ARN. The value of a generated secret is the local signing key, so local tokens verify.
    const secretsManager = new LocalSecretsManager({ accountId: LOCAL_ACCOUNT_ID, log });
    await secretsManager.listen();
    cleanups.push(() => secretsManager.close());
    const secretArns: Record<string, Record<string, string>> = {};
    for (const secret of secretModels) {
      for (const region of [secret.region, ...secret.replicaRegions]) {
        const created = secretsManager.create(region, secret.name, jwtSecret);
        secretArns[region] = { ...secretArns[region], [secret.logicalId]: created.arn };
      }
    }
    const ddbClients: Record<string, DynamoDBClient> = {};
    const streamsClients: Record<string, DynamoDBStreamsClient> = {};
    for (const region of regions) {
      ddbClients[region] = new DynamoDBClient({
        region,
        endpoint: dynamoDb.endpoint,
        credentials: localCredentials,
      });
      streamsClients[region] = new DynamoDBStreamsClient({
        region,
        endpoint: dynamoDb.endpoint,
        credentials: localCredentials,
      });
    }
    const sqs = new SQSClient({
      region: regions[0] ?? 'us-east-1',
      endpoint: sqsEngine.endpoint,
      credentials: localCredentials,
    });
    cleanups.push(async () => {
      for (const client of [...Object.values(ddbClients), ...Object.values(streamsClients), sqs])
        client.destroy();
    });

    progress('creating the tables and queues');
    const streamArns: Record<string, string> = {};
    const queueUrls: Record<string, Record<string, string>> = {};
    const queueArns: Record<string, Record<string, string>> = {};
    await Promise.all(
      regions.map(async (region) => {
        streamArns[region] = await createTable(ddbClients[region] as DynamoDBClient, table);
        const model = models[region] as RegionModel;
        const urls: Record<string, string> = {};
        const arns: Record<string, string> = {};
        // Queue names carry the region, so the regions' queues stay apart in one ElasticMQ.
        const localName = (name: string): string => `${region}-${name}`.slice(0, 80);
        const ordered = [...model.queues].sort(
          (a, b) => Number(Boolean(a.redrive)) - Number(Boolean(b.redrive)),
        );
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
            described.Attributes?.QueueArn ??
            `arn:aws:sqs:${region}:${LOCAL_ACCOUNT_ID}:${localName(queue.name)}`;
        }
        queueUrls[region] = urls;
        queueArns[region] = arns;
      }),
    );

    progress('starting the handlers');
    const outages = new Set<string>();
    const lambdas: Record<string, LambdaService> = {};
    const gateways: Record<string, RegionGateway> = {};
    const localRegions: LocalRegion[] = [];
    regions.forEach((region, index) => {
      const model = models[region] as RegionModel;
      const port = regionPorts[index] as number;
      const apiId = `local${index + 1}`;
      const stageName = model.api?.stageName ?? synthesized.stageName;
      const callbackUrl = `http://127.0.0.1:${port}/${stageName}`;
      const resolver: LocalResolver = {
        ref: (id) => {
          switch (id) {
            case 'AWS::Region':
              return region;
            case 'AWS::AccountId':
              return LOCAL_ACCOUNT_ID;
            case 'AWS::Partition':
              return 'aws';
            case 'AWS::URLSuffix':
              return 'amazonaws.com';
            case 'AWS::StackName':
              return model.stackName;
            case 'AWS::NoValue':
              return '';
          }
          const resource = model.resources[id];
          if (!resource) return `local-${id}`; // a template parameter
          switch (resource.Type) {
            case 'AWS::SQS::Queue':
              return queueUrls[region]?.[id];
            case 'AWS::DynamoDB::GlobalTable':
            case 'AWS::DynamoDB::Table':
              return table.name;
            case 'AWS::ApiGatewayV2::Api':
              return resource.Properties?.ProtocolType === 'WEBSOCKET' ? apiId : `${apiId}-http`;
            case 'AWS::ApiGatewayV2::Stage':
              return typeof resource.Properties?.StageName === 'string'
                ? resource.Properties.StageName
                : stageName;
            case 'AWS::Lambda::Function':
              return `${model.stackName}-${id}`;
            case 'AWS::SecretsManager::Secret':
              return secretArns[region]?.[id];
            default:
              return `arn:aws:local:${region}:${LOCAL_ACCOUNT_ID}:${id}`;
          }
        },
        getAtt: (id, attribute) => {
          const resource = model.resources[id];
          if (resource?.Type === 'AWS::SQS::Queue') {
            if (attribute === 'Arn') return queueArns[region]?.[id];
            if (attribute === 'QueueUrl') return queueUrls[region]?.[id];
            if (attribute === 'QueueName') return queueArns[region]?.[id]?.split(':').pop();
          }
          if (resource?.Type === 'AWS::DynamoDB::GlobalTable' || resource?.Type === 'AWS::DynamoDB::Table') {
            if (attribute === 'Arn')
              return `arn:aws:dynamodb:${region}:${LOCAL_ACCOUNT_ID}:table/${table.name}`;
            if (attribute === 'StreamArn') return streamArns[region];
          }
          if (resource?.Type === 'AWS::ApiGatewayV2::Api' && attribute === 'ApiEndpoint') {
            return resource.Properties?.ProtocolType === 'WEBSOCKET'
              ? `ws://127.0.0.1:${port}`
              : `http://127.0.0.1:${port}`;
          }
          if (resource?.Type === 'AWS::Lambda::Function' && attribute === 'Arn') {
            return `arn:aws:lambda:${region}:${LOCAL_ACCOUNT_ID}:function:${model.stackName}-${id}`;
          }
          return `arn:aws:local:${region}:${LOCAL_ACCOUNT_ID}:${id}/${attribute}`;
        },
      };
      // The stage's callback URL as CloudFormation builds it, rewritten to the local gateway.
      const awsCallback = new RegExp(
        `^(?:https|wss)://${apiId}\\.execute-api\\.${region}\\.amazonaws\\.com/`,
      );
      const functions: LocalFunction[] = model.functions.map((fn) => {
        const environment: Record<string, string> = {};
        for (const [key, value] of Object.entries(fn.environment)) {
          try {
            environment[key] = resolveToString(value, resolver).replace(
              awsCallback,
              `http://127.0.0.1:${port}/`,
            );
          } catch (error) {
            if (!(error instanceof UnresolvedIntrinsicError)) throw error;
            log(`[${region}] ${fn.handler}: ${key}: ${error.message}`);
          }
        }
        if (options.handlerLogLevel) environment.POWERTOOLS_LOG_LEVEL = options.handlerLogLevel;
        Object.assign(environment, options.handlerEnvironment ?? {});
        return {
          handler: fn.handler,
          logicalId: fn.logicalId,
          functionName: `${model.stackName}-${fn.handler}`,
          environment,
          timeoutMs: fn.timeoutSeconds * 1000,
          memoryMb: fn.memoryMb,
          ...(fn.reservedConcurrency !== undefined ? { reservedConcurrency: fn.reservedConcurrency } : {}),
        };
      });
      const lambda = new LambdaService({
        region,
        functions,
        baseEnvironment: {
          PATH: process.env.PATH ?? '',
          TZ: 'UTC',
          AWS_REGION: region,
          AWS_DEFAULT_REGION: region,
          AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
          AWS_ENDPOINT_URL_DYNAMODB: dynamoDbProxy.endpoint,
          AWS_ENDPOINT_URL_DYNAMODB_STREAMS: dynamoDb.endpoint,
          AWS_ENDPOINT_URL_SQS: sqsEngine.endpoint,
          AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.endpoint,
          AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
          ...(options.handlerLogLevel ? { POWERTOOLS_LOG_LEVEL: options.handlerLogLevel } : {}),
        },
        workerFile: bundles.worker,
        bundles: bundles.handlers,
        log,
        crash: (handler) => faults.crash(region, handler),
        ...(options.lambdaConcurrency !== undefined ? { concurrencyLimit: options.lambdaConcurrency } : {}),
      });
      lambdas[region] = lambda;
      cleanups.push(() => lambda.stop());
      if (model.api) {
        gateways[region] = new RegionGateway({
          region,
          port,
          apiId,
          api: model.api,
          lambda,
          ...(options.idleTimeoutMs !== undefined ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
          ...(options.maxDurationMs !== undefined ? { maxDurationMs: options.maxDurationMs } : {}),
          ...(options.integrationTimeoutMs !== undefined
            ? { integrationTimeoutMs: options.integrationTimeoutMs }
            : {}),
          faults,
          log,
        });
      }
      localRegions.push({
        name: region,
        primary: index === 0,
        port,
        endpoint: `ws://127.0.0.1:${port}/`,
        health: `http://127.0.0.1:${port}/health`,
        callbackUrl,
        queues: { ...(queueUrls[region] ?? {}) },
      });
    });

    progress('starting the gateways, event source mappings, replication and the global endpoint');
    const mappings: RunningMapping[] = [];
    cleanups.push(async () => {
      await Promise.all(mappings.map((m) => m.stop()));
    });
    const pollIntervalMs = options.pollIntervalMs ?? 200;
    for (const region of regions) {
      const model = models[region] as RegionModel;
      const context = {
        region,
        lambda: lambdas[region] as LambdaService,
        sqs,
        paused: () => outages.has(region),
        queueUrl: (id: string) => queueUrls[region]?.[id],
        queueArn: (id: string) => queueArns[region]?.[id],
        log,
        retryDelayMs:
          options.retryDelayMs ?? ((attempt: number) => Math.min(1_000, 100 * 2 ** (attempt - 1))),
        pollIntervalMs,
      };
      for (const mapping of model.mappings) {
        if (mapping.source.kind === 'sqs') mappings.push(startSqsMapping(context, mapping));
        else {
          const reader = new StreamReader(
            streamsClients[region] as DynamoDBStreamsClient,
            streamArns[region] as string,
          );
          mappings.push(startStreamMapping(context, mapping, reader));
        }
      }
    }

    const replicator = new Replicator({
      tableName: table.name,
      regions,
      clients: ddbClients,
      readers: Object.fromEntries(
        regions.map((r) => [
          r,
          new StreamReader(streamsClients[r] as DynamoDBStreamsClient, streamArns[r] as string),
        ]),
      ),
      isDown: (region) => outages.has(region),
      pollIntervalMs: options.replicationPollIntervalMs ?? 100,
      delayMs: (source, target) => faults.replicationDelayMs(source, target),
      paused: () => faults.replicationPaused(),
      log,
    });
    replicator.start();
    cleanups.push(() => replicator.stop());

    for (const gateway of Object.values(gateways)) {
      await gateway.listen();
      cleanups.push(() => gateway.close());
    }

    const setOutage = async (region: string, outage: boolean): Promise<void> => {
      if (!regions.includes(region)) throw new Error(`unknown region ${region}`);
      if (outage) outages.add(region);
      else outages.delete(region);
      await gateways[region]?.setOutage(outage);
      log(`[${region}] outage ${outage ? 'started' : 'ended'}`);
    };
    const injectFaults = async (
      request: FaultRequest,
    ): Promise<{ faults: FaultSettings; dropped: number }> => {
      const { drop, ...standing } = faultRequestSchema.parse(request);
      if (drop?.region !== undefined && !regions.includes(drop.region))
        throw new Error(`unknown region ${drop.region}`);
      faults.set(standing);
      let dropped = 0;
      if (drop) {
        for (const [region, gateway] of Object.entries(gateways)) {
          if (drop.region !== undefined && drop.region !== region) continue;
          dropped += gateway.dropConnections((open) => faults.pick(open, drop));
        }
      }
      log(`[faults] ${JSON.stringify(request)} (dropped ${dropped})`);
      return { faults: faults.current(), dropped };
    };
    const clearFaults = (): void => {
      faults.clear();
      log('[faults] cleared');
    };
    const token = (user: string, expiresInSeconds?: number): Promise<string> =>
      signLocalToken(user, {
        secret: jwtSecret,
        ...(expiresInSeconds !== undefined ? { expiresInSeconds } : {}),
      });

    const global = new GlobalEndpoint({
      port: globalPort,
      regions: localRegions.map((r) => ({ name: r.name, port: r.port })),
      routing: synthesized.routing,
      ...(options.healthIntervalMs !== undefined ? { healthIntervalMs: options.healthIntervalMs } : {}),
      ...(options.failureThreshold !== undefined ? { failureThreshold: options.failureThreshold } : {}),
      control: {
        setOutage,
        inOutage: (region) => outages.has(region),
        replicationLagMs: (region) => replicator.lagInto(region),
        issueToken: (user) => token(user),
        faults: {
          inject: injectFaults,
          clear: clearFaults,
          current: () => ({ faults: faults.current(), counts: { ...faults.counts } }),
        },
        redrive: (region, input) => {
          const lambda = lambdas[region];
          if (!lambda) throw new Error(`unknown region ${region}`);
          return lambda.invoke('redrive', input);
        },
      },
      root,
      log,
    });
    await global.listen();
    cleanups.push(() => global.close());
    void global.preloadAssets();
    progress('ready');

    const lambdaOf = (region: string): LambdaService => {
      const lambda = lambdas[region];
      if (!lambda) throw new Error(`unknown region ${region}`);
      return lambda;
    };
    return {
      endpoints: {
        global: global.endpoint,
        web: `http://127.0.0.1:${globalPort}/`,
        regions: Object.fromEntries(localRegions.map((r) => [r.name, r.endpoint])),
        control: `http://127.0.0.1:${globalPort}/_local/regions`,
        dynamoDb: dynamoDb.endpoint,
        dynamoDbProxy: dynamoDbProxy.endpoint,
        sqs: sqsEngine.endpoint,
        secretsManager: secretsManager.endpoint,
      },
      regions: localRegions,
      tableName: table.name,
      setOutage,
      invoke: (region, handler, event) => lambdaOf(region).invoke(handler, event),
      setFault: (region, handler, hook) => lambdaOf(region).setFault(handler, hook),
      onInvocation: (listener) => {
        const offs = Object.values(lambdas).map((lambda) => lambda.onInvocation(listener));
        return () => {
          for (const off of offs) off();
        };
      },
      dynamoDb: (region) => {
        const client = ddbClients[region];
        if (!client) throw new Error(`unknown region ${region}`);
        return client;
      },
      sqs: () => sqs,
      replicationIdle: () => replicator.idle(),
      replicationLagMs: (region) => replicator.lagInto(region),
      token,
      injectFaults,
      clearFaults,
      faultCounts: () => ({ ...faults.counts }),
      consumedCapacity: () => meter.snapshot(),
      resetConsumedCapacity: () => meter.reset(),
      consistency,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
};
