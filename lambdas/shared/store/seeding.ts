/**
 * Bulk writes for the benchmarks' set-up, never a handler's path: a room of 1,000 members joined
 * one by one would announce each member to every member before it (O(n²) presence frames), so the
 * bench writes the membership items `join` writes, in batches, and finds the connections to seed
 * with a `Scan`. No handler imports this module, so no handler's bundle holds a `Scan` or a batch
 * write (`test/infra/least-privilege.test.ts`).
 *
 * @example
 * ```ts
 * const ids = await connectionIdsByUser(db, 'us-east-1');
 * await putMemberships(db, [{ room: 'big', connectionId: ids.get('u1'), user: 'u1', region: 'us-east-1', now }]);
 * ```
 */
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { Db } from './db.js';
import { type ConnectionItem, partitions } from './keys.js';
import { type MembershipInput, membershipItems } from './memberships.js';
import { scanPages } from './scan.js';

/** BatchWriteItem's limit of items per call. */
const BATCH_WRITE_MAX = 25;

/** Every connection of `region` in this replica, by user (the bench gives each user one). */
export const connectionIdsByUser = async (db: Db, region: string): Promise<Map<string, string>> => {
  const ids = new Map<string, string>();
  for await (const page of scanPages(db, {
    FilterExpression: 'sk = :meta AND #region = :region',
    ExpressionAttributeNames: { '#region': 'region' },
    ExpressionAttributeValues: { ':meta': 'META', ':region': region },
  })) {
    for (const item of (page.Items ?? []) as ConnectionItem[]) {
      ids.set(item.user, item.pk.slice(partitions.connection('').length));
    }
  }
  return ids;
};

/** Writes the items of many memberships, as `addMembership` writes them, 25 at a time. */
export const putMemberships = async (db: Db, memberships: readonly MembershipInput[]): Promise<void> => {
  const items = memberships.flatMap(membershipItems);
  for (let i = 0; i < items.length; i += BATCH_WRITE_MAX) {
    let requests = items.slice(i, i + BATCH_WRITE_MAX).map((Item) => ({ PutRequest: { Item } }));
    while (requests.length > 0) {
      const answer = await db.client.send(new BatchWriteCommand({ RequestItems: { [db.table]: requests } }));
      requests = (answer.UnprocessedItems?.[db.table] ?? []) as typeof requests;
    }
  }
};
