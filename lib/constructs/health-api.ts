import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge } from '../nag.js';
import type { ParleyFunction } from './parley-function.js';

/** The path Route 53 health checks poll. */
export const HEALTH_PATH = '/health';

/** Properties of a {@link HealthApi}. */
export interface HealthApiProps {
  /** The API's name. */
  readonly apiName: string;
  /** The health function. */
  readonly handler: ParleyFunction;
  /** Requests per second the stage accepts. @default 50 */
  readonly rateLimit?: number;
  /** Burst requests the stage accepts. @default 100 */
  readonly burstLimit?: number;
}

/**
 * The region's HTTP API with `GET /health`, which answers 200 when this region's replica and API
 * work and 503 when not. Route 53 health checks poll it.
 */
export class HealthApi extends Construct {
  /** The HTTP API. */
  public readonly api: apigwv2.HttpApi;
  /** The API's execute-api host name, e.g. `abc123.execute-api.us-east-1.amazonaws.com`. */
  public readonly host: string;

  public constructor(scope: Construct, id: string, props: HealthApiProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.api = new apigwv2.HttpApi(this, 'Api', { apiName: props.apiName, createDefaultStage: false });
    const [route] = this.api.addRoutes({
      path: HEALTH_PATH,
      methods: [apigwv2.HttpMethod.GET],
      integration: new HttpLambdaIntegration('Health', props.handler),
    });
    if (route === undefined) throw new Error('GET /health route was not created');
    acknowledge(
      route,
      'AwsSolutions-APIG4',
      'Route 53 health checkers cannot authenticate; the endpoint reveals only healthy or not, and the stage is throttled.',
    );
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    new apigwv2.HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit ?? 50, burstLimit: props.burstLimit ?? 100 },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: apigateway.AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            requestTime: '$context.requestTimeEpoch',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLength: '$context.responseLength',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });
    this.host = `${this.api.apiId}.execute-api.${stack.region}.${stack.urlSuffix}`;
  }
}
