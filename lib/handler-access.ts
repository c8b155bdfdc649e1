import type { HandlerName } from './constructs/parley-function.js';

/** The DynamoDB data-plane actions a handler may be granted on the table (never `Scan`). */
export type TableAction = 'GetItem' | 'BatchGetItem' | 'Query' | 'PutItem' | 'UpdateItem' | 'DeleteItem';

/** What one handler reaches besides its own log group, each granted by the regional stack. */
export interface HandlerAccess {
  /** DynamoDB actions on this region's replica and its `byTime` index. */
  readonly table: readonly TableAction[];
  /** Puts delivery jobs on this region's delivery queue (`sqs:SendMessage`). */
  readonly deliveryQueue: boolean;
}

/**
 * Least privilege, in one place: the table actions and the queue each handler's code sends. A
 * handler that starts sending another call needs a line here. `test/infra/least-privilege.test.ts`
 * bundles each handler, lists the SDK commands its code constructs, and fails when a function's
 * policy grants more or less than those (plus what its event source mapping and the framework
 * need), so this table cannot drift from the code.
 *
 * Most route handlers read and delete items as well: a `@connections` 410 for a reply removes the
 * stale connection and its memberships (`removeGone`). The one transaction, `send`'s
 * `TransactWriteItems`, puts and updates.
 */
export const HANDLER_ACCESS: Readonly<Record<HandlerName, HandlerAccess>> = {
  authorizer: { table: [], deliveryQueue: false },
  connect: { table: ['GetItem', 'Query', 'PutItem', 'DeleteItem'], deliveryQueue: false },
  disconnect: { table: ['GetItem', 'Query', 'DeleteItem'], deliveryQueue: true },
  default: { table: ['GetItem', 'Query', 'DeleteItem'], deliveryQueue: false },
  join: { table: ['GetItem', 'BatchGetItem', 'Query', 'PutItem', 'DeleteItem'], deliveryQueue: true },
  leave: { table: ['GetItem', 'Query', 'DeleteItem'], deliveryQueue: true },
  send: { table: ['GetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem'], deliveryQueue: true },
  history: { table: ['GetItem', 'Query', 'DeleteItem'], deliveryQueue: false },
  presence: { table: ['GetItem', 'BatchGetItem', 'Query', 'DeleteItem'], deliveryQueue: false },
  ping: { table: ['GetItem', 'Query', 'UpdateItem', 'DeleteItem'], deliveryQueue: false },
  fanout: { table: ['GetItem', 'Query', 'DeleteItem'], deliveryQueue: true },
  delivery: { table: ['GetItem', 'Query', 'DeleteItem'], deliveryQueue: false },
  health: { table: ['GetItem'], deliveryQueue: false },
  redrive: { table: ['GetItem', 'Query', 'DeleteItem'], deliveryQueue: true },
};
