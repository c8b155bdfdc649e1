/**
 * Bulk writes for set-ups (the benchmarks, the end-to-end tests), never a handler's path: a room
 * of 1,000 members joined one by one would announce each member to every member before it (O(n²)
 * presence frames), and 2,000 messages sent one by one would take minutes at the send rate limit,
 * so the set-up writes the items `$connect`, `join` and `send` write, in batches, and finds the
 * connections to seed with a `Scan`. No handler imports this module, so no handler's bundle holds
 * a `Scan` or a batch write (`test/infra/least-privilege.test.ts`).
 *
 * @example
 * ```ts
 * const ids = await connectionIdsByUser(db, 'us-east-1');
 * await putMemberships(db, [{ room: 'big', connectionId: ids.get('u1'), user: 'u1', region: 'us-east-1', now }]);
 * ```
 */
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { connectionItem, type NewConnection } from './connections.js';
import type { Db } from './db.js';
import { type ConnectionItem, keys, type MessageItem, partitions, retainedUntil } from './keys.js';
import { type MembershipInput, membershipItems } from './memberships.js';
import { scanPages } from './scan.js';
import { claimItem, messageItem } from './sends.js';

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

/** Batch writes in flight at once: DynamoDB (and DynamoDB Local) take them side by side. */
const BATCHES_AT_ONCE = 8;

/** Puts items, 25 a batch and {@link BATCHES_AT_ONCE} batches at a time, until DynamoDB has processed every one. */
const putAll = async (db: Db, items: readonly object[]): Promise<void> => {
  const batches: object[][] = [];
  for (let i = 0; i < items.length; i += BATCH_WRITE_MAX) batches.push(items.slice(i, i + BATCH_WRITE_MAX));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < batches.length) {
      let requests = (batches[next++] as object[]).map((Item) => ({ PutRequest: { Item } }));
      while (requests.length > 0) {
        const answer = await db.client.send(
          new BatchWriteCommand({ RequestItems: { [db.table]: requests } }),
        );
        requests = (answer.UnprocessedItems?.[db.table] ?? []) as typeof requests;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(BATCHES_AT_ONCE, batches.length) }, worker));
};

/** Writes the items of many memberships, as `addMembership` writes them, 25 at a time. */
export const putMemberships = async (db: Db, memberships: readonly MembershipInput[]): Promise<void> =>
  putAll(db, memberships.flatMap(membershipItems));

/**
 * Writes connection items as `$connect` writes them (heard from at `now`, so the liveness rule
 * keeps them), for members whose connections are not sockets; not their users' open-connection
 * entries, which only `$connect`'s limit reads.
 */
export const putConnections = async (db: Db, connections: readonly NewConnection[]): Promise<void> =>
  putAll(db, connections.map(connectionItem));

/**
 * Writes stored messages as an eventual-mode `send` leaves them: each message item with its
 * idempotency claim, and per `(room, origin)` the counter at the highest seq given. The caller
 * gives each origin's seqs gap-free from 1, in a room that has none of that origin yet.
 */
export const putMessages = async (
  db: Db,
  messages: readonly MessageItem[],
  retentionDays: number,
): Promise<void> => {
  const counters = new Map<string, { room: string; origin: string; seq: number }>();
  const items: object[] = messages.flatMap((message) => {
    const counter = `${message.room}\u0000${message.origin}`;
    const highest = counters.get(counter)?.seq ?? 0;
    if (message.seq > highest)
      counters.set(counter, { room: message.room, origin: message.origin, seq: message.seq });
    const ttl = retainedUntil(message.ts, retentionDays);
    return [messageItem(message, ttl), claimItem(message, ttl)];
  });
  for (const { room, origin, seq } of counters.values()) items.push({ ...keys.counter(room, origin), seq });
  await putAll(db, items);
};
