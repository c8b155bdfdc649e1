import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import {
  METRICS_NAMESPACE,
  METRICS_SERVICE,
  MetricName,
  TimingName,
} from '../../lambdas/shared/metric-names.js';
import { DEPLOY_HANDLER_NAMES, HANDLER_NAMES } from '../../lib/constructs/parley-function.js';
import { HANDLER_ACCESS } from '../../lib/handler-access.js';
import { CONFIGURATIONS, stackOf, synth, templateOf } from './synth.js';

// The default configuration: us-east-1 (primary) and eu-west-1, eventual, failover, no domain, hs256.
const app = synth(CONFIGURATIONS.default);
const primary = templateOf(app, 'us-east-1');
const secondary = templateOf(app, 'eu-west-1');
const both = [
  ['us-east-1', primary],
  ['eu-west-1', secondary],
] as const;

describe('App: default configuration', () => {
  it('creates one stack per region, named Parley-<region>, the others depending on the primary', () => {
    expect([...app.stacks.keys()]).toEqual(['us-east-1', 'eu-west-1']);
    expect(stackOf(app, 'us-east-1').stackName).toBe('Parley-us-east-1');
    expect(stackOf(app, 'eu-west-1').stackName).toBe('Parley-eu-west-1');
    expect(stackOf(app, 'eu-west-1').region).toBe('eu-west-1');
    expect(stackOf(app, 'eu-west-1').dependencies.map((stack) => stack.stackName)).toEqual([
      'Parley-us-east-1',
    ]);
    expect(stackOf(app, 'us-east-1').dependencies).toEqual([]);
  });

  it('puts the one global table in the primary stack only, with a replica in the other region', () => {
    primary.resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
    secondary.resourceCountIs('AWS::DynamoDB::GlobalTable', 0);
    primary.resourceCountIs('AWS::DynamoDB::Table', 0);
    secondary.resourceCountIs('AWS::DynamoDB::Table', 0);
    primary.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TableName: 'parley',
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      GlobalSecondaryIndexes: [
        {
          IndexName: 'byTime',
          KeySchema: [
            { AttributeName: 'gpk', KeyType: 'HASH' },
            { AttributeName: 'gsk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
    for (const region of ['us-east-1', 'eu-west-1']) {
      primary.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
        Replicas: Match.arrayWith([
          Match.objectLike({
            Region: region,
            DeletionProtectionEnabled: true,
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          }),
        ]),
      });
    }
    const table = Object.values(primary.findResources('AWS::DynamoDB::GlobalTable'))[0];
    expect(table?.Properties.Replicas).toHaveLength(2);
    expect(table?.Properties.MultiRegionConsistency).toBeUndefined();
    expect(table?.DeletionPolicy).toBe('Retain');
  });

  it.each(both)(
    '%s: a WebSocket API routing on $request.body.action with every route',
    (_region, template) => {
      template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
        ProtocolType: 'WEBSOCKET',
        RouteSelectionExpression: '$request.body.action',
      });
      const routeKeys = Object.values(template.findResources('AWS::ApiGatewayV2::Route'))
        .filter((route) => route.Properties.RouteKey !== 'GET /health')
        .map((route) => route.Properties.RouteKey as string)
        .sort();
      expect(routeKeys).toEqual(
        [
          '$connect',
          '$default',
          '$disconnect',
          'history',
          'join',
          'leave',
          'ping',
          'presence',
          'send',
        ].sort(),
      );
    },
  );

  it.each(both)(
    '%s: $connect (only) is behind the Lambda REQUEST authorizer reading ?token=',
    (_region, template) => {
      template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
      const authorizerId = Object.keys(template.findResources('AWS::ApiGatewayV2::Authorizer'))[0];
      template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
        AuthorizerType: 'REQUEST',
        IdentitySource: ['route.request.querystring.token'],
        AuthorizerUri: Match.objectLike({
          'Fn::Join': [
            '',
            Match.arrayWith([
              Match.objectLike({ 'Fn::GetAtt': [Match.stringLikeRegexp('^AuthorizerFunction'), 'Arn'] }),
            ]),
          ],
        }),
      });
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: '$connect',
        AuthorizationType: 'CUSTOM',
        AuthorizerId: { Ref: authorizerId },
      });
      const others = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).filter(
        (route) => route.Properties.RouteKey !== '$connect',
      );
      expect(others.every((route) => route.Properties.AuthorizerId === undefined)).toBe(true);
    },
  );

  it.each(both)('%s: each route integrates its own handler', (_region, template) => {
    const functions = template.findResources('AWS::Lambda::Function');
    const integrations = template.findResources('AWS::ApiGatewayV2::Integration');
    const routes = template.findResources('AWS::ApiGatewayV2::Route');
    const expected: Record<string, string> = {
      $connect: 'connect',
      $disconnect: 'disconnect',
      $default: 'default',
      join: 'join',
      leave: 'leave',
      send: 'send',
      history: 'history',
      presence: 'presence',
      ping: 'ping',
      'GET /health': 'health',
    };
    for (const route of Object.values(routes)) {
      const target = route.Properties.Target['Fn::Join'][1][1].Ref as string;
      const uri = integrations[target]?.Properties.IntegrationUri;
      const functionId = JSON.stringify(uri).match(/"Fn::GetAtt":\["([^"]+)","Arn"\]/)?.[1] ?? '';
      expect(functions[functionId]?.Metadata?.['parley:handler']).toBe(expected[route.Properties.RouteKey]);
    }
  });

  it.each(both)(
    '%s: a stage named from config with default and per-route throttling and access logs',
    (_region, template) => {
      template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        StageName: 'prod',
        AutoDeploy: true,
        DefaultRouteSettings: { ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 },
        RouteSettings: {
          history: { ThrottlingRateLimit: 250, ThrottlingBurstLimit: 500 },
          presence: { ThrottlingRateLimit: 250, ThrottlingBurstLimit: 500 },
        },
        AccessLogSettings: {
          DestinationArn: Match.anyValue(),
          Format: Match.stringLikeRegexp('connectionId'),
        },
      });
      // WebSocket logging needs the region's API Gateway account role.
      template.resourceCountIs('AWS::ApiGateway::Account', 1);
    },
  );

  it.each(both)(
    '%s: every handler is Node.js 22 on arm64, with metadata mapping it to its source',
    (_region, template) => {
      const all = Object.values(template.findResources('AWS::Lambda::Function')).filter(
        (fn) => fn.Metadata?.['parley:handler'] !== undefined,
      );
      expect(all.map((fn) => fn.Metadata['parley:handler']).sort()).toEqual(
        [...HANDLER_NAMES, ...DEPLOY_HANDLER_NAMES].sort(),
      );
      const deployTime = all.filter((fn) => fn.Metadata['parley:deployTime'] === true);
      expect(deployTime.map((fn) => fn.Metadata['parley:handler'])).toEqual([...DEPLOY_HANDLER_NAMES]);
      for (const fn of deployTime) {
        expect(fn.Properties.Runtime).toBe('nodejs22.x');
        expect(fn.Properties.Architectures).toEqual(['arm64']);
      }
      const functions = all.filter((fn) => fn.Metadata['parley:deployTime'] !== true);
      for (const fn of functions) {
        expect(fn.Properties.Runtime).toBe('nodejs22.x');
        expect(fn.Properties.Architectures).toEqual(['arm64']);
        expect(fn.Metadata['parley:entry']).toBe(`lambdas/handlers/${fn.Metadata['parley:handler']}.ts`);
        expect(fn.Properties.LoggingConfig.LogGroup).toBeDefined();
        expect(fn.Properties.Environment.Variables).toMatchObject({
          POWERTOOLS_SERVICE_NAME: 'parley',
          POWERTOOLS_METRICS_NAMESPACE: 'Parley',
          CONSISTENCY: 'eventual',
          MAX_BODY_BYTES: '16384',
          MESSAGE_RETENTION_DAYS: '30',
          FANOUT_INLINE_MAX: '100',
          AUTH_MODE: 'hs256',
        });
      }
    },
  );

  it.each(both)(
    '%s: handlers get the table name, the stage callback URL and the delivery queue',
    (region, template) => {
      const byHandler = Object.fromEntries(
        Object.values(template.findResources('AWS::Lambda::Function'))
          .filter((fn) => fn.Metadata?.['parley:handler'] !== undefined)
          .map((fn) => [fn.Metadata['parley:handler'] as string, fn.Properties.Environment.Variables]),
      );
      const apiId = Object.keys(
        template.findResources('AWS::ApiGatewayV2::Api', { Properties: { ProtocolType: 'WEBSOCKET' } }),
      )[0];
      const callbackUrl = {
        'Fn::Join': [
          '',
          ['https://', { Ref: apiId }, `.execute-api.${region}.`, { Ref: 'AWS::URLSuffix' }, '/prod'],
        ],
      };
      for (const name of [
        'connect',
        'disconnect',
        'default',
        'join',
        'leave',
        'send',
        'history',
        'presence',
        'ping',
        'fanout',
        'delivery',
        'redrive',
      ] as const) {
        expect(byHandler[name]).toMatchObject({ TABLE_NAME: 'parley', CONNECTIONS_ENDPOINT: callbackUrl });
        // Only the handlers that queue deliveries know the queue.
        if (HANDLER_ACCESS[name].deliveryQueue) {
          expect(byHandler[name]?.DELIVERY_QUEUE_URL.Ref).toMatch(/^DeliveryQueue/);
        } else {
          expect(byHandler[name]?.DELIVERY_QUEUE_URL).toBeUndefined();
        }
      }
      expect(byHandler.health?.TABLE_NAME).toBe('parley');
      expect(byHandler.authorizer?.TABLE_NAME).toBeUndefined();
      expect(byHandler.redrive?.DELIVERY_DLQ_URL.Ref).toMatch(/^DeliveryDeadLetterQueue/);
      expect(byHandler.redrive?.STREAM_DLQ_URL.Ref).toMatch(/^FanOutDeadLetterQueue/);
    },
  );

  it('hs256: the signing secret lives in the primary with a replica in the other region', () => {
    primary.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'parley/jwt-signing-secret',
      ReplicaRegions: [{ Region: 'eu-west-1' }],
      GenerateSecretString: Match.objectLike({ PasswordLength: 64 }),
    });
    secondary.resourceCountIs('AWS::SecretsManager::Secret', 0);
    for (const [region, template] of both) {
      const authorizer = Object.values(template.findResources('AWS::Lambda::Function')).find(
        (fn) => fn.Metadata?.['parley:handler'] === 'authorizer',
      );
      expect(authorizer?.Properties.Environment.Variables.JWT_SECRET_ID).toBe('parley/jwt-signing-secret');
      expect(JSON.stringify(authorizer?.Properties.Environment.Variables)).not.toContain(
        `:secretsmanager:${region}:`,
      );
    }
  });

  it.each(both)(
    "%s: the fan-out reads this region's replica stream with bounded, bisecting retries",
    (region, template) => {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: Match.stringLikeRegexp('^FanoutFunction') },
        StartingPosition: 'LATEST',
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: 5,
        MaximumRecordAgeInSeconds: 3600,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        DestinationConfig: {
          OnFailure: {
            Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^FanOutDeadLetterQueue'), 'Arn'] },
          },
        },
        EventSourceArn:
          region === 'us-east-1'
            ? { 'Fn::GetAtt': [Match.stringLikeRegexp('^GlobalTable'), 'StreamArn'] }
            : { 'Fn::GetAtt': [Match.stringLikeRegexp('^DeployCheckStreamArn'), 'StreamArn'] },
      });
    },
  );

  it("reads a replica's exact stream ARN at deploy time, again whenever the stream settings change (non-primary)", () => {
    // The stream view type is a property: a change of it updates the lookup, whose new ARN
    // replaces the old one in the mapping and in the fan-out's policy.
    secondary.hasResourceProperties('Custom::ParleyStreamArn', {
      Operation: 'streamArn',
      TableName: 'parley',
      StreamViewType: 'NEW_AND_OLD_IMAGES',
      ServiceToken: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DeployCheckProviderframeworkonEvent'), 'Arn'] },
    });
    primary.resourceCountIs('Custom::ParleyStreamArn', 0);
    // No AwsCustomResource: its provider has no retry for IAM's propagation.
    for (const [, template] of both) template.resourceCountIs('Custom::AWS', 0);
    const fanoutPolicy = Object.values(secondary.findResources('AWS::IAM::Policy')).find((policy) =>
      JSON.stringify(policy.Properties.Roles).includes('FanoutFunctionRole'),
    );
    expect(JSON.stringify(fanoutPolicy?.Properties.PolicyDocument)).toContain('"DeployCheckStreamArn');
  });

  it('the primary refuses, before creating them, a table and secret kept by an earlier deploy', () => {
    const [preflightId] = Object.keys(primary.findResources('Custom::ParleyPreflight'));
    primary.hasResourceProperties('Custom::ParleyPreflight', {
      Operation: 'preflight',
      TableName: 'parley',
      TableLogicalId: Match.stringLikeRegexp('^GlobalTable'),
      SecretName: 'parley/jwt-signing-secret',
      SecretLogicalId: Match.stringLikeRegexp('^JwtSigningSecret'),
      StackId: { Ref: 'AWS::StackId' },
    });
    for (const type of ['AWS::DynamoDB::GlobalTable', 'AWS::SecretsManager::Secret']) {
      const [resource] = Object.values(primary.findResources(type));
      expect(resource?.DependsOn).toContain(preflightId);
    }
    secondary.resourceCountIs('Custom::ParleyPreflight', 0);
  });

  it.each(both)(
    '%s: the delivery queue redrives to a DLQ and feeds the delivery function',
    (_region, template) => {
      template.hasResourceProperties('AWS::SQS::Queue', {
        SqsManagedSseEnabled: true,
        RedrivePolicy: {
          deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DeliveryDeadLetterQueue'), 'Arn'] },
          maxReceiveCount: 5,
        },
        VisibilityTimeout: 180,
      });
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: Match.stringLikeRegexp('^DeliveryFunction') },
        EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DeliveryQueue'), 'Arn'] },
        BatchSize: 10,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
      // Every queue refuses plain HTTP.
      const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy'));
      expect(policies).toHaveLength(3);
      for (const policy of policies) {
        expect(JSON.stringify(policy.Properties.PolicyDocument)).toContain('"aws:SecureTransport":"false"');
      }
    },
  );

  it.each(both)('%s: GET /health on an HTTP API', (_region, template) => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'GET /health' });
  });

  it.each(both)(
    '%s: alarms on DLQs, iterator age, replication, Lambda errors and API errors, to SNS',
    (region, template) => {
      const peer = region === 'us-east-1' ? 'eu-west-1' : 'us-east-1';
      const topic = Object.keys(template.findResources('AWS::SNS::Topic'))[0];
      const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
      for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topic }]);
      const metrics = alarms.map((alarm) => `${alarm.Properties.Namespace}/${alarm.Properties.MetricName}`);
      expect(
        metrics.filter((metric) => metric === 'AWS/SQS/ApproximateNumberOfMessagesVisible'),
      ).toHaveLength(2);
      expect(metrics.filter((metric) => metric === 'AWS/Lambda/Errors')).toHaveLength(HANDLER_NAMES.length);
      expect(metrics).toContain('AWS/Lambda/IteratorAge');
      expect(metrics).toContain('AWS/ApiGateway/IntegrationError');
      expect(metrics).toContain('AWS/ApiGateway/ExecutionError');
      expect(metrics).toContain('AWS/ApiGateway/5xx');
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        Dimensions: [
          {
            Name: 'QueueName',
            Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^FanOutDeadLetterQueue'), 'QueueName'] },
          },
        ],
      });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/DynamoDB',
        MetricName: 'ReplicationLatency',
        Dimensions: [
          { Name: 'ReceivingRegion', Value: peer },
          { Name: 'TableName', Value: 'parley' },
        ],
      });
      template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
      template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: `Parley-${region}` });
      // The dashboard graphs the handlers' EMF metrics (namespace Parley, dimension service=parley).
      const body = JSON.stringify(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]);
      for (const name of [...Object.values(MetricName), TimingName.FanoutLatency]) {
        expect(body).toContain(
          `\\"${METRICS_NAMESPACE}\\",\\"${name}\\",\\"service\\",\\"${METRICS_SERVICE}\\"`,
        );
      }
      // No e-mail unless alarmEmail is configured.
      template.resourceCountIs('AWS::SNS::Subscription', 0);
    },
  );

  it.each(both)('%s: no DNS resources without a domain', (_region, template) => {
    template.resourceCountIs('AWS::Route53::RecordSet', 0);
    template.resourceCountIs('AWS::Route53::HealthCheck', 0);
    template.resourceCountIs('AWS::CertificateManager::Certificate', 0);
  });
});

describe('App: least-privilege IAM', () => {
  // Actions with no resource-level permission (Service Authorization Reference): a statement for
  // them must name `*`, or it grants nothing.
  const UNSCOPED_ACTIONS = new Set(['dynamodb:ListStreams', 'secretsmanager:ListSecrets']);

  it.each(both)('%s: no wildcard actions, no Scan, no control-plane table actions', (_region, template) => {
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
      for (const statement of policy.Properties.PolicyDocument.Statement) {
        const actions: string[] = [statement.Action].flat();
        for (const action of actions) expect(action).not.toMatch(/\*/);
        expect(actions).not.toContain('dynamodb:Scan');
        expect(actions.filter((action) => /^dynamodb:(Create|Delete|Update)Table/.test(action))).toEqual([]);
        if (actions.every((action) => UNSCOPED_ACTIONS.has(action))) {
          expect(statement.Resource).toBe('*');
        } else {
          expect([statement.Resource].flat()).not.toContain('*');
        }
      }
    }
  });

  it.each(both)(
    "%s: the send handler may write this region's replica and its byTime index only",
    (region, template) => {
      const role = Object.values(template.findResources('AWS::Lambda::Function')).find(
        (fn) => fn.Metadata?.['parley:handler'] === 'send',
      )?.Properties.Role['Fn::GetAtt'][0];
      const policy = Object.values(template.findResources('AWS::IAM::Policy')).find((p) =>
        p.Properties.Roles.some((r: { Ref: string }) => r.Ref === role),
      );
      const table = policy?.Properties.PolicyDocument.Statement.find((s: { Action: string[] }) =>
        [s.Action].flat().includes('dynamodb:PutItem'),
      );
      expect(JSON.stringify(table.Resource)).toContain(`:dynamodb:${region}:`);
      expect(JSON.stringify(table.Resource)).toContain(':table/parley"');
      expect(JSON.stringify(table.Resource)).toContain(':table/parley/index/byTime"');
      const manage = policy?.Properties.PolicyDocument.Statement.find(
        (s: { Action: string }) => s.Action === 'execute-api:ManageConnections',
      );
      expect(JSON.stringify(manage.Resource)).toContain('/prod/*/@connections/*');
    },
  );

  it('the health handler may only read the table', () => {
    const role = Object.values(primary.findResources('AWS::Lambda::Function')).find(
      (fn) => fn.Metadata?.['parley:handler'] === 'health',
    )?.Properties.Role['Fn::GetAtt'][0];
    const policy = Object.values(primary.findResources('AWS::IAM::Policy')).find((p) =>
      p.Properties.Roles.some((r: { Ref: string }) => r.Ref === role),
    );
    const actions = policy?.Properties.PolicyDocument.Statement.flatMap((s: { Action: string | string[] }) =>
      [s.Action].flat(),
    );
    expect(actions).toContain('dynamodb:GetItem');
    expect(actions).not.toContain('dynamodb:PutItem');
    expect(actions).not.toContain('dynamodb:DeleteItem');
    expect(actions).not.toContain('execute-api:ManageConnections');
  });
});
