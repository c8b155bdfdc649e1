import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  METRICS_NAMESPACE,
  METRICS_SERVICE,
  MetricName,
  TimingName,
} from '../../lambdas/shared/metric-names.js';
import { acknowledge } from '../nag.js';

/** Properties of a {@link Monitoring}. */
export interface MonitoringProps {
  /** The dashboard's name. */
  readonly dashboardName: string;
  /** The global table's name. */
  readonly tableName: string;
  /** The other regions, to which this region's replica replicates. */
  readonly peerRegions: readonly string[];
  /** Every Lambda function of the region, by a readable name. */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /** The function on the replica stream, whose iterator age is watched. */
  readonly streamConsumer: lambda.IFunction;
  /** Every dead-letter queue of the region, by a readable name. */
  readonly deadLetterQueues: Readonly<Record<string, sqs.IQueue>>;
  /** The WebSocket API id and stage. */
  readonly webSocketApi: { readonly apiId: string; readonly stageName: string };
  /** The health HTTP API id. */
  readonly healthApiId: string;
  /** Where alarm notifications are e-mailed. @default - no subscription */
  readonly alarmEmail?: string;
  /** Iterator age above which the fan-out is alarming. @default Duration.minutes(1) */
  readonly iteratorAgeThreshold?: Duration;
  /** Replication latency above which replication is alarming. @default Duration.seconds(10) */
  readonly replicationLatencyThreshold?: Duration;
}

/**
 * The region's CloudWatch alarms, all wired to one SNS topic, and a dashboard: any message in a
 * dead-letter queue, the fan-out falling behind its stream, replication latency to each other
 * region, Lambda errors, and WebSocket and health API errors.
 */
export class Monitoring extends Construct {
  /** The topic every alarm notifies. */
  public readonly topic: sns.Topic;
  /** Every alarm, by a readable name. */
  public readonly alarms: ReadonlyMap<string, cloudwatch.Alarm>;
  /** The dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;

  public constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const region = Stack.of(this).region;
    this.topic = new sns.Topic(this, 'AlarmTopic', { displayName: 'Parley alarms', enforceSSL: true });
    acknowledge(
      this.topic,
      'AwsSolutions-SNS2',
      'Alarm notifications carry no message content; CloudWatch cannot publish to a topic encrypted with the AWS managed SNS key.',
    );
    if (props.alarmEmail !== undefined) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }
    const alarmAction = new actions.SnsAction(this.topic);
    const alarms = new Map<string, cloudwatch.Alarm>();
    const add = (name: string, alarm: cloudwatch.Alarm): void => {
      alarm.addAlarmAction(alarmAction);
      alarm.addOkAction(alarmAction);
      alarms.set(name, alarm);
    };
    const fiveMinutes = Duration.minutes(5);

    for (const [name, queue] of Object.entries(props.deadLetterQueues)) {
      add(
        `${name}Depth`,
        new cloudwatch.Alarm(this, `${name}DepthAlarm`, {
          alarmDescription: `Messages are waiting in the ${name} dead-letter queue (${region}); run the redrive.`,
          metric: queue.metricApproximateNumberOfMessagesVisible({
            period: Duration.minutes(1),
            statistic: 'Maximum',
          }),
          threshold: 0,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    }

    const iteratorAge = props.streamConsumer.metric('IteratorAge', {
      period: Duration.minutes(1),
      statistic: 'Maximum',
    });
    add(
      'StreamIteratorAge',
      new cloudwatch.Alarm(this, 'StreamIteratorAgeAlarm', {
        alarmDescription: `The fan-out is falling behind this region's replica stream (${region}).`,
        metric: iteratorAge,
        threshold: (props.iteratorAgeThreshold ?? Duration.minutes(1)).toMilliseconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );

    // DynamoDB reports ReplicationLatency in the source region, per receiving region.
    const replicationMetrics = props.peerRegions.map(
      (peer) =>
        new cloudwatch.Metric({
          namespace: 'AWS/DynamoDB',
          metricName: 'ReplicationLatency',
          dimensionsMap: { TableName: props.tableName, ReceivingRegion: peer },
          statistic: 'Average',
          period: Duration.minutes(1),
        }),
    );
    props.peerRegions.forEach((peer, index) => {
      add(
        `ReplicationLatency-${peer}`,
        new cloudwatch.Alarm(this, `ReplicationLatencyAlarm-${peer}`, {
          alarmDescription: `Replication from ${region} to ${peer} is slow.`,
          metric: replicationMetrics[index] as cloudwatch.Metric,
          threshold: (props.replicationLatencyThreshold ?? Duration.seconds(10)).toMilliseconds(),
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 5,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    });

    for (const [name, fn] of Object.entries(props.functions)) {
      add(
        `${name}Errors`,
        new cloudwatch.Alarm(this, `${name}ErrorsAlarm`, {
          alarmDescription: `The ${name} function failed (${region}).`,
          metric: fn.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
          threshold: 0,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    }

    // WebSocket APIs have no 5XXError metric: IntegrationError counts backend failures and
    // ExecutionError API Gateway's own.
    const webSocketMetric = (metricName: string): cloudwatch.Metric =>
      new cloudwatch.Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensionsMap: { ApiId: props.webSocketApi.apiId, Stage: props.webSocketApi.stageName },
        statistic: 'Sum',
        period: fiveMinutes,
      });
    for (const metricName of ['IntegrationError', 'ExecutionError']) {
      add(
        `WebSocket${metricName}`,
        new cloudwatch.Alarm(this, `WebSocket${metricName}Alarm`, {
          alarmDescription: `The WebSocket API reports ${metricName} (${region}).`,
          metric: webSocketMetric(metricName),
          threshold: 0,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    }
    const health5xx = new cloudwatch.Metric({
      namespace: 'AWS/ApiGateway',
      metricName: '5xx',
      dimensionsMap: { ApiId: props.healthApiId, Stage: '$default' },
      statistic: 'Sum',
      period: fiveMinutes,
    });
    add(
      'Health5xx',
      new cloudwatch.Alarm(this, 'Health5xxAlarm', {
        alarmDescription: `GET /health answers 5xx: this region reports itself unhealthy (${region}).`,
        metric: health5xx,
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
    this.alarms = alarms;

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [...alarms.values()], width: 24 }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'WebSocket traffic',
        left: ['ConnectCount', 'MessageCount'].map(webSocketMetric),
        right: ['ClientError', 'IntegrationError', 'ExecutionError'].map(webSocketMetric),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Fan-out iterator age (ms) and replication latency (ms)',
        left: [iteratorAge],
        right: replicationMetrics.map((metric, index) =>
          metric.with({ label: `to ${props.peerRegions[index]}` }),
        ),
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Lambda errors',
        left: Object.entries(props.functions).map(([name, fn]) =>
          fn.metricErrors({ period: fiveMinutes, statistic: 'Sum', label: name }),
        ),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Dead-letter queues',
        left: Object.entries(props.deadLetterQueues).map(([name, queue]) =>
          queue.metricApproximateNumberOfMessagesVisible({ label: name, statistic: 'Maximum' }),
        ),
        right: [health5xx],
        width: 12,
      }),
    );
    // The handlers' own metrics (Powertools EMF): what the traffic graphs above cannot see.
    const parley = (metricName: string, label: string, statistic = 'Sum'): cloudwatch.Metric =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: METRICS_SERVICE },
        region,
        period: fiveMinutes,
        statistic,
        label,
      });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Connections',
        left: [
          parley(MetricName.ConnectionsOpened, 'opened'),
          parley(MetricName.ConnectionsClosed, 'closed'),
          parley(MetricName.ConnectionsGone, 'gone (410)'),
          parley(MetricName.ConnectionsRefused, 'refused (per-user limit)'),
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Messages in and delivered',
        left: [
          parley(MetricName.MessagesAccepted, 'accepted'),
          parley(MetricName.DuplicateSends, 'duplicate sends'),
          parley(MetricName.MessagesDelivered, 'delivered'),
          parley(MetricName.DeliveriesQueued, 'queued for delivery'),
        ],
        right: [
          parley(MetricName.DeliveryFailures, 'delivery failures'),
          parley(MetricName.DeliveryThrottles, 'delivery throttles'),
          parley(MetricName.SendsRateLimited, 'sends rate-limited'),
          parley(MetricName.RequestsRateLimited, 'other requests rate-limited'),
          parley(MetricName.FramesRejected, 'frames rejected'),
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Fan-out latency (ms, origin accept to delivery here)',
        left: [
          parley(TimingName.FanoutLatency, 'p50', 'p50'),
          parley(TimingName.FanoutLatency, 'p99', 'p99'),
        ],
        width: 8,
      }),
    );
  }
}
