/**
 * Builds the dependencies of the route, stream and queue handlers from the environment and the
 * module-scope clients. Business logic receives these as arguments, so unit tests pass their own
 * (the in-memory store among them).
 *
 * Each handler passes the DynamoDB functions of the store methods its logic calls,
 * `withHandlerDeps(fanout, { listMembers, removeConnection })` (or `defineRoute` for a route): the
 * type checker holds the list to what the logic's type asks for, and the bundle (so the IAM
 * policy) to those calls.
 */
import { connections, dynamo, sqs } from './clients.js';
import type { DeliveryDeps } from './delivery.js';
import { loadRuntimeConfig, type RuntimeConfig } from './env.js';
import { type Db, type OnDb, onDb, type Store } from './store/index.js';

/** Everything a handler's logic needs: the store's methods `S`, delivery and the settings. */
export interface HandlerDeps<S = Store> extends DeliveryDeps<S> {
  config: RuntimeConfig;
  /** Clock, ms since the epoch. */
  now: () => number;
}

/**
 * The store methods a route calls (`K`), plus the one every reply may need: a caller that
 * `@connections` reports gone (410) is removed.
 */
export type RouteStore<K extends keyof Store = never> = Pick<Store, K | 'removeConnection'>;

/** This container's table, by name. */
export const tableOf = (tableName: string): Db => ({ client: dynamo(), table: tableName });

/**
 * The dependencies of this container, read from the environment on each call (cheap), with the
 * store methods of `store` bound to the table.
 *
 * @example
 * ```ts
 * const deps = handlerDeps<FanoutStore>({ listMembers, removeConnection });
 * ```
 */
export const handlerDeps = <S>(store: OnDb<S>): HandlerDeps<S> => {
  const config = loadRuntimeConfig();
  return {
    config,
    store: onDb(tableOf(config.tableName), store),
    region: config.region,
    connections: connections(),
    sqs: sqs(),
    queueUrl: config.deliveryQueueUrl,
    now: Date.now,
  };
};

/**
 * `logic` as a handler of its events: each call gets this container's dependencies, with the
 * store methods of `store` (exactly those `logic`'s type asks for) bound to the table.
 *
 * @example
 * ```ts
 * export const handler = middy().use(baseMiddlewares()).handler(withHandlerDeps(fanout, { listMembers, removeConnection }));
 * ```
 */
export const withHandlerDeps =
  <E, R, S>(logic: (deps: HandlerDeps<S>, event: E) => R, store: OnDb<NoInfer<S>>) =>
  (event: E): R =>
    logic(handlerDeps<S>(store), event);
