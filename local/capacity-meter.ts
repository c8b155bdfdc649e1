/**
 * The capacity meter: counts the capacity DynamoDB reports for the handlers' calls, which the
 * DynamoDB proxy (`dynamodb-proxy.ts`) asks for; the benchmarks price it.
 */

/** The reads: a total `CapacityUnits` of theirs (without a read/write split) counts as read units. */
const READ_OPERATIONS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);

/** Capacity the handlers' calls of one region consumed, as DynamoDB reported it. */
export interface CapacityCounts {
  /** Data-plane calls. */
  calls: number;
  /** Read capacity units (on-demand: read request units). */
  readUnits: number;
  /** Write capacity units (on-demand: write request units). */
  writeUnits: number;
  /** Calls and units per operation, e.g. `Scan`. */
  byOperation: Record<string, { calls: number; readUnits: number; writeUnits: number }>;
}

/**
 * Counts the capacity DynamoDB reports for the handlers' calls (`ReturnConsumedCapacity: TOTAL`,
 * which the proxy adds to every data-plane request when a meter is given), per region the calls
 * were signed for. The benchmarks price it.
 */
export class CapacityMeter {
  private counts: Record<string, CapacityCounts> = {};

  /** A copy of the counts so far, by region. */
  snapshot(): Record<string, CapacityCounts> {
    return structuredClone(this.counts);
  }

  /** Forgets every count. */
  reset(): void {
    this.counts = {};
  }

  /** Adds one answer's `ConsumedCapacity` (an object, or a list for batch and transaction calls). */
  record(region: string, operation: string, consumed: unknown): void {
    const entries = Array.isArray(consumed) ? consumed : consumed === undefined ? [] : [consumed];
    let read = 0;
    let write = 0;
    for (const entry of entries as {
      CapacityUnits?: number;
      ReadCapacityUnits?: number;
      WriteCapacityUnits?: number;
    }[]) {
      if (entry.ReadCapacityUnits !== undefined || entry.WriteCapacityUnits !== undefined) {
        read += entry.ReadCapacityUnits ?? 0;
        write += entry.WriteCapacityUnits ?? 0;
      } else if (READ_OPERATIONS.has(operation)) read += entry.CapacityUnits ?? 0;
      else write += entry.CapacityUnits ?? 0;
    }
    this.counts[region] ??= { calls: 0, readUnits: 0, writeUnits: 0, byOperation: {} };
    const total = this.counts[region];
    total.byOperation[operation] ??= { calls: 0, readUnits: 0, writeUnits: 0 };
    const op = total.byOperation[operation];
    total.calls++;
    total.readUnits += read;
    total.writeUnits += write;
    op.calls++;
    op.readUnits += read;
    op.writeUnits += write;
  }
}
