import type { HandlerName } from './constructs/parley-function.js';

/** The DynamoDB data-plane actions a handler may be granted on the table (never `Scan`). */
export type TableAction = 'GetItem' | 'BatchGetItem' | 'Query' | 'PutItem' | 'UpdateItem' | 'DeleteItem';

/**
 * The groups whose functions may reserve Lambda concurrency (`reservedConcurrencyConnect`,
 * `reservedConcurrencyRoutes`), so that a flood of one group cannot throttle the other: `connect`
 * holds what lets a client in (`$connect` and its authorizer), `route` the message routes.
 */
export type ConcurrencyGroup = 'connect' | 'route';

/** What one handler is given: what it reaches besides its own log group, and its function's size. */
export interface HandlerAccess {
  /** DynamoDB actions on this region's replica and its `byTime` index. */
  readonly table: readonly TableAction[];
  /** Puts delivery jobs on this region's delivery queue (`sqs:SendMessage`). */
  readonly deliveryQueue: boolean;
  /** The concurrency group the function belongs to, if any. */
  readonly group?: ConcurrencyGroup;
  /** The function's timeout. @default 10 */
  readonly timeoutSeconds?: number;
  /** The function's memory. @default 512 */
  readonly memoryMb?: number;
}

/**
 * Each handler's function, in one place: its size, its concurrency group and, for least privilege,
 * the table actions and the queue its code sends. A
 * handler that starts sending another call needs a line here. `test/infra/least-privilege.test.ts`
 * bundles each handler, lists the SDK commands its code constructs, and fails when a function's
 * policy grants more or less than those (plus what its event source mapping and the framework
 * need), so this table cannot drift from the code.
 *
 * Most route handlers read, update and delete items as well: a `@connections` 410 for a reply
 * removes the stale connection and its memberships (`removeGone`), which updates the room's present
 * members and the user's open connections. Every message route updates its connection item, whose
 * buckets hold the per-connection rate limits (a refused take reads it). The one transaction,
 * `send`'s `TransactWriteItems`, puts and updates.
 */
export const HANDLER_ACCESS: Readonly<Record<HandlerName, HandlerAccess>> = {
  authorizer: { table: [], deliveryQueue: false, group: 'connect', timeoutSeconds: 5 },
  connect: {
    table: ['GetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem'],
    deliveryQueue: false,
    group: 'connect',
  },
  disconnect: { table: ['GetItem', 'Query', 'UpdateItem', 'DeleteItem'], deliveryQueue: true },
  default: { table: ['GetItem', 'Query', 'UpdateItem', 'DeleteItem'], deliveryQueue: false, group: 'route' },
  join: {
    table: ['GetItem', 'BatchGetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem'],
    deliveryQueue: true,
    group: 'route',
    timeoutSeconds: 15,
  },
  leave: { table: ['GetItem', 'Query', 'UpdateItem', 'DeleteItem'], deliveryQueue: true, group: 'route' },
  send: {
    table: ['GetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem'],
    deliveryQueue: true,
    group: 'route',
    timeoutSeconds: 15,
  },
  history: { table: ['GetItem', 'Query', 'UpdateItem', 'DeleteItem'], deliveryQueue: false, group: 'route' },
  presence: {
    table: ['GetItem', 'BatchGetItem', 'Query', 'UpdateItem', 'DeleteItem'],
    deliveryQueue: false,
    group: 'route',
  },
  ping: { table: ['GetItem', 'Query', 'UpdateItem', 'DeleteItem'], deliveryQueue: false, group: 'route' },
  fanout: {
    table: ['GetItem', 'Query', 'UpdateItem', 'DeleteItem'],
    deliveryQueue: true,
    timeoutSeconds: 60,
    memoryMb: 1024,
  },
  delivery: {
    table: ['GetItem', 'Query', 'UpdateItem', 'DeleteItem'],
    deliveryQueue: false,
    timeoutSeconds: 30,
  },
  health: { table: ['GetItem'], deliveryQueue: false, timeoutSeconds: 5 },
  redrive: {
    table: ['GetItem', 'Query', 'UpdateItem', 'DeleteItem'],
    deliveryQueue: true,
    timeoutSeconds: 300,
  },
};

/** How many functions each concurrency group has. */
export const groupSize = (group: ConcurrencyGroup): number =>
  Object.values(HANDLER_ACCESS).filter((access) => access.group === group).length;
