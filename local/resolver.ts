/**
 * Template resolution: what CloudFormation would put in the place of the template's `Ref`s and
 * `Fn::GetAtt`s in one region, answered with the local parts' names, URLs and ARNs, and so the
 * environment each function runs with (the stage's callback URL rewritten to the local gateway,
 * and the stack's overrides on top).
 */
import { type LocalResolver, resolveToString, UnresolvedIntrinsicError } from './intrinsics.js';
import type { LocalFunction } from './lambda-service.js';
import { LOCAL_ACCOUNT_ID, type RegionResources } from './provision.js';
import type { RegionModel } from './template.js';

/** Where one region's parts are, for the resolver. */
export interface RegionAddress {
  region: string;
  model: RegionModel;
  tableName: string;
  /** The local API id (`local1`, `local2`, ...). */
  apiId: string;
  /** The region gateway's port. */
  port: number;
  stageName: string;
  resources: RegionResources;
}

/** The `Ref` and `Fn::GetAtt` answers of one region. */
export const regionResolver = (address: RegionAddress): LocalResolver => {
  const { region, model, tableName, apiId, port, stageName, resources } = address;
  return {
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
          return resources.queueUrls[id];
        case 'AWS::DynamoDB::GlobalTable':
        case 'AWS::DynamoDB::Table':
          return tableName;
        case 'AWS::ApiGatewayV2::Api':
          return resource.Properties?.ProtocolType === 'WEBSOCKET' ? apiId : `${apiId}-http`;
        case 'AWS::ApiGatewayV2::Stage':
          return typeof resource.Properties?.StageName === 'string'
            ? resource.Properties.StageName
            : stageName;
        case 'AWS::Lambda::Function':
          return `${model.stackName}-${id}`;
        case 'AWS::SecretsManager::Secret':
          return resources.secretArns[id];
        default:
          return `arn:aws:local:${region}:${LOCAL_ACCOUNT_ID}:${id}`;
      }
    },
    getAtt: (id, attribute) => {
      const resource = model.resources[id];
      if (resource?.Type === 'AWS::SQS::Queue') {
        if (attribute === 'Arn') return resources.queueArns[id];
        if (attribute === 'QueueUrl') return resources.queueUrls[id];
        if (attribute === 'QueueName') return resources.queueArns[id]?.split(':').pop();
      }
      if (resource?.Type === 'AWS::DynamoDB::GlobalTable' || resource?.Type === 'AWS::DynamoDB::Table') {
        if (attribute === 'Arn') return `arn:aws:dynamodb:${region}:${LOCAL_ACCOUNT_ID}:table/${tableName}`;
        if (attribute === 'StreamArn') return resources.streamArn;
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
};

/** What the stack sets on every handler on top of the template's environment. */
export interface EnvironmentOverrides {
  /** `POWERTOOLS_LOG_LEVEL`. */
  handlerLogLevel?: string | undefined;
  handlerEnvironment?: Record<string, string> | undefined;
}

/**
 * The region's functions as the local Lambda service runs them: each one's template environment
 * resolved (a variable that cannot be resolved locally is logged and left out), with the overrides
 * on top.
 */
export const localFunctions = (
  address: RegionAddress,
  overrides: EnvironmentOverrides,
  log: (line: string) => void,
): LocalFunction[] => {
  const { region, model, apiId, port } = address;
  const resolver = regionResolver(address);
  // The stage's callback URL as CloudFormation builds it, rewritten to the local gateway.
  const awsCallback = new RegExp(`^(?:https|wss)://${apiId}\\.execute-api\\.${region}\\.amazonaws\\.com/`);
  return model.functions.map((fn) => {
    const environment: Record<string, string> = {};
    for (const [key, value] of Object.entries(fn.environment)) {
      try {
        environment[key] = resolveToString(value, resolver).replace(awsCallback, `http://127.0.0.1:${port}/`);
      } catch (error) {
        if (!(error instanceof UnresolvedIntrinsicError)) throw error;
        log(`[${region}] ${fn.handler}: ${key}: ${error.message}`);
      }
    }
    if (overrides.handlerLogLevel) environment.POWERTOOLS_LOG_LEVEL = overrides.handlerLogLevel;
    Object.assign(environment, overrides.handlerEnvironment ?? {});
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
};
