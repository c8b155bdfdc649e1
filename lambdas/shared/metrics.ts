/**
 * The Powertools metrics of Parley, published as CloudWatch Embedded Metric Format at the end of
 * each invocation by the `flushMetrics` middleware (no PutMetricData calls on the hot path).
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, METRICS_SERVICE, type MetricName, type TimingName } from './metric-names.js';

export { MetricName, TimingName } from './metric-names.js';

/** Namespace `Parley`, service `parley`; the alarms and dashboard of the CDK app read these. */
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE });

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
