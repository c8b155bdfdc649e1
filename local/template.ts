/**
 * Reads what the local stack runs from the synthesized CloudFormation templates (one stack
 * `Parley-<region>` per region): the table, the queues, the functions and their environment, the
 * WebSocket routes and authorizer, the stage's throttling and the event source mappings. What runs
 * locally is what deploys: a handler or route the CDK app adds is served with no second list.
 */

/** A CloudFormation template, as far as the local stack reads it. */
export interface CfnTemplate {
  Resources?: Record<string, CfnResource>;
}
/** One resource of a template. */
export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
}

/** The table's definition (from `AWS::DynamoDB::GlobalTable` or `AWS::DynamoDB::Table`). */
export interface TableModel {
  logicalId: string;
  name: string;
  attributeDefinitions: { AttributeName: string; AttributeType: string }[];
  keySchema: { AttributeName: string; KeyType: string }[];
  globalSecondaryIndexes: {
    IndexName: string;
    KeySchema: { AttributeName: string; KeyType: string }[];
    Projection: { ProjectionType?: string; NonKeyAttributes?: string[] };
  }[];
  streamViewType: string | undefined;
  ttlAttribute: string | undefined;
}

/** One SQS queue of a region's stack. */
export interface QueueModel {
  logicalId: string;
  /** The template's `QueueName`, else the logical id (FIFO queues keep their `.fifo` suffix). */
  name: string;
  fifo: boolean;
  visibilityTimeoutSeconds: number | undefined;
  messageRetentionSeconds: number | undefined;
  redrive: { deadLetterLogicalId: string; maxReceiveCount: number } | undefined;
}

/** One Lambda function of a region's stack. */
export interface FunctionModel {
  logicalId: string;
  /** `parley:handler` metadata, e.g. `send`. */
  handler: string;
  /** `parley:entry` metadata, e.g. `lambdas/handlers/send.ts`. */
  entry: string;
  /** The function's `Environment.Variables`, intrinsics unresolved. */
  environment: Record<string, unknown>;
  timeoutSeconds: number;
  memoryMb: number;
  /** The function's `ReservedConcurrentExecutions`, if the template sets it. */
  reservedConcurrency: number | undefined;
}

/** One WebSocket route. */
export interface RouteModel {
  routeKey: string;
  /** Logical id of the function the route's integration invokes. */
  functionLogicalId: string;
  /** Whether the route sends the integration's response back to the client (two-way route). */
  twoWay: boolean;
  authorizer: AuthorizerModel | undefined;
}

/** A REQUEST authorizer. */
export interface AuthorizerModel {
  functionLogicalId: string;
  /** Identity sources, e.g. `route.request.querystring.token`. */
  identitySource: string[];
}

/** Throttling of a stage or one route. */
export interface ThrottleModel {
  rateLimit: number | undefined;
  burstLimit: number | undefined;
}

/** A region's WebSocket API and its stage. */
export interface ApiModel {
  logicalId: string;
  routeSelectionExpression: string;
  routes: RouteModel[];
  stageLogicalId: string | undefined;
  stageName: string;
  defaultThrottle: ThrottleModel;
  routeThrottles: Record<string, ThrottleModel>;
}

/** An event source mapping: the table's stream or a queue, into a function. */
export interface MappingModel {
  logicalId: string;
  functionLogicalId: string;
  source: { kind: 'stream' } | { kind: 'sqs'; queueLogicalId: string };
  batchSize: number;
  maximumRetryAttempts: number;
  bisectBatchOnFunctionError: boolean;
  maximumRecordAgeInSeconds: number;
  reportBatchItemFailures: boolean;
  onFailureQueueLogicalId: string | undefined;
  maximumBatchingWindowInSeconds: number;
}

/** Everything the local stack runs for one region. */
export interface RegionModel {
  region: string;
  stackName: string;
  resources: Record<string, CfnResource>;
  queues: QueueModel[];
  functions: FunctionModel[];
  api: ApiModel | undefined;
  mappings: MappingModel[];
}

/** The whole app: the regions in order (primary first) and the one table. */
export interface AppModel {
  regions: string[];
  primary: string;
  routing: 'failover' | 'latency';
  table: TableModel;
  byRegion: Record<string, RegionModel>;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const asNumber = (value: unknown): number | undefined => {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
    return Number(value);
  return undefined;
};

/** The logical ids a value refers to through `Ref` / `Fn::GetAtt`, in order of appearance. */
export const referencedIds = (value: unknown): { id: string; attribute: string | undefined }[] => {
  const found: { id: string; attribute: string | undefined }[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item);
      return;
    }
    if (!isRecord(node)) return;
    if (typeof node.Ref === 'string') found.push({ id: node.Ref, attribute: undefined });
    const getAtt = node['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') {
      found.push({ id: getAtt[0], attribute: typeof getAtt[1] === 'string' ? getAtt[1] : undefined });
    } else if (typeof getAtt === 'string') {
      const [id, attribute] = getAtt.split('.');
      if (id) found.push({ id, attribute });
    }
    for (const child of Object.values(node)) walk(child);
  };
  walk(value);
  return found;
};

const firstOfType = (
  resources: Record<string, CfnResource>,
  value: unknown,
  type: string,
): string | undefined => referencedIds(value).find(({ id }) => resources[id]?.Type === type)?.id;

const readThrottle = (settings: unknown): ThrottleModel => ({
  rateLimit: isRecord(settings) ? asNumber(settings.ThrottlingRateLimit) : undefined,
  burstLimit: isRecord(settings) ? asNumber(settings.ThrottlingBurstLimit) : undefined,
});

const tableFromResource = (logicalId: string, resource: CfnResource, fallbackName: string): TableModel => {
  const props = resource.Properties ?? {};
  const stream = props.StreamSpecification;
  const ttl = props.TimeToLiveSpecification;
  const gsis = Array.isArray(props.GlobalSecondaryIndexes) ? props.GlobalSecondaryIndexes : [];
  return {
    logicalId,
    name: typeof props.TableName === 'string' ? props.TableName : fallbackName,
    attributeDefinitions: (props.AttributeDefinitions ?? []) as TableModel['attributeDefinitions'],
    keySchema: (props.KeySchema ?? []) as TableModel['keySchema'],
    globalSecondaryIndexes: gsis.filter(isRecord).map((gsi) => ({
      IndexName: String(gsi.IndexName),
      KeySchema: gsi.KeySchema as TableModel['keySchema'],
      Projection: (gsi.Projection ?? {
        ProjectionType: 'ALL',
      }) as TableModel['globalSecondaryIndexes'][number]['Projection'],
    })),
    streamViewType:
      isRecord(stream) && typeof stream.StreamViewType === 'string' ? stream.StreamViewType : undefined,
    ttlAttribute:
      isRecord(ttl) && ttl.Enabled !== false && typeof ttl.AttributeName === 'string'
        ? ttl.AttributeName
        : undefined,
  };
};

/** Reads one region's stack. */
export const readRegion = (region: string, stackName: string, template: CfnTemplate): RegionModel => {
  const resources = template.Resources ?? {};
  const entries = Object.entries(resources);
  const queues: QueueModel[] = entries
    .filter(([, r]) => r.Type === 'AWS::SQS::Queue')
    .map(([logicalId, r]) => {
      const props = r.Properties ?? {};
      const redrive = props.RedrivePolicy;
      const fifo = props.FifoQueue === true || props.FifoQueue === 'true';
      const dlq = isRecord(redrive)
        ? firstOfType(resources, redrive.deadLetterTargetArn, 'AWS::SQS::Queue')
        : undefined;
      return {
        logicalId,
        name: typeof props.QueueName === 'string' ? props.QueueName : `${logicalId}${fifo ? '.fifo' : ''}`,
        fifo,
        visibilityTimeoutSeconds: asNumber(props.VisibilityTimeout),
        messageRetentionSeconds: asNumber(props.MessageRetentionPeriod),
        redrive:
          isRecord(redrive) && dlq
            ? { deadLetterLogicalId: dlq, maxReceiveCount: asNumber(redrive.maxReceiveCount) ?? 1 }
            : undefined,
      };
    });
  const functions: FunctionModel[] = entries
    .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
    .flatMap(([logicalId, r]) => {
      const handler = r.Metadata?.['parley:handler'];
      const entry = r.Metadata?.['parley:entry'];
      if (typeof handler !== 'string' || typeof entry !== 'string') return [];
      // Deploy-time custom resources: the local stack provisions the table and queues itself.
      if (r.Metadata?.['parley:deployTime'] === true) return [];
      const props = r.Properties ?? {};
      const env =
        isRecord(props.Environment) && isRecord(props.Environment.Variables)
          ? props.Environment.Variables
          : {};
      return [
        {
          logicalId,
          handler,
          entry,
          environment: env,
          timeoutSeconds: asNumber(props.Timeout) ?? 3,
          memoryMb: asNumber(props.MemorySize) ?? 128,
          reservedConcurrency: asNumber(props.ReservedConcurrentExecutions),
        },
      ];
    });
  const functionIds = new Set(functions.map((f) => f.logicalId));
  const functionOf = (value: unknown): string | undefined =>
    referencedIds(value).find(({ id }) => functionIds.has(id))?.id;

  const apiEntry = entries.find(
    ([, r]) => r.Type === 'AWS::ApiGatewayV2::Api' && r.Properties?.ProtocolType === 'WEBSOCKET',
  );
  let api: ApiModel | undefined;
  if (apiEntry) {
    const [apiId, apiResource] = apiEntry;
    const belongs = (r: CfnResource): boolean =>
      referencedIds(r.Properties?.ApiId).some(({ id }) => id === apiId);
    const authorizers = new Map<string, AuthorizerModel>();
    for (const [logicalId, r] of entries) {
      if (r.Type !== 'AWS::ApiGatewayV2::Authorizer' || !belongs(r)) continue;
      const fn = functionOf(r.Properties?.AuthorizerUri);
      const source = r.Properties?.IdentitySource;
      if (fn) {
        authorizers.set(logicalId, {
          functionLogicalId: fn,
          identitySource: Array.isArray(source)
            ? source.map(String)
            : typeof source === 'string'
              ? [source]
              : [],
        });
      }
    }
    const integrations = new Map<string, string>();
    for (const [logicalId, r] of entries) {
      if (r.Type !== 'AWS::ApiGatewayV2::Integration' || !belongs(r)) continue;
      const fn = functionOf(r.Properties?.IntegrationUri);
      if (fn) integrations.set(logicalId, fn);
    }
    const routes: RouteModel[] = [];
    for (const [, r] of entries) {
      if (r.Type !== 'AWS::ApiGatewayV2::Route' || !belongs(r)) continue;
      const props = r.Properties ?? {};
      const integration = referencedIds(props.Target).find(({ id }) => integrations.has(id))?.id;
      const fn = integration ? integrations.get(integration) : undefined;
      if (!fn || typeof props.RouteKey !== 'string') continue;
      const authorizerId = referencedIds(props.AuthorizerId).find(({ id }) => authorizers.has(id))?.id;
      routes.push({
        routeKey: props.RouteKey,
        functionLogicalId: fn,
        twoWay: typeof props.RouteResponseSelectionExpression === 'string',
        authorizer: authorizerId ? authorizers.get(authorizerId) : undefined,
      });
    }
    const stageEntry = entries.find(([, r]) => r.Type === 'AWS::ApiGatewayV2::Stage' && belongs(r));
    const stageProps = stageEntry?.[1].Properties ?? {};
    const routeSettings = isRecord(stageProps.RouteSettings) ? stageProps.RouteSettings : {};
    api = {
      logicalId: apiId,
      routeSelectionExpression:
        typeof apiResource.Properties?.RouteSelectionExpression === 'string'
          ? apiResource.Properties.RouteSelectionExpression
          : '$request.body.action',
      routes,
      stageLogicalId: stageEntry?.[0],
      stageName: typeof stageProps.StageName === 'string' ? stageProps.StageName : 'prod',
      defaultThrottle: readThrottle(stageProps.DefaultRouteSettings),
      routeThrottles: Object.fromEntries(
        Object.entries(routeSettings).map(([key, s]) => [key, readThrottle(s)]),
      ),
    };
  }

  const mappings: MappingModel[] = entries
    .filter(([, r]) => r.Type === 'AWS::Lambda::EventSourceMapping')
    .flatMap(([logicalId, r]) => {
      const props = r.Properties ?? {};
      const fn = functionOf(props.FunctionName);
      if (!fn) return [];
      const queue = firstOfType(resources, props.EventSourceArn, 'AWS::SQS::Queue');
      const destination = isRecord(props.DestinationConfig) ? props.DestinationConfig.OnFailure : undefined;
      const types = Array.isArray(props.FunctionResponseTypes) ? props.FunctionResponseTypes : [];
      const retries = asNumber(props.MaximumRetryAttempts);
      const age = asNumber(props.MaximumRecordAgeInSeconds);
      return [
        {
          logicalId,
          functionLogicalId: fn,
          source: queue ? { kind: 'sqs' as const, queueLogicalId: queue } : { kind: 'stream' as const },
          batchSize: asNumber(props.BatchSize) ?? (queue ? 10 : 100),
          // -1 means "until the record expires" in AWS; locally that is bounded by the record age.
          maximumRetryAttempts: retries === undefined || retries < 0 ? 10_000 : retries,
          bisectBatchOnFunctionError: props.BisectBatchOnFunctionError === true,
          maximumRecordAgeInSeconds: age === undefined || age < 0 ? 86_400 : age,
          reportBatchItemFailures: types.includes('ReportBatchItemFailures'),
          onFailureQueueLogicalId: isRecord(destination)
            ? firstOfType(resources, destination.Destination, 'AWS::SQS::Queue')
            : undefined,
          maximumBatchingWindowInSeconds: asNumber(props.MaximumBatchingWindowInSeconds) ?? 0,
        },
      ];
    });
  return { region, stackName, resources, queues, functions, api, mappings };
};

/** Finds the table definition in any of the stacks (the global table lives in the primary's). */
export const findTable = (
  templates: { stackName: string; template: CfnTemplate }[],
  defaultName: string,
): TableModel => {
  for (const { template } of templates) {
    for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
      if (resource.Type === 'AWS::DynamoDB::GlobalTable' || resource.Type === 'AWS::DynamoDB::Table') {
        return tableFromResource(logicalId, resource, defaultName);
      }
    }
  }
  throw new Error('no AWS::DynamoDB::GlobalTable or AWS::DynamoDB::Table in the synthesized templates');
};

/** A Secrets Manager secret of the app, with the regions that hold a replica of it. */
export interface SecretModel {
  logicalId: string;
  name: string;
  /** The region of the stack that creates it (its primary region). */
  region: string;
  replicaRegions: string[];
}

/** Every `AWS::SecretsManager::Secret` of the templates (hs256 mode's signing secret). */
export const findSecrets = (templates: { region: string; template: CfnTemplate }[]): SecretModel[] =>
  templates.flatMap(({ region, template }) =>
    Object.entries(template.Resources ?? {})
      .filter(([, resource]) => resource.Type === 'AWS::SecretsManager::Secret')
      .flatMap(([logicalId, resource]) => {
        const props = resource.Properties ?? {};
        if (typeof props.Name !== 'string') return [];
        const replicas = Array.isArray(props.ReplicaRegions) ? props.ReplicaRegions : [];
        return [
          {
            logicalId,
            name: props.Name,
            region,
            replicaRegions: replicas.flatMap((replica) =>
              isRecord(replica) && typeof replica.Region === 'string' ? [replica.Region] : [],
            ),
          },
        ];
      }),
  );
