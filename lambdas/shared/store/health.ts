/**
 * The health check's read in DynamoDB: a strongly consistent `GetItem` on a fixed key, rather
 * than `DescribeTable`, because it exercises the same path (and the same permissions) as the
 * handlers.
 *
 * @example
 * ```ts
 * await probe(db); // throws when this region's replica does not answer
 * ```
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Db } from './db.js';
import { keys } from './keys.js';

/** Reads the health key; resolves when the replica answers (no item needs to exist there). */
export const probe = async (db: Db): Promise<void> => {
  await db.client.send(new GetCommand({ TableName: db.table, Key: keys.health, ConsistentRead: true }));
};
