/**
 * Messages in DynamoDB, read: a room's origins and cursor, one origin's messages after a seq
 * (resume), history pages through the `byTime` index, and the frame a stored message becomes.
 *
 * @example
 * ```ts
 * const cursor = await roomCursor(db, 'lobby');
 * for await (const item of messagesAfter(db, 'lobby', 'us-east-1', 10)) await post(toMessageFrame(item));
 * ```
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Cursor, JsonValue, MessageFrame } from '../../../protocol/index.js';
import { collect, type Db, queryAll } from './db.js';
import { keys, type MessageItem, originOf, pad, partitions, prefixes, SEQ_WIDTH, TS_WIDTH } from './keys.js';
import { BY_TIME_INDEX } from './schema.js';
import type { NewMessage } from './types.js';

/** A new message as stored under `origin` and `seq` at `ts`, its body as JSON text. */
export const storedMessage = (message: NewMessage, origin: string, seq: number, ts: number): MessageItem => ({
  room: message.room,
  id: message.id,
  origin,
  seq,
  from: message.from,
  body: JSON.stringify(message.body),
  ts,
  region: message.region,
});

/** Turns a stored message item into the `message` frame clients receive. */
export const toMessageFrame = (item: MessageItem): MessageFrame => ({
  type: 'message',
  room: item.room,
  id: item.id,
  origin: item.origin,
  seq: Number(item.seq),
  from: item.from,
  body: JSON.parse(item.body) as JsonValue,
  ts: Number(item.ts),
});

/** The origins that have a counter in a room (`SEQ#` items). */
export const roomOrigins = async (db: Db, room: string): Promise<string[]> => {
  const items = await collect(
    queryAll<{ sk: string }>(db, {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': partitions.room(room), ':prefix': prefixes.counter },
      ProjectionExpression: 'sk',
      ConsistentRead: true,
    }),
  );
  return items.map((item) => originOf(item.sk));
};

/** The key condition of one origin's messages with a seq above `afterSeq` (and at most `upToSeq`). */
export const messageRange = (room: string, origin: string, afterSeq: number, upToSeq?: number) => ({
  KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
  ExpressionAttributeValues: {
    ':pk': partitions.room(room),
    ':from': keys.message(room, origin, afterSeq + 1).sk,
    ':to':
      upToSeq === undefined
        ? `${prefixes.message(origin)}${'9'.repeat(SEQ_WIDTH)}`
        : keys.message(room, origin, upToSeq).sk,
  },
});

/** The highest seq of `origin` stored in this replica, 0 when none. */
export const highestSeq = async (db: Db, room: string, origin: string): Promise<number> => {
  const result = await db.client.send(
    new QueryCommand({
      TableName: db.table,
      ...messageRange(room, origin, 0),
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
      ProjectionExpression: 'seq',
    }),
  );
  const top = result.Items?.[0];
  return top === undefined ? 0 : Number(top.seq);
};

/**
 * The room's cursor in this replica: per origin, the highest stored seq. `extraOrigins` adds
 * origins that may have messages but no counter replicated yet.
 */
export const roomCursor = async (
  db: Db,
  room: string,
  extraOrigins: Iterable<string> = [],
): Promise<Cursor> => {
  const origins = new Set([...(await roomOrigins(db, room)), ...extraOrigins]);
  const cursor: Cursor = {};
  await Promise.all(
    [...origins].map(async (origin) => {
      const seq = await highestSeq(db, room, origin);
      if (seq > 0) cursor[origin] = seq;
    }),
  );
  return cursor;
};

/**
 * Yields the messages of one origin with a seq above `afterSeq` (and at most `upToSeq`), in seq
 * order, page by page.
 */
export const messagesAfter = (
  db: Db,
  room: string,
  origin: string,
  afterSeq: number,
  upToSeq?: number,
): AsyncGenerator<MessageItem> =>
  queryAll<MessageItem>(db, { ...messageRange(room, origin, afterSeq, upToSeq), ConsistentRead: true });

/**
 * One page of history through the `byTime` index: the `limit` newest messages strictly before
 * `before` (a ts), returned oldest first.
 */
export const historyPage = async (
  db: Db,
  room: string,
  options: { limit: number; before?: number | undefined },
): Promise<MessageItem[]> => {
  const values: Record<string, unknown> = { ':gpk': partitions.room(room) };
  let condition = 'gpk = :gpk';
  if (options.before !== undefined) {
    condition += ' AND gsk < :before';
    values[':before'] = pad(options.before, TS_WIDTH);
  }
  const result = await db.client.send(
    new QueryCommand({
      TableName: db.table,
      IndexName: BY_TIME_INDEX,
      KeyConditionExpression: condition,
      ExpressionAttributeValues: values,
      ScanIndexForward: false,
      // One more than the page, to see whether the page ends inside a group of messages that
      // share a ts.
      Limit: options.limit + 1,
    }),
  );
  const items = (result.Items ?? []) as MessageItem[];
  return pageBoundary(items, options.limit).reverse();
};

/**
 * Cuts a newest-first page so that it never ends inside a group of messages with one `ts`: the
 * next page asks for `ts < before` with the page's oldest ts, and would skip the rest of that
 * group. A page made of a single ts group is returned whole (it cannot be cut).
 *
 * @param items - newest first, up to `limit + 1` of them
 */
export const pageBoundary = <T extends { ts: number }>(items: readonly T[], limit: number): T[] => {
  const page = items.slice(0, limit);
  const next = items[limit];
  const oldest = page[page.length - 1];
  if (next === undefined || oldest === undefined || Number(next.ts) !== Number(oldest.ts)) return page;
  const cut = page.filter((item) => Number(item.ts) !== Number(oldest.ts));
  return cut.length > 0 ? cut : page;
};
