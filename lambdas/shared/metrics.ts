/**
 * The Powertools metrics of Parley, published as CloudWatch Embedded Metric Format at the end of
 * each invocation by the `flushMetrics` middleware (no PutMetricData calls on the hot path).
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/** Namespace `Parley`, service `parley`; the alarms and dashboard of the CDK app read these. */
export const metrics = new Metrics({ namespace: 'Parley', serviceName: 'parley' });

/** Metric names, so producers and the dashboard agree on spelling. */
export const MetricName = {
  /** A `send` stored a new message. */
  MessagesAccepted: 'MessagesAccepted',
  /** A `send` repeated an already stored `(room, id)`. */
  DuplicateSends: 'DuplicateSends',
  /** Frames posted to connections successfully. */
  MessagesDelivered: 'MessagesDelivered',
  /** Posts that failed after retries (handed to the delivery queue or reported as failed). */
  DeliveryFailures: 'DeliveryFailures',
  /** Posts throttled by API Gateway (each attempt). */
  DeliveryThrottles: 'DeliveryThrottles',
  /** Connections found gone (410) and removed. */
  ConnectionsGone: 'ConnectionsGone',
  /** Connection ids handed to the SQS delivery queue. */
  DeliveriesQueued: 'DeliveriesQueued',
  /** Frames refused with an `error` frame. */
  FramesRejected: 'FramesRejected',
  /** Connections stored on `$connect`. */
  ConnectionsOpened: 'ConnectionsOpened',
  /** Connections removed on `$disconnect`. */
  ConnectionsClosed: 'ConnectionsClosed',
  /** `$connect`s refused by the connections-per-user limit. */
  ConnectionsRefused: 'ConnectionsRefused',
  /** Sends refused by the per-connection rate limit. */
  SendsRateLimited: 'SendsRateLimited',
} as const;

/** Timing metrics (milliseconds). */
export const TimingName = {
  /** From a message's `ts` (accepted in its origin region) to its delivery by the stream fan-out. */
  FanoutLatency: 'FanoutLatency',
} as const;

/** Records one timing in milliseconds (negative skew between clocks is recorded as 0). */
export const timing = (name: (typeof TimingName)[keyof typeof TimingName], ms: number): void => {
  metrics.addMetric(name, MetricUnit.Milliseconds, Math.max(0, ms));
};

/** Adds `value` to a count metric. */
export const count = (name: (typeof MetricName)[keyof typeof MetricName], value = 1): void => {
  if (value > 0) metrics.addMetric(name, MetricUnit.Count, value);
};

/**
 * Publishes the buffered metrics, if any. Powertools' own `logMetrics` middleware warns on every
 * invocation that recorded none (a `ping`, say), which would fill the logs; this does not.
 */
export const publishMetrics = (): void => {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
};
