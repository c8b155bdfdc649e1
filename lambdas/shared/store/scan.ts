/**
 * Full-table scans, for the two callers that must (the benchmarks' scan-and-broadcast baseline and
 * the bench's set-up) and never Parley's own handlers: no handler imports this module.
 */
import { ScanCommand, type ScanCommandInput, type ScanCommandOutput } from '@aws-sdk/lib-dynamodb';
import type { Db } from './db.js';

/** Yields every page of a `Scan`, following `LastEvaluatedKey`. */
export async function* scanPages(
  db: Db,
  input: Omit<ScanCommandInput, 'TableName'>,
): AsyncGenerator<ScanCommandOutput> {
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await db.client.send(
      new ScanCommand({ ...input, TableName: db.table, ExclusiveStartKey: startKey }),
    );
    yield page;
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
}
