/**
 * The names of Parley's custom metrics, in a module of its own with no dependencies so that the
 * handlers that publish them and the CDK dashboard that graphs them share one spelling.
 */

/** The CloudWatch namespace of every Parley metric. */
export const METRICS_NAMESPACE = 'Parley';
/** The `service` dimension Powertools adds to every Parley metric. */
export const METRICS_SERVICE = 'parley';

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
  /** Requests of the other actions (join, leave, history, presence, ping) refused by their per-connection rate limit. */
  RequestsRateLimited: 'RequestsRateLimited',
} as const;

/** Timing metrics (milliseconds). */
export const TimingName = {
  /** From a message's `ts` (accepted in its origin region) to its delivery by the stream fan-out. */
  FanoutLatency: 'FanoutLatency',
} as const;
