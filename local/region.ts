/**
 * One region of the local stack, put together from its template: the region's Lambda service
 * (its functions with their resolved environment, pointed at the local engines), its API Gateway,
 * and its event source mappings (started later, once every region's service exists).
 */
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { HandlerBundles } from './app-build.js';
import type { ConnectionsMeter } from './connections-meter.js';
import { type RunningMapping, startSqsMapping, startStreamMapping } from './event-sources.js';
import type { FaultController } from './fault-controller.js';
import { RegionGateway } from './gateway.js';
import { LambdaService } from './lambda-service.js';
import { localCredentials, type RegionResources } from './provision.js';
import { type EnvironmentOverrides, localFunctions } from './resolver.js';
import { StreamReader } from './stream-reader.js';
import type { RegionModel } from './template.js';

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

/** The stack's settings a region reads (a subset of `LocalStackOptions`). */
export interface RegionSettings extends EnvironmentOverrides {
  idleTimeoutMs?: number | undefined;
  maxDurationMs?: number | undefined;
  integrationTimeoutMs?: number | undefined;
  lambdaConcurrency?: number | undefined;
  /** The browser origins that may open a WebSocket to the region's gateway (the page's among them). */
  allowedOrigins: readonly string[];
  /** Delay before retry n of a failed stream batch. */
  retryDelayMs: (attempt: number) => number;
  pollIntervalMs: number;
}

/** The endpoints every handler is pointed at (the SDK's `AWS_ENDPOINT_URL_*` variables). */
export interface HandlerEndpoints {
  /** The fault proxy in front of DynamoDB Local. */
  dynamoDb: string;
  dynamoDbStreams: string;
  sqs: string;
  secretsManager: string;
}

/** What a region is assembled from. */
export interface RegionInput {
  region: string;
  /** The region's place in the app's order; the first is the primary. */
  index: number;
  model: RegionModel;
  port: number;
  /** The stage name when the template has no API of its own. */
  defaultStageName: string;
  tableName: string;
  resources: RegionResources;
  bundles: HandlerBundles;
  endpoints: HandlerEndpoints;
  settings: RegionSettings;
  faults: FaultController;
  /** Counts the `@connections` calls made of the region's gateway. */
  connectionsMeter: ConnectionsMeter;
  sqs: SQSClient;
  streams: DynamoDBStreamsClient;
  /** Whether the region is in a simulated outage (its mappings wait). */
  inOutage: () => boolean;
  log: (line: string) => void;
}

/** An assembled region: its parts, not listening or polling yet. */
export interface RegionAssembly {
  lambda: LambdaService;
  /** Absent when the region's template has no WebSocket API. */
  gateway: RegionGateway | undefined;
  info: LocalRegion;
  /** Starts the region's event source mappings, adding each to `running`. */
  startMappings(running: RunningMapping[]): void;
}

/** Puts one region together. */
export const assembleRegion = (input: RegionInput): RegionAssembly => {
  const { region, index, model, port, resources, settings, log } = input;
  const apiId = `local${index + 1}`;
  const stageName = model.api?.stageName ?? input.defaultStageName;
  const functions = localFunctions(
    { region, model, tableName: input.tableName, apiId, port, stageName, resources },
    settings,
    log,
  );
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
      AWS_ENDPOINT_URL_DYNAMODB: input.endpoints.dynamoDb,
      AWS_ENDPOINT_URL_DYNAMODB_STREAMS: input.endpoints.dynamoDbStreams,
      AWS_ENDPOINT_URL_SQS: input.endpoints.sqs,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: input.endpoints.secretsManager,
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      ...(settings.handlerLogLevel ? { POWERTOOLS_LOG_LEVEL: settings.handlerLogLevel } : {}),
    },
    workerFile: input.bundles.worker,
    bundles: input.bundles.handlers,
    log,
    crash: (handler) => input.faults.crash(region, handler),
    ...(settings.lambdaConcurrency !== undefined ? { concurrencyLimit: settings.lambdaConcurrency } : {}),
  });
  const gateway = model.api
    ? new RegionGateway({
        region,
        port,
        apiId,
        api: model.api,
        lambda,
        ...(settings.idleTimeoutMs !== undefined ? { idleTimeoutMs: settings.idleTimeoutMs } : {}),
        ...(settings.maxDurationMs !== undefined ? { maxDurationMs: settings.maxDurationMs } : {}),
        ...(settings.integrationTimeoutMs !== undefined
          ? { integrationTimeoutMs: settings.integrationTimeoutMs }
          : {}),
        allowedOrigins: settings.allowedOrigins,
        faults: input.faults,
        connectionsMeter: input.connectionsMeter,
        log,
      })
    : undefined;
  const startMappings = (running: RunningMapping[]): void => {
    const context = {
      region,
      lambda,
      sqs: input.sqs,
      paused: input.inOutage,
      queueUrl: (id: string) => resources.queueUrls[id],
      queueArn: (id: string) => resources.queueArns[id],
      log,
      retryDelayMs: settings.retryDelayMs,
      pollIntervalMs: settings.pollIntervalMs,
    };
    // Each one joins `running` as it starts, so a mapping that fails to start leaves the others stoppable.
    for (const mapping of model.mappings) {
      running.push(
        mapping.source.kind === 'sqs'
          ? startSqsMapping(context, mapping)
          : startStreamMapping(context, mapping, new StreamReader(input.streams, resources.streamArn)),
      );
    }
  };
  return {
    lambda,
    gateway,
    info: {
      name: region,
      primary: index === 0,
      port,
      endpoint: `ws://127.0.0.1:${port}/`,
      health: `http://127.0.0.1:${port}/health`,
      callbackUrl: `http://127.0.0.1:${port}/${stageName}`,
      queues: { ...resources.queueUrls },
    },
    startMappings,
  };
};
