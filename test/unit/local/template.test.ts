/**
 * Reading a region's template and resolving its intrinsics to local values: routes and their
 * authorizer, stage throttling, queues with redrive, mappings and their failure settings.
 */
import { describe, expect, it } from 'vitest';
import { type LocalResolver, resolveToString, UnresolvedIntrinsicError } from '../../../local/intrinsics.js';
import { type CfnTemplate, findTable, readRegion } from '../../../local/template.js';

const fnArn = (id: string) => ({
  'Fn::Join': [
    '',
    [
      'arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/',
      { 'Fn::GetAtt': [id, 'Arn'] },
      '/invocations',
    ],
  ],
});
const fn = (handler: string, env: Record<string, unknown> = {}) => ({
  Type: 'AWS::Lambda::Function',
  Metadata: { 'parley:handler': handler, 'parley:entry': `lambdas/handlers/${handler}.ts` },
  Properties: { Timeout: 7, MemorySize: 256, Environment: { Variables: env } },
});

const template: CfnTemplate = {
  Resources: {
    Table: {
      Type: 'AWS::DynamoDB::GlobalTable',
      Properties: {
        TableName: 'parley',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [
          {
            IndexName: 'byTime',
            KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
        StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      },
    },
    Api: {
      Type: 'AWS::ApiGatewayV2::Api',
      Properties: { ProtocolType: 'WEBSOCKET', RouteSelectionExpression: '$request.body.action' },
    },
    Stage: {
      Type: 'AWS::ApiGatewayV2::Stage',
      Properties: {
        ApiId: { Ref: 'Api' },
        StageName: 'prod',
        DefaultRouteSettings: { ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 },
        RouteSettings: { history: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 } },
      },
    },
    Auth: {
      Type: 'AWS::ApiGatewayV2::Authorizer',
      Properties: {
        ApiId: { Ref: 'Api' },
        AuthorizerUri: fnArn('AuthFn'),
        IdentitySource: ['route.request.querystring.token'],
      },
    },
    ConnectIntegration: {
      Type: 'AWS::ApiGatewayV2::Integration',
      Properties: { ApiId: { Ref: 'Api' }, IntegrationUri: fnArn('ConnectFn') },
    },
    HistoryIntegration: {
      Type: 'AWS::ApiGatewayV2::Integration',
      Properties: { ApiId: { Ref: 'Api' }, IntegrationUri: fnArn('HistoryFn') },
    },
    ConnectRoute: {
      Type: 'AWS::ApiGatewayV2::Route',
      Properties: {
        ApiId: { Ref: 'Api' },
        RouteKey: '$connect',
        AuthorizationType: 'CUSTOM',
        AuthorizerId: { Ref: 'Auth' },
        Target: { 'Fn::Join': ['', ['integrations/', { Ref: 'ConnectIntegration' }]] },
      },
    },
    HistoryRoute: {
      Type: 'AWS::ApiGatewayV2::Route',
      Properties: {
        ApiId: { Ref: 'Api' },
        RouteKey: 'history',
        RouteResponseSelectionExpression: '$default',
        Target: { 'Fn::Join': ['', ['integrations/', { Ref: 'HistoryIntegration' }]] },
      },
    },
    AuthFn: fn('authorizer'),
    ConnectFn: fn('connect', {
      TABLE_NAME: 'parley',
      QUEUE: { Ref: 'Queue' },
      CALLBACK: {
        'Fn::Join': [
          '',
          [
            'https://',
            { Ref: 'Api' },
            '.execute-api.',
            { Ref: 'AWS::Region' },
            '.',
            { Ref: 'AWS::URLSuffix' },
            '/prod',
          ],
        ],
      },
    }),
    HistoryFn: fn('history'),
    FanoutFn: {
      ...fn('fanout'),
      Properties: { ...fn('fanout').Properties, ReservedConcurrentExecutions: 5 },
    },
    DeliveryFn: fn('delivery'),
    Dlq: { Type: 'AWS::SQS::Queue', Properties: {} },
    Queue: {
      Type: 'AWS::SQS::Queue',
      Properties: {
        VisibilityTimeout: 180,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['Dlq', 'Arn'] }, maxReceiveCount: 5 },
      },
    },
    StreamDlq: { Type: 'AWS::SQS::Queue', Properties: {} },
    StreamMapping: {
      Type: 'AWS::Lambda::EventSourceMapping',
      Properties: {
        FunctionName: { Ref: 'FanoutFn' },
        EventSourceArn: { 'Fn::GetAtt': ['Lookup', 'Table.LatestStreamArn'] },
        BatchSize: 100,
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: 5,
        MaximumRecordAgeInSeconds: 3600,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['StreamDlq', 'Arn'] } } },
        StartingPosition: 'LATEST',
      },
    },
    QueueMapping: {
      Type: 'AWS::Lambda::EventSourceMapping',
      Properties: {
        FunctionName: { Ref: 'DeliveryFn' },
        EventSourceArn: { 'Fn::GetAtt': ['Queue', 'Arn'] },
        BatchSize: 10,
      },
    },
  },
};

describe('Local stack: template', () => {
  const region = readRegion('us-east-1', 'Parley-us-east-1', template);

  it('reads the functions with their handler, entry, timeout, environment and reserved concurrency', () => {
    expect(region.functions.map((f) => f.handler).sort()).toEqual([
      'authorizer',
      'connect',
      'delivery',
      'fanout',
      'history',
    ]);
    expect(region.functions.find((f) => f.handler === 'connect')).toMatchObject({
      logicalId: 'ConnectFn',
      entry: 'lambdas/handlers/connect.ts',
      timeoutSeconds: 7,
      memoryMb: 256,
      reservedConcurrency: undefined,
    });
    expect(region.functions.find((f) => f.handler === 'fanout')?.reservedConcurrency).toBe(5);
  });

  it('reads the routes, the authorizer, two-way routes and the stage throttling', () => {
    expect(region.api?.routes).toEqual([
      {
        routeKey: '$connect',
        functionLogicalId: 'ConnectFn',
        twoWay: false,
        authorizer: { functionLogicalId: 'AuthFn', identitySource: ['route.request.querystring.token'] },
      },
      { routeKey: 'history', functionLogicalId: 'HistoryFn', twoWay: true, authorizer: undefined },
    ]);
    expect(region.api?.stageName).toBe('prod');
    expect(region.api?.defaultThrottle).toEqual({ rateLimit: 500, burstLimit: 1000 });
    expect(region.api?.routeThrottles.history).toEqual({ rateLimit: 5, burstLimit: 10 });
  });

  it('reads queues with their redrive policy and both kinds of mapping', () => {
    expect(region.queues.find((q) => q.logicalId === 'Queue')).toMatchObject({
      visibilityTimeoutSeconds: 180,
      redrive: { deadLetterLogicalId: 'Dlq', maxReceiveCount: 5 },
    });
    expect(region.mappings.find((m) => m.logicalId === 'StreamMapping')).toEqual({
      logicalId: 'StreamMapping',
      functionLogicalId: 'FanoutFn',
      source: { kind: 'stream' },
      batchSize: 100,
      maximumRetryAttempts: 5,
      bisectBatchOnFunctionError: true,
      maximumRecordAgeInSeconds: 3600,
      reportBatchItemFailures: true,
      onFailureQueueLogicalId: 'StreamDlq',
      maximumBatchingWindowInSeconds: 0,
    });
    expect(region.mappings.find((m) => m.logicalId === 'QueueMapping')).toMatchObject({
      source: { kind: 'sqs', queueLogicalId: 'Queue' },
      batchSize: 10,
      reportBatchItemFailures: false,
    });
  });

  it('reads the table definition', () => {
    expect(findTable([{ stackName: 'Parley-us-east-1', template }], 'fallback')).toMatchObject({
      name: 'parley',
      streamViewType: 'NEW_AND_OLD_IMAGES',
      ttlAttribute: 'ttl',
      globalSecondaryIndexes: [{ IndexName: 'byTime' }],
    });
  });
});

describe('Local stack: intrinsics', () => {
  const resolver: LocalResolver = {
    ref: (id) =>
      ({ 'AWS::Region': 'eu-west-1', 'AWS::URLSuffix': 'amazonaws.com', Api: 'local2', Queue: 'http://q' })[
        id
      ],
    getAtt: (id, attribute) =>
      id === 'Dlq' && attribute === 'Arn' ? 'arn:aws:sqs:eu-west-1:000000000000:dlq' : undefined,
  };

  it('resolves Ref, GetAtt, Join, Sub, Select and Split', () => {
    const env = template.Resources?.ConnectFn?.Properties?.Environment as {
      Variables: Record<string, unknown>;
    };
    expect(resolveToString(env.Variables.CALLBACK, resolver)).toBe(
      'https://local2.execute-api.eu-west-1.amazonaws.com/prod',
    );
    expect(resolveToString({ 'Fn::GetAtt': ['Dlq', 'Arn'] }, resolver)).toBe(
      'arn:aws:sqs:eu-west-1:000000000000:dlq',
    );
    // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax, not a JS template
    expect(resolveToString({ 'Fn::Sub': 'q=${Queue} r=${AWS::Region} a=${Dlq.Arn}' }, resolver)).toBe(
      'q=http://q r=eu-west-1 a=arn:aws:sqs:eu-west-1:000000000000:dlq',
    );
    expect(resolveToString({ 'Fn::Select': [1, { 'Fn::Split': [':', 'a:b:c'] }] }, resolver)).toBe('b');
  });

  it('refuses what it cannot resolve', () => {
    expect(() => resolveToString({ Ref: 'Missing' }, resolver)).toThrow(UnresolvedIntrinsicError);
  });
});
