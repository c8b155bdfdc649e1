import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { ClientAction } from '../../protocol/index.js';
import { acknowledge, nagResourceFinding } from '../nag.js';
import type { ParleyFunction } from './parley-function.js';

/** The identity source of the `$connect` authorizer: the token travels in the query string. */
export const AUTHORIZER_IDENTITY_SOURCE = 'route.request.querystring.token';

/** The route selection expression: every client frame carries `action`. */
export const ROUTE_SELECTION_EXPRESSION = '$request.body.action';

/** Throttling of one route, in requests per second and burst requests. */
export interface RouteThrottle {
  /** Steady-state requests per second. */
  readonly rateLimit: number;
  /** Burst requests. */
  readonly burstLimit: number;
}

/** Properties of a {@link WebSocketApi}. */
export interface WebSocketApiProps {
  /** The API's name. */
  readonly apiName: string;
  /** The stage's name, e.g. `prod`. */
  readonly stageName: string;
  /** The `$connect` REQUEST authorizer. */
  readonly authorizer: ParleyFunction;
  /** The `$connect` handler. */
  readonly connect: ParleyFunction;
  /** The `$disconnect` handler. */
  readonly disconnect: ParleyFunction;
  /** The `$default` handler (unknown actions and unparseable frames). */
  readonly defaultRoute: ParleyFunction;
  /** One handler per protocol action. */
  readonly actions: Readonly<Record<ClientAction, ParleyFunction>>;
  /** The default throttling of every route. */
  readonly throttle: RouteThrottle;
  /**
   * Throttling of single routes that differs from the default, by route key.
   * @default - none
   */
  readonly routeThrottles?: Readonly<Record<string, RouteThrottle>>;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly accessLogRetention?: logs.RetentionDays;
}

/**
 * The region's API Gateway WebSocket API: `$connect` behind a Lambda REQUEST authorizer,
 * `$disconnect`, `$default` and one route per protocol action, a stage with route throttling and
 * access logging, and, for every handler, the stage's `@connections` endpoint
 * (`CONNECTIONS_ENDPOINT`) with permission to manage connections on this API only.
 */
export class WebSocketApi extends Construct {
  /** The API. */
  public readonly api: apigwv2.WebSocketApi;
  /** The stage. */
  public readonly stage: apigwv2.WebSocketStage;
  /**
   * The stage's callback URL, `https://<api>.execute-api.<region>.amazonaws.com/<stage>`: the
   * `@connections` endpoint. Built from the API id and the stage's name, not from a request's domain
   * name, which is wrong behind a custom domain.
   */
  public readonly callbackUrl: string;
  /** The routes by route key. */
  public readonly routes: ReadonlyMap<string, apigwv2.WebSocketRoute>;

  private readonly stageName: string;

  public constructor(scope: Construct, id: string, props: WebSocketApiProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.stageName = props.stageName;

    this.api = new apigwv2.WebSocketApi(this, 'Api', {
      apiName: props.apiName,
      routeSelectionExpression: ROUTE_SELECTION_EXPRESSION,
      connectRouteOptions: {
        integration: new WebSocketLambdaIntegration('ConnectIntegration', props.connect),
        authorizer: new WebSocketLambdaAuthorizer('Authorizer', props.authorizer, {
          authorizerName: `${props.apiName}-authorizer`,
          identitySource: [AUTHORIZER_IDENTITY_SOURCE],
        }),
      },
      disconnectRouteOptions: {
        integration: new WebSocketLambdaIntegration('DisconnectIntegration', props.disconnect),
      },
      defaultRouteOptions: {
        integration: new WebSocketLambdaIntegration('DefaultIntegration', props.defaultRoute),
      },
    });
    for (const [action, handler] of Object.entries(props.actions)) {
      this.api.addRoute(action, {
        integration: new WebSocketLambdaIntegration(`${action}Integration`, handler),
      });
    }

    const routes = new Map<string, apigwv2.WebSocketRoute>();
    for (const child of this.api.node.children) {
      if (child instanceof apigwv2.WebSocketRoute) routes.set(child.routeKey, child);
    }
    this.routes = routes;
    for (const [routeKey, route] of routes) {
      if (routeKey === '$connect') continue;
      acknowledge(
        route,
        'AwsSolutions-APIG4',
        'API Gateway runs WebSocket authorizers on $connect only; every later frame belongs to a connection that $connect already authorized.',
      );
    }

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.accessLogRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new apigwv2.WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName: props.stageName,
      autoDeploy: true,
      throttle: props.throttle,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: apigateway.AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            connectionId: '$context.connectionId',
            eventType: '$context.eventType',
            routeKey: '$context.routeKey',
            status: '$context.status',
            requestTime: '$context.requestTimeEpoch',
            error: '$context.error.message',
            integrationError: '$context.integrationErrorMessage',
            authorizerError: '$context.authorizer.error',
          }),
        ),
      },
    });
    const cfnStage = this.stage.node.defaultChild as apigwv2.CfnStage;
    const routeThrottles = props.routeThrottles ?? {};
    if (Object.keys(routeThrottles).length > 0) {
      cfnStage.routeSettings = Object.fromEntries(
        Object.entries(routeThrottles).map(([routeKey, throttle]) => [
          routeKey,
          { ThrottlingRateLimit: throttle.rateLimit, ThrottlingBurstLimit: throttle.burstLimit },
        ]),
      );
      // A stage's route settings may only name routes that already exist.
      for (const routeKey of Object.keys(routeThrottles)) {
        const route = routes.get(routeKey);
        if (route === undefined) throw new Error(`No WebSocket route "${routeKey}" to throttle`);
        this.stage.node.addDependency(route);
      }
    }

    this.callbackUrl = `https://${this.api.apiId}.execute-api.${stack.region}.${stack.urlSuffix}/${props.stageName}`;

    const handlers = new Set<ParleyFunction>([
      props.connect,
      props.disconnect,
      props.defaultRoute,
      ...Object.values(props.actions),
    ]);
    for (const handler of handlers) this.bindConnections(handler);
  }

  /**
   * Gives a function this stage's `@connections` endpoint (`CONNECTIONS_ENDPOINT`) and permission to
   * post to, read and close connections of this API's stage, and nothing else.
   */
  public bindConnections(fn: ParleyFunction): void {
    fn.addEnvironment('CONNECTIONS_ENDPOINT', this.callbackUrl);
    const connections = Stack.of(this).formatArn({
      service: 'execute-api',
      resource: this.api.apiId,
      resourceName: `${this.stageName}/*/@connections/*`,
    });
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['execute-api:ManageConnections'], resources: [connections] }),
    );
    acknowledge(
      fn.role ?? fn,
      `AwsSolutions-IAM5[${nagResourceFinding(this, connections)}]`,
      'Connection ids are created at run time; the wildcard covers only the connections of this one stage.',
    );
  }
}
