/**
 * Builds the dependencies of the route, stream and queue handlers from the environment and the
 * module-scope clients. Business logic receives these as arguments, so unit tests pass their own.
 */
import { connections, dynamo, sqs } from './clients.js';
import type { DeliveryDeps } from './delivery.js';
import { loadRuntimeConfig, type RuntimeConfig } from './env.js';

/** Everything a handler's logic needs: the table, delivery and the settings. */
export interface HandlerDeps extends DeliveryDeps {
  config: RuntimeConfig;
  /** Clock, ms since the epoch. */
  now: () => number;
}

/** The dependencies of this container, read from the environment on each call (cheap). */
export const handlerDeps = (): HandlerDeps => {
  const config = loadRuntimeConfig();
  return {
    config,
    db: { client: dynamo(), table: config.tableName },
    region: config.region,
    connections: connections(),
    sqs: sqs(),
    queueUrl: config.deliveryQueueUrl,
    now: Date.now,
  };
};
