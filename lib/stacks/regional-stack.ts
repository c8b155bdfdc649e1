import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { CLIENT_ACTIONS, type ClientAction } from '../../protocol/index.js';
import { environmentOf, type ParleyConfig } from '../config.js';
import { DeliveryQueue } from '../constructs/delivery-queue.js';
import { DeployCheck } from '../constructs/deploy-check.js';
import { Dns, regionalHostname } from '../constructs/dns.js';
import { FanOut } from '../constructs/fan-out.js';
import { GlobalTable } from '../constructs/global-table.js';
import { HealthApi } from '../constructs/health-api.js';
import { Monitoring } from '../constructs/monitoring.js';
import {
  HANDLER_NAMES,
  type HandlerName,
  ParleyFunction,
  type TableReference,
} from '../constructs/parley-function.js';
import { WebSocketApi } from '../constructs/websocket-api.js';
import { HANDLER_ACCESS } from '../handler-access.js';
import { acknowledge } from '../nag.js';

// Every action has a handler of its name: this fails to compile when a new action has none.
const ROUTED_ACTIONS: readonly (ClientAction & HandlerName)[] = CLIENT_ACTIONS;

/** The stack name of a region's stack. */
export function regionalStackName(region: string): string {
  return `Parley-${region}`;
}

/** Properties of a {@link RegionalStack}. */
export interface RegionalStackProps extends StackProps {
  /** The validated app configuration. */
  readonly config: ParleyConfig;
  /** The stack's region; one of `config.regions`. */
  readonly region: string;
}

/**
 * Everything Parley runs in one region, the same for every region: the handlers, the WebSocket API,
 * the fan-out on this region's replica stream, the delivery queue and the dead-letter queues, the
 * health API, alarms and a dashboard, and the region's DNS when a domain is configured. The primary
 * region's stack also owns the global table (with a replica in every other region) and, in hs256
 * mode, the signing secret (replicated to every other region).
 *
 * Stacks share nothing but plain strings from the config (the table's and the secret's names), so
 * no cross-region references are needed.
 */
export class RegionalStack extends Stack {
  /** The global table, in the primary region's stack only (unless `reuseRetained`). */
  public readonly globalTable?: GlobalTable;
  /** The hs256 signing secret, in the primary region's stack only (unless `reuseRetained`). */
  private signingSecret?: secretsmanager.Secret;
  /** The handlers by name. */
  public readonly functions: Readonly<Record<HandlerName, ParleyFunction>>;
  /** The WebSocket API. */
  public readonly webSocket: WebSocketApi;
  /** The delivery queue and its DLQ. */
  public readonly delivery: DeliveryQueue;
  /** The fan-out mapping and its DLQ. */
  public readonly fanOut: FanOut;
  /** The health API. */
  public readonly health: HealthApi;
  /** Alarms and dashboard. */
  public readonly monitoring: Monitoring;
  /** DNS, when a domain is configured. */
  public readonly dns?: Dns;
  /** The deploy-time checks (replica stream lookup, the primary's preflight). */
  public readonly deployCheck: DeployCheck;

  public constructor(scope: Construct, id: string, props: RegionalStackProps) {
    super(scope, id, {
      ...props,
      env: { region: props.region, account: props.env?.account },
      description: `Parley: multi-region WebSocket messaging (${props.region})`,
    });
    const { config, region } = props;
    const isPrimary = region === config.primaryRegion;
    const peerRegions = config.regions.filter((other) => other !== region);

    // With reuseRetained, the table (and the secret) an earlier deploy kept are used by name.
    const ownsTable = isPrimary && !config.reuseRetained;
    if (ownsTable) {
      this.globalTable = new GlobalTable(this, 'GlobalTable', {
        tableName: config.tableName,
        replicaRegions: peerRegions,
        consistency: config.consistency,
        ...(config.witnessRegion === undefined ? {} : { witnessRegion: config.witnessRegion }),
        deletionProtection: config.deletionProtection,
      });
    }
    const table: TableReference = {
      tableName: config.tableName,
      tableArn: ParleyFunction.replicaArn(this, config.tableName),
    };
    this.deployCheck = new DeployCheck(this, 'DeployCheck', table);

    const common = environmentOf(config, 'all');
    const reserved = { connect: config.reservedConcurrencyConnect, route: config.reservedConcurrencyRoutes };
    const make = (handlerName: HandlerName): ParleyFunction => {
      const { group, timeoutSeconds, memoryMb } = HANDLER_ACCESS[handlerName];
      const reservation = group === undefined ? 0 : reserved[group];
      return new ParleyFunction(this, `${handlerName[0]?.toUpperCase()}${handlerName.slice(1)}Function`, {
        handlerName,
        environment: common,
        ...(timeoutSeconds === undefined ? {} : { timeout: Duration.seconds(timeoutSeconds) }),
        ...(memoryMb === undefined ? {} : { memorySize: memoryMb }),
        ...(reservation > 0 ? { reservedConcurrentExecutions: reservation } : {}),
      });
    };
    const functions = Object.fromEntries(HANDLER_NAMES.map((name) => [name, make(name)])) as Record<
      HandlerName,
      ParleyFunction
    >;
    this.functions = functions;

    this.bindAuth(functions.authorizer, config);
    for (const [name, fn] of Object.entries(functions) as [HandlerName, ParleyFunction][]) {
      if (name !== 'authorizer') fn.bindTable(table, HANDLER_ACCESS[name].table);
    }

    this.webSocket = new WebSocketApi(this, 'WebSocket', {
      apiName: `parley-${region}`,
      stageName: config.stageName,
      authorizer: functions.authorizer,
      connect: functions.connect,
      disconnect: functions.disconnect,
      defaultRoute: functions.default,
      // One route per action, to the handler of the action's name.
      actions: Object.fromEntries(
        ROUTED_ACTIONS.map((action) => [
          action,
          action === 'send' ? this.sendRoute(config, functions.send, common, table) : functions[action],
        ]),
      ) as Record<ClientAction, ParleyFunction>,
      throttle: { rateLimit: config.throttleRate, burstLimit: config.throttleBurst },
      // Reads that query the table get half the default budget, so a flood of them cannot starve
      // sends.
      routeThrottles: Object.fromEntries(
        ['history', 'presence'].map((routeKey) => [
          routeKey,
          {
            rateLimit: Math.max(1, config.throttleRate / 2),
            burstLimit: Math.max(1, Math.floor(config.throttleBurst / 2)),
          },
        ]),
      ),
    });
    // Everything that posts to connections; the health check only reads the table.
    for (const fn of [functions.fanout, functions.delivery, functions.redrive]) {
      this.webSocket.bindConnections(fn);
    }
    this.enableApiGatewayLogging(config.apiGatewayCloudWatchRole);

    this.delivery = new DeliveryQueue(this, 'Delivery', { consumer: functions.delivery });
    for (const [name, fn] of Object.entries(functions) as [HandlerName, ParleyFunction][]) {
      if (!HANDLER_ACCESS[name].deliveryQueue) continue;
      fn.addEnvironment('DELIVERY_QUEUE_URL', this.delivery.queue.queueUrl);
      fn.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.delivery.queue.queueArn] }),
      );
    }

    const ownStreamArn = this.globalTable?.table.tableStreamArn;
    this.fanOut = new FanOut(this, 'FanOut', {
      consumer: functions.fanout,
      streamArn: ownStreamArn ?? this.deployCheck.streamArn(),
    });
    if (this.globalTable !== undefined) this.fanOut.node.addDependency(this.globalTable);
    if (this.globalTable !== undefined) {
      this.deployCheck.preflight({
        table: { tableName: config.tableName, resource: this.globalTable.table },
        ...(this.signingSecret === undefined || config.auth.mode !== 'hs256'
          ? {}
          : { secret: { secretName: config.auth.secretName, resource: this.signingSecret } }),
      });
    }

    this.bindRedrive(functions.redrive);

    this.health = new HealthApi(this, 'Health', {
      apiName: `parley-health-${region}`,
      handler: functions.health,
    });

    this.monitoring = new Monitoring(this, 'Monitoring', {
      dashboardName: `Parley-${region}`,
      tableName: config.tableName,
      peerRegions,
      functions,
      streamConsumer: functions.fanout,
      deadLetterQueues: {
        DeliveryDlq: this.delivery.deadLetterQueue,
        StreamDlq: this.fanOut.deadLetterQueue,
      },
      webSocketApi: { apiId: this.webSocket.api.apiId, stageName: config.stageName },
      healthApiId: this.health.api.apiId,
      ...(config.alarmEmail === undefined ? {} : { alarmEmail: config.alarmEmail }),
    });

    if (config.domain !== undefined) {
      this.dns = new Dns(this, 'Dns', {
        domain: config.domain,
        routing: config.routing,
        regionIndex: config.regions.indexOf(region),
        webSocketApi: this.webSocket.api,
        stage: this.webSocket.stage,
        healthHost: this.health.host,
      });
      new CfnOutput(this, 'RegionalEndpoint', {
        value: `wss://${regionalHostname(region, config.domain.domainName)}/${config.stageName}`,
        description: "This region's own custom-domain endpoint",
      });
      new CfnOutput(this, 'GlobalEndpoint', {
        value: `wss://${config.domain.domainName}/${config.stageName}`,
        description: 'The global endpoint (Route 53 routes it to a healthy region)',
      });
    }

    new CfnOutput(this, 'WebSocketUrl', {
      value: `wss://${this.webSocket.api.apiId}.execute-api.${region}.${this.urlSuffix}/${config.stageName}`,
      description: "This region's WebSocket endpoint (append ?token=<JWT>)",
    });
    new CfnOutput(this, 'ConnectionsEndpoint', { value: this.webSocket.callbackUrl });
    new CfnOutput(this, 'HealthUrl', { value: `https://${this.health.host}/health` });
    new CfnOutput(this, 'DeliveryDlqUrl', { value: this.delivery.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'StreamDlqUrl', { value: this.fanOut.deadLetterQueue.queueUrl });
  }

  /**
   * The function behind the `send` route: Parley's, or with `sendDesign=baseline` the benchmarks'
   * scan-and-broadcast baseline (`lambdas/handlers/baseline-send.ts`), which needs `Scan`.
   */
  private sendRoute(
    config: ParleyConfig,
    send: ParleyFunction,
    environment: Record<string, string>,
    table: TableReference,
  ): ParleyFunction {
    if (config.sendDesign !== 'baseline') return send;
    const baseline = new ParleyFunction(this, 'BaselineSendFunction', {
      handlerName: 'baseline-send',
      description: 'Parley benchmarks: the scan-and-broadcast baseline send',
      environment,
      timeout: Duration.seconds(30),
    });
    baseline.bindTable(table, ['GetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem']);
    baseline.allowTableScan(table);
    return baseline;
  }

  /** hs256: the signing secret (created once, in the primary region); jwks: the JWKS settings. */
  private bindAuth(authorizer: ParleyFunction, config: ParleyConfig): void {
    for (const [name, value] of Object.entries(environmentOf(config, 'authorizer'))) {
      authorizer.addEnvironment(name, value);
    }
    const auth = config.auth;
    if (auth.mode === 'jwks') return;
    if (this.region === config.primaryRegion && !config.reuseRetained) {
      const secret = new secretsmanager.Secret(this, 'JwtSigningSecret', {
        secretName: auth.secretName,
        description: 'Parley: HS256 key that signs and verifies client tokens',
        generateSecretString: { passwordLength: 64, excludePunctuation: true },
        replicaRegions: config.regions.filter((other) => other !== this.region).map((region) => ({ region })),
        // Kept with the table when the stacks are deleted: the tokens in use stay valid across a
        // redeploy with reuseRetained (README, "Teardown and redeploy").
        removalPolicy: RemovalPolicy.RETAIN,
      });
      acknowledge(
        secret,
        'AwsSolutions-SMG4',
        'Rotating an HS256 signing key invalidates every token in use; it is rotated deliberately (put a new value, reissue tokens), not on a schedule.',
      );
      this.signingSecret = secret;
    }
    // JWT_SECRET_ID (above) is the name, not an ARN: a replica keeps its primary's name in every
    // region, and a name is never misread. A partial ARN (the ARN without the random suffix) is
    // read as a complete ARN when the name itself ends in a hyphen and six characters, as
    // `parley/jwt-signing-secret` does, and then finds nothing (Secrets Manager user guide,
    // troubleshooting, "ARN_secretnamehyphen"; the warning on `Secret.fromSecretNameV2`).
    const arnWithoutSuffix = this.formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: auth.secretName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    authorizer.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        // Every secret ARN ends in `-` and six random characters.
        resources: [`${arnWithoutSuffix}-??????`],
      }),
    );
  }

  /** The redrive command: reads both DLQs, replays into the delivery queue and the stream. */
  private bindRedrive(redrive: ParleyFunction): void {
    redrive.addEnvironment('DELIVERY_DLQ_URL', this.delivery.deadLetterQueue.queueUrl);
    redrive.addEnvironment('STREAM_DLQ_URL', this.fanOut.deadLetterQueue.queueUrl);
    // It receives a DLQ message, replays it, and deletes it only once the replay succeeded.
    redrive.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage'],
        resources: [this.delivery.deadLetterQueue.queueArn, this.fanOut.deadLetterQueue.queueArn],
      }),
    );
    // The stream DLQ holds shard and sequence numbers, not records: the redrive reads them back.
    redrive.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        resources: [this.fanOut.streamArn],
      }),
    );
  }

  /**
   * WebSocket API logging needs the region's API Gateway account setting to name a role that may
   * write to CloudWatch Logs; without it the stage fails to deploy in a fresh account. The setting
   * is one per account and region, shared by every API Gateway API there (CDK apigateway README,
   * `cloudWatchRoleRemovalPolicy`), so the role is kept when the stack is deleted, and an account
   * that already has one can keep it (`apiGatewayCloudWatchRole`).
   */
  private enableApiGatewayLogging(setting: ParleyConfig['apiGatewayCloudWatchRole']): void {
    if (setting === 'existing') return;
    let roleArn: string;
    if (setting === 'create') {
      const role = new iam.Role(this, 'ApiGatewayLogsRole', {
        assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
        managedPolicies: [
          iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs'),
        ],
      });
      role.applyRemovalPolicy(RemovalPolicy.RETAIN);
      acknowledge(
        role,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        'AmazonAPIGatewayPushToCloudWatchLogs is the policy AWS documents for the API Gateway account logging role; only API Gateway can assume the role.',
      );
      roleArn = role.roleArn;
    } else {
      roleArn = setting.roleArn;
    }
    const account = new apigateway.CfnAccount(this, 'ApiGatewayAccount', { cloudWatchRoleArn: roleArn });
    // Deleting the stack leaves the account setting as it is, naming the kept role.
    account.applyRemovalPolicy(RemovalPolicy.RETAIN);
    this.webSocket.stage.node.addDependency(account);
  }
}
