/**
 * The table access of the benchmarks' scan-and-broadcast baseline (`lambdas/handlers/baseline-send.ts`),
 * the way the official AWS WebSocket chat samples do it: a full-table `Scan` for a room's
 * connections and one `PutItem` per message. Only the baseline's bundle holds these; nothing of
 * Parley's own design scans.
 *
 * @example
 * ```ts
 * const { connectionIds, scanned } = await scanRoomConnections(db, 'lobby', 'us-east-1');
 * ```
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Db } from './db.js';
import { keys, type MemberItem, type MessageItem, prefixes, retainedUntil } from './keys.js';
import { scanPages } from './scan.js';

/** What the baseline needs of the table. */
export interface BaselineStore {
  /** Scans the whole table for the room's connections in `region`, following every page. */
  scanRoomConnections(room: string, region: string): Promise<{ connectionIds: string[]; scanned: number }>;
  /** Stores a message under its origin and seq, unconditionally, kept `retentionDays`. */
  putMessage(message: MessageItem, retentionDays: number): Promise<void>;
}

/** Scans the whole table for the room's connections in `region`, following every page. */
export const scanRoomConnections = async (
  db: Db,
  room: string,
  region: string,
): Promise<{ connectionIds: string[]; scanned: number }> => {
  const connectionIds: string[] = [];
  let scanned = 0;
  for await (const page of scanPages(db, {
    FilterExpression: 'begins_with(sk, :member) AND #room = :room',
    ExpressionAttributeNames: { '#room': 'room' },
    ExpressionAttributeValues: { ':member': prefixes.member(region), ':room': room },
  })) {
    scanned += page.ScannedCount ?? 0;
    for (const item of (page.Items ?? []) as MemberItem[]) connectionIds.push(item.connectionId);
  }
  return { connectionIds, scanned };
};

/** Stores a message item with one plain `PutItem` (no claim, no counter). */
export const putMessage = async (db: Db, message: MessageItem, retentionDays: number): Promise<void> => {
  await db.client.send(
    new PutCommand({
      TableName: db.table,
      Item: {
        ...keys.message(message.room, message.origin, message.seq),
        ...message,
        ttl: retainedUntil(message.ts, retentionDays),
      },
    }),
  );
};
