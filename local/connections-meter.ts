/**
 * The `@connections` call meter: counts the management API calls the handlers make of each
 * region's gateway (`connections-api.ts`), by operation, whatever their answer (a 410 or a 429 is
 * a call too, as API Gateway counts it), so that a test can bound what one frame costs besides its
 * DynamoDB calls (`capacity-meter.ts`).
 */

/** The management API's operations, by the HTTP method the SDK sends them with. */
const OPERATIONS = {
  POST: 'PostToConnection',
  GET: 'GetConnection',
  DELETE: 'DeleteConnection',
} as const;

/** One `@connections` operation. */
export type ConnectionsOperation = (typeof OPERATIONS)[keyof typeof OPERATIONS];

/** The `@connections` calls made of one region's gateway. */
export interface ConnectionsCounts {
  /** Every call, of every operation. */
  calls: number;
  /** Calls per operation, e.g. `PostToConnection`; an operation never called is absent. */
  byOperation: Partial<Record<ConnectionsOperation, number>>;
}

/** The operation of a management API request, by its method; `undefined` for any other method. */
export const connectionsOperation = (method: string | undefined): ConnectionsOperation | undefined =>
  method !== undefined && Object.hasOwn(OPERATIONS, method)
    ? OPERATIONS[method as keyof typeof OPERATIONS]
    : undefined;

/**
 * Counts `@connections` calls per region and operation.
 *
 * @example
 * ```ts
 * const meter = new ConnectionsMeter();
 * meter.record('us-east-1', 'PostToConnection');
 * meter.snapshot(); // { 'us-east-1': { calls: 1, byOperation: { PostToConnection: 1 } } }
 * ```
 */
export class ConnectionsMeter {
  private counts: Record<string, ConnectionsCounts> = {};

  /** A copy of the counts so far, by region. */
  snapshot(): Record<string, ConnectionsCounts> {
    return structuredClone(this.counts);
  }

  /** Forgets every count. */
  reset(): void {
    this.counts = {};
  }

  /** Counts one call of `operation` made of `region`'s gateway. */
  record(region: string, operation: ConnectionsOperation): void {
    this.counts[region] ??= { calls: 0, byOperation: {} };
    const total = this.counts[region];
    total.calls++;
    total.byOperation[operation] = (total.byOperation[operation] ?? 0) + 1;
  }
}
