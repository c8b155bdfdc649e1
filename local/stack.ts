/**
 * `startLocalStack`: the whole of Parley on 127.0.0.1 with no AWS account. DynamoDB Local holds
 * every region's replica of the table, ElasticMQ every region's queues; per region a local API
 * Gateway and a local Lambda service run the CDK app's handlers with the template's routes,
 * mappings and environment; a replicator plays global-table replication and a global endpoint
 * plays the Route 53 record. Used by `npm start` (`local/cli.ts`) and the end-to-end tests.
 *
 * This file is the stack's API and its start order (its options are in `stack-options.ts`); the
 * parts are built by `app-build.ts` (the synthesis and the bundles), `provision.ts` (tables,
 * queues, secrets), `resolver.ts` (the template's intrinsics and the handlers' environment),
 * `region.ts` (one region's Lambda service, gateway and mappings), `stack-controls.ts` (outages,
 * faults, tokens) and `lifecycle.ts` (the stops, in reverse order).
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { bundleHandlers, startSpeculativeBundling, synthesizeModels } from './app-build.js';
import { type CapacityCounts, CapacityMeter } from './capacity-meter.js';
import { type ConnectionsCounts, ConnectionsMeter } from './connections-meter.js';
import { DynamoDbProxy } from './dynamodb-proxy.js';
import { startDynamoDbLocal, startElasticMq } from './engines.js';
import type { RunningMapping } from './event-sources.js';
import {
  FaultController,
  type FaultCounts,
  type FaultRequest,
  type FaultSettings,
} from './fault-controller.js';
import { freePort } from './free-port.js';
import type { RegionGateway } from './gateway.js';
import { GlobalEndpoint } from './global-endpoint.js';
import type { FaultHook, InvocationRecord, LambdaService } from './lambda-service.js';
import { Lifecycle, stackLogging } from './lifecycle.js';
import {
  createSecrets,
  engineClients,
  LOCAL_ACCOUNT_ID,
  provisionRegions,
  type RegionResources,
} from './provision.js';
import { assembleRegion, type LocalRegion } from './region.js';
import { Replicator } from './replicator.js';
import { normalizeOrigin, pageOrigins } from './request-guards.js';
import { LocalSecretsManager } from './secrets-manager.js';
import { stackControls } from './stack-controls.js';
import type { LocalStackOptions } from './stack-options.js';
import { StreamReader } from './stream-reader.js';
import type { RegionModel } from './template.js';
import { localJwtSecret } from './token.js';

export { freePort } from './free-port.js';
export { LOCAL_ACCOUNT_ID } from './provision.js';
export type { LocalRegion } from './region.js';
export type { LocalStackOptions } from './stack-options.js';

/** The default global endpoint port; regions follow it (4511, 4512, ...). */
export const DEFAULT_GLOBAL_PORT = 4510;

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
  /** The `@connections` calls the handlers made (PostToConnection, GetConnection, DeleteConnection), by region. */
  connectionsCalls(): Record<string, ConnectionsCounts>;
  /** Starts the `@connections` call counts again from zero. */
  resetConnectionsCalls(): void;
  /** `eventual`, or `strong` (every region's handlers read and write the primary region's table). */
  consistency: 'eventual' | 'strong';
  /** Stops everything the stack started; idempotent. */
  stop(): Promise<void>;
}

const defaultRoot = (): string => resolve(dirname(fileURLToPath(import.meta.url)), '..');

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
  const { log, progress } = stackLogging(root, globalPort, options.log, options.progress);
  const jwtSecret = options.jwtSecret ?? localJwtSecret();
  // Checked before anything starts, so that a malformed origin stops the start with its message
  // rather than match no browser origin at all.
  const allowOrigins = (options.allowOrigins ?? []).map(normalizeOrigin);
  const runDir = join(root, '.local', 'run', String(globalPort));
  const lifecycle = new Lifecycle(log, runDir);

  return lifecycle.start(async () => {
    const [dynamoDbPort, sqsPort] = await Promise.all([
      options.dynamoDbPort ?? freePort(),
      options.sqsPort ?? freePort(),
    ]);
    progress('starting DynamoDB Local and ElasticMQ, synthesizing the CDK app');
    const dynamoDbStarting = startDynamoDbLocal(dynamoDbPort);
    const sqsStarting = startElasticMq(root, sqsPort);
    // Register the engines' stops as soon as they exist, even if another part fails.
    lifecycle.stopWhenStarted(dynamoDbStarting);
    lifecycle.stopWhenStarted(sqsStarting);
    const speculative = startSpeculativeBundling(root, runDir);
    const app = await synthesizeModels(root, options.context ?? {}, runDir, options.synthCache !== false);
    const { synthesized, regions, models, table, consistency } = app;
    const regionPorts = options.regionPorts ?? regions.map((_, index) => globalPort + 1 + index);
    if (regionPorts.length < regions.length)
      throw new Error(`${regions.length} regions need ${regions.length} region ports`);
    const bundles = await bundleHandlers(root, runDir, models, speculative, progress);

    const [dynamoDb, sqsEngine] = await Promise.all([dynamoDbStarting, sqsStarting]);
    const primaryRegion = regions[0] as string;
    // The handlers reach DynamoDB through the fault proxy; the stack's own clients (replication,
    // stream readers, tests) go straight to DynamoDB Local. In strong mode the proxy routes every
    // region's calls to the primary region's table: one state, so every conditional write sees
    // every other region's writes at once (what multi-Region strong consistency guarantees).
    const faults = new FaultController();
    const meter = new CapacityMeter();
    const connectionsMeter = new ConnectionsMeter();
    const dynamoDbProxy = new DynamoDbProxy({
      target: dynamoDb.endpoint,
      faults,
      ...(consistency === 'strong' ? { routeRegion: () => primaryRegion } : {}),
      ...(options.meterCapacity ? { meter } : {}),
      log,
    });
    await dynamoDbProxy.listen();
    lifecycle.onStop(() => dynamoDbProxy.close());
    // The template's secrets, in their primary region and every replica region, each with its own
    // ARN. The value of a generated secret is the local signing key, so local tokens verify.
    const secretsManager = new LocalSecretsManager({ accountId: LOCAL_ACCOUNT_ID, log });
    await secretsManager.listen();
    lifecycle.onStop(() => secretsManager.close());
    const secretArns = createSecrets(secretsManager, app.secrets, jwtSecret);
    const clients = engineClients(regions, dynamoDb.endpoint, sqsEngine.endpoint);
    lifecycle.onStop(async () => clients.destroy());

    progress('creating the tables and queues');
    const resources = await provisionRegions(clients, regions, models, table, secretArns);

    progress('starting the handlers');
    const outages = new Set<string>();
    const lambdas: Record<string, LambdaService> = {};
    const gateways: Record<string, RegionGateway> = {};
    const localRegions: LocalRegion[] = [];
    const assemblies = regions.map((region, index) => {
      const assembly = assembleRegion({
        region,
        index,
        model: models[region] as RegionModel,
        port: regionPorts[index] as number,
        defaultStageName: synthesized.stageName,
        tableName: table.name,
        resources: resources[region] as RegionResources,
        bundles,
        endpoints: {
          dynamoDb: dynamoDbProxy.endpoint,
          dynamoDbStreams: dynamoDb.endpoint,
          sqs: sqsEngine.endpoint,
          secretsManager: secretsManager.endpoint,
        },
        settings: {
          ...options,
          allowedOrigins: [...pageOrigins(globalPort), ...allowOrigins],
          retryDelayMs:
            options.retryDelayMs ?? ((attempt: number) => Math.min(1_000, 100 * 2 ** (attempt - 1))),
          pollIntervalMs: options.pollIntervalMs ?? 200,
        },
        faults,
        connectionsMeter,
        sqs: clients.sqs,
        streams: clients.streams[region] as DynamoDBStreamsClient,
        inOutage: () => outages.has(region),
        log,
      });
      lambdas[region] = assembly.lambda;
      lifecycle.onStop(() => assembly.lambda.stop());
      if (assembly.gateway) gateways[region] = assembly.gateway;
      localRegions.push(assembly.info);
      return assembly;
    });

    progress('starting the gateways, event source mappings, replication and the global endpoint');
    const mappings: RunningMapping[] = [];
    lifecycle.onStop(async () => {
      await Promise.all(mappings.map((m) => m.stop()));
    });
    for (const assembly of assemblies) assembly.startMappings(mappings);

    const replicator = new Replicator({
      tableName: table.name,
      regions,
      clients: clients.dynamoDb,
      readers: Object.fromEntries(
        regions.map((r) => [
          r,
          new StreamReader(clients.streams[r] as DynamoDBStreamsClient, resources[r]?.streamArn as string),
        ]),
      ),
      isDown: (region) => outages.has(region),
      pollIntervalMs: options.replicationPollIntervalMs ?? 100,
      delayMs: (source, target) => faults.replicationDelayMs(source, target),
      paused: () => faults.replicationPaused(),
      log,
    });
    replicator.start();
    lifecycle.onStop(() => replicator.stop());

    for (const gateway of Object.values(gateways)) {
      await gateway.listen();
      lifecycle.onStop(() => gateway.close());
    }

    const { setOutage, injectFaults, clearFaults, token, lambdaOf } = stackControls({
      regions,
      outages,
      lambdas,
      gateways,
      faults,
      jwtSecret,
      log,
    });

    const global = new GlobalEndpoint({
      port: globalPort,
      regions: localRegions.map((r) => ({ name: r.name, port: r.port })),
      routing: synthesized.routing,
      allowOrigins,
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
        redrive: (region, input) => lambdaOf(region).invoke('redrive', input),
      },
      root,
      log,
    });
    await global.listen();
    lifecycle.onStop(() => global.close());
    void global.preloadAssets();
    progress('ready');

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
        const client = clients.dynamoDb[region];
        if (!client) throw new Error(`unknown region ${region}`);
        return client;
      },
      sqs: () => clients.sqs,
      replicationIdle: () => replicator.idle(),
      replicationLagMs: (region) => replicator.lagInto(region),
      token,
      injectFaults,
      clearFaults,
      faultCounts: () => ({ ...faults.counts }),
      consumedCapacity: () => meter.snapshot(),
      resetConsumedCapacity: () => meter.reset(),
      connectionsCalls: () => connectionsMeter.snapshot(),
      resetConnectionsCalls: () => connectionsMeter.reset(),
      consistency,
      stop: lifecycle.stop,
    };
  });
};
