/**
 * All DynamoDB access of Parley: plain functions that receive the document client and table name
 * ({@link Db}). Items, keys and access patterns are those of `docs/data-model.md`; every read is
 * by key or `Query` (never `Scan`).
 *
 * @example
 * ```ts
 * const db = { client: dynamo(), table: 'parley' };
 * const members = await listMembers(db, 'lobby', 'us-east-1');
 * ```
 */
import {
  BatchGetCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Cursor, JsonValue, Member, MessageFrame } from '../../protocol/index.js';
import { ContentionError } from './errors.js';
import { fullJitter, retry, type Sleep, sleep } from './retry.js';

/** The table and the client to reach it. */
export interface Db {
  client: DynamoDBDocumentClient;
  table: string;
}

/** Connection items live 2 h 10 min: API Gateway closes any connection after 2 h. */
export const CONNECTION_TTL_SECONDS = 2 * 3600 + 10 * 60;
/** Width of the zero-padded seq in sort keys (`MSG#<origin>#<seq>`). */
export const SEQ_WIDTH = 12;
/** Width of the zero-padded ts in the `byTime` sort key. */
export const TS_WIDTH = 13;
/** The origin of every message in strong mode (one global sequence per room). */
export const GLOBAL_ORIGIN = 'global';

const pad = (value: number, width: number): string => String(value).padStart(width, '0');
const epochSeconds = (ms: number): number => Math.floor(ms / 1000);

/** Key builders, one per item of the data model. */
export const keys = {
  connection: (connectionId: string) => ({ pk: `CONN#${connectionId}`, sk: 'META' }),
  roomMember: (room: string, region: string, connectionId: string) => ({
    pk: `ROOM#${room}`,
    sk: `MEMBER#${region}#${connectionId}`,
  }),
  connectionRoom: (connectionId: string, room: string) => ({
    pk: `CONN#${connectionId}`,
    sk: `ROOM#${room}`,
  }),
  /** One per open connection of a user (the connections-per-user limit counts these). */
  userConnection: (user: string, connectionId: string) => ({
    pk: `USER#${user}`,
    sk: `CONN#${connectionId}`,
  }),
  counter: (room: string, origin: string) => ({ pk: `ROOM#${room}`, sk: `SEQ#${origin}` }),
  claim: (room: string, id: string) => ({ pk: `ROOM#${room}`, sk: `ID#${id}` }),
  message: (room: string, origin: string, seq: number) => ({
    pk: `ROOM#${room}`,
    sk: `MSG#${origin}#${pad(seq, SEQ_WIDTH)}`,
  }),
  /** Sort key of the `byTime` index. */
  timeSortKey: (ts: number, origin: string, seq: number) =>
    `${pad(ts, TS_WIDTH)}#${origin}#${pad(seq, SEQ_WIDTH)}`,
};

/** A connection item. */
export interface ConnectionItem {
  pk: string;
  sk: string;
  user: string;
  region: string;
  connectedAt: number;
  lastSeen: number;
  ttl: number;
}

/** The room side of a membership. */
export interface MemberItem {
  room: string;
  user: string;
  region: string;
  connectionId: string;
  joinedAt: number;
}

/** A message item as stored (body as its JSON text). */
export interface MessageItem {
  room: string;
  id: string;
  origin: string;
  seq: number;
  from: string;
  body: string;
  ts: number;
  region: string;
}

/** What a `send` acknowledges. */
export interface Ack {
  origin: string;
  seq: number;
  ts: number;
}

/** Yields every item of a `Query`, following `LastEvaluatedKey`. */
export async function* queryAll<T>(db: Db, input: Omit<QueryCommandInput, 'TableName'>): AsyncGenerator<T> {
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await db.client.send(
      new QueryCommand({ ...input, TableName: db.table, ExclusiveStartKey: startKey }),
    );
    for (const item of page.Items ?? []) yield item as T;
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
}

const collect = async <T>(items: AsyncIterable<T>): Promise<T[]> => {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
};

const isConditionFailure = (error: unknown): boolean =>
  error instanceof Error && error.name === 'ConditionalCheckFailedException';

// ---------------------------------------------------------------------------------------------
// Connections and memberships

/** Stores a new connection (on `$connect`). */
export const putConnection = async (
  db: Db,
  input: { connectionId: string; user: string; region: string; now: number },
): Promise<void> => {
  const item: ConnectionItem = {
    ...keys.connection(input.connectionId),
    user: input.user,
    region: input.region,
    connectedAt: input.now,
    lastSeen: input.now,
    ttl: epochSeconds(input.now) + CONNECTION_TTL_SECONDS,
  };
  await db.client.send(new PutCommand({ TableName: db.table, Item: item }));
};

/** Reads a connection item, `undefined` when it does not exist. */
export const getConnection = async (db: Db, connectionId: string): Promise<ConnectionItem | undefined> => {
  const result = await db.client.send(
    new GetCommand({ TableName: db.table, Key: keys.connection(connectionId), ConsistentRead: true }),
  );
  return result.Item as ConnectionItem | undefined;
};

/**
 * Writes both sides of a membership. Two plain puts rather than a transaction: strong mode
 * (multi-Region strong consistency) has no transactions, and a half-written membership is
 * harmless (both items expire with the connection, and `leave`/disconnect delete both).
 * The room side is written first so that a member is never listed as joined on the
 * connection side while the room cannot find it.
 */
export const addMembership = async (
  db: Db,
  input: { room: string; connectionId: string; user: string; region: string; now: number },
): Promise<void> => {
  const ttl = epochSeconds(input.now) + CONNECTION_TTL_SECONDS;
  await db.client.send(
    new PutCommand({
      TableName: db.table,
      Item: {
        ...keys.roomMember(input.room, input.region, input.connectionId),
        room: input.room,
        user: input.user,
        region: input.region,
        connectionId: input.connectionId,
        joinedAt: input.now,
        ttl,
      },
    }),
  );
  await db.client.send(
    new PutCommand({
      TableName: db.table,
      Item: { ...keys.connectionRoom(input.connectionId, input.room), room: input.room, ttl },
    }),
  );
};

/** Whether a connection has joined a room (strongly consistent read of the connection side). */
export const isMember = async (db: Db, room: string, connectionId: string): Promise<boolean> => {
  const result = await db.client.send(
    new GetCommand({
      TableName: db.table,
      Key: keys.connectionRoom(connectionId, room),
      ConsistentRead: true,
      ProjectionExpression: 'pk',
    }),
  );
  return result.Item !== undefined;
};

/** Deletes both sides of a membership. */
export const removeMembership = async (
  db: Db,
  input: { room: string; connectionId: string; region: string },
): Promise<void> => {
  await Promise.all([
    db.client.send(
      new DeleteCommand({ TableName: db.table, Key: keys.connectionRoom(input.connectionId, input.room) }),
    ),
    db.client.send(
      new DeleteCommand({
        TableName: db.table,
        Key: keys.roomMember(input.room, input.region, input.connectionId),
      }),
    ),
  ]);
};

/** A room's members in one region, or everywhere when `region` is omitted. */
export const listMembers = async (db: Db, room: string, region?: string): Promise<MemberItem[]> =>
  collect(
    queryAll<MemberItem>(db, {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: {
        ':pk': `ROOM#${room}`,
        ':prefix': region === undefined ? 'MEMBER#' : `MEMBER#${region}#`,
      },
    }),
  );

/** The presence list of a room: one entry per distinct (user, region). */
export const presenceOf = (members: readonly MemberItem[]): Member[] => {
  const seen = new Map<string, Member>();
  for (const member of members) {
    seen.set(`${member.region}\u0000${member.user}`, { user: member.user, region: member.region });
  }
  return [...seen.values()].sort((a, b) => a.user.localeCompare(b.user) || a.region.localeCompare(b.region));
};

/**
 * Records a sign of life of a connection (`lastSeen`), for presence. A connection item that is
 * gone (disconnected, expired) is not recreated.
 *
 * @returns whether the connection item exists
 */
export const touchConnection = async (db: Db, connectionId: string, now: number): Promise<boolean> => {
  try {
    await db.client.send(
      new UpdateCommand({
        TableName: db.table,
        Key: keys.connection(connectionId),
        UpdateExpression: 'SET lastSeen = :now',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':now': now },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
};

/** BatchGetItem's limit of keys per call. */
const BATCH_GET_MAX = 100;
/** Rounds of retrying the keys DynamoDB left unprocessed before giving up on them. */
const BATCH_GET_ROUNDS = 5;

/**
 * The `lastSeen` of each connection's item (eventually consistent reads). A connection with no
 * item in this replica is absent from the map; keys DynamoDB keeps leaving unprocessed (throttling)
 * are `undefined` in the map: unknown, not gone.
 */
export const lastSeenOf = async (
  db: Db,
  connectionIds: readonly string[],
  sleep: Sleep = defaultSleep,
): Promise<Map<string, number | undefined>> => {
  const seen = new Map<string, number | undefined>();
  const unique = [...new Set(connectionIds)];
  for (let start = 0; start < unique.length; start += BATCH_GET_MAX) {
    let pending: Record<string, unknown>[] = unique
      .slice(start, start + BATCH_GET_MAX)
      .map((id) => keys.connection(id));
    for (let round = 0; pending.length > 0; round += 1) {
      if (round === BATCH_GET_ROUNDS) {
        for (const key of pending) seen.set(String(key.pk).slice('CONN#'.length), undefined);
        break;
      }
      if (round > 0) await sleep(fullJitter(round, 50, 1_000));
      const result = await db.client.send(
        new BatchGetCommand({
          RequestItems: {
            [db.table]: { Keys: pending, ProjectionExpression: 'pk, lastSeen, connectedAt' },
          },
        }),
      );
      for (const item of result.Responses?.[db.table] ?? []) {
        const id = String(item.pk).slice('CONN#'.length);
        seen.set(id, Number(item.lastSeen ?? item.connectedAt ?? 0));
      }
      pending = (result.UnprocessedKeys?.[db.table]?.Keys ?? []) as Record<string, unknown>[];
    }
  }
  return seen;
};

/** The rooms a connection has joined. */
export const connectionRooms = async (db: Db, connectionId: string): Promise<string[]> => {
  const items = await collect(
    queryAll<{ room: string }>(db, {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': `CONN#${connectionId}`, ':prefix': 'ROOM#' },
      ConsistentRead: true,
    }),
  );
  return items.map((item) => item.room);
};

/**
 * Removes a connection and all its memberships (disconnect, or a 410 from `@connections`).
 * Returns the rooms it was in and its user, so callers can announce the leave.
 */
export const removeConnection = async (
  db: Db,
  connectionId: string,
  region: string,
): Promise<{ rooms: string[]; user: string | undefined }> => {
  const [connection, rooms] = await Promise.all([
    getConnection(db, connectionId),
    connectionRooms(db, connectionId),
  ]);
  // A connection is only ever served by the region it connected to, so its memberships carry
  // that region; the stored region wins when present.
  const memberRegion = connection?.region ?? region;
  await Promise.all(rooms.map((room) => removeMembership(db, { room, connectionId, region: memberRegion })));
  await db.client.send(new DeleteCommand({ TableName: db.table, Key: keys.connection(connectionId) }));
  if (connection?.user !== undefined) {
    await db.client.send(
      new DeleteCommand({ TableName: db.table, Key: keys.userConnection(connection.user, connectionId) }),
    );
  }
  return { rooms, user: connection?.user };
};

// ---------------------------------------------------------------------------------------------
// Messages: reads

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
      ExpressionAttributeValues: { ':pk': `ROOM#${room}`, ':prefix': 'SEQ#' },
      ProjectionExpression: 'sk',
      ConsistentRead: true,
    }),
  );
  return items.map((item) => item.sk.slice('SEQ#'.length));
};

const messageRange = (room: string, origin: string, afterSeq: number) => ({
  KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
  ExpressionAttributeValues: {
    ':pk': `ROOM#${room}`,
    ':from': keys.message(room, origin, afterSeq + 1).sk,
    ':to': `MSG#${origin}#${'9'.repeat(SEQ_WIDTH)}`,
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

/** Yields the messages of one origin with a seq above `afterSeq`, in seq order, page by page. */
export const messagesAfter = (
  db: Db,
  room: string,
  origin: string,
  afterSeq: number,
): AsyncGenerator<MessageItem> =>
  queryAll<MessageItem>(db, { ...messageRange(room, origin, afterSeq), ConsistentRead: true });

/**
 * One page of history through the `byTime` index: the `limit` newest messages strictly before
 * `before` (a ts), returned oldest first.
 */
export const historyPage = async (
  db: Db,
  room: string,
  options: { limit: number; before?: number | undefined },
): Promise<MessageItem[]> => {
  const values: Record<string, unknown> = { ':gpk': `ROOM#${room}` };
  let condition = 'gpk = :gpk';
  if (options.before !== undefined) {
    condition += ' AND gsk < :before';
    values[':before'] = pad(options.before, TS_WIDTH);
  }
  const result = await db.client.send(
    new QueryCommand({
      TableName: db.table,
      IndexName: 'byTime',
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

/** Reads the claim of `(room, id)`. */
export const getClaim = async (
  db: Db,
  room: string,
  id: string,
): Promise<{ origin?: string; seq?: number; ts?: number; from?: string; claimedAt?: number } | undefined> => {
  const result = await db.client.send(
    new GetCommand({ TableName: db.table, Key: keys.claim(room, id), ConsistentRead: true }),
  );
  return result.Item as { origin?: string; seq?: number; ts?: number; from?: string } | undefined;
};

const readCounter = async (db: Db, room: string, origin: string): Promise<number> => {
  const result = await db.client.send(
    new GetCommand({ TableName: db.table, Key: keys.counter(room, origin), ConsistentRead: true }),
  );
  return result.Item === undefined ? 0 : Number(result.Item.seq);
};

// ---------------------------------------------------------------------------------------------
// Messages: the send algorithm

/** A message to store. */
export interface NewMessage {
  room: string;
  id: string;
  from: string;
  body: JsonValue;
  /** This region: recorded as `region` on the message, and the origin in eventual mode. */
  region: string;
}

/** The outcome of a send: a new message to deliver, or the ack of an earlier send of the same id. */
export type SendOutcome =
  | { duplicate: false; ack: Ack; message: MessageItem }
  | { duplicate: true; ack: Ack };

/** Knobs of the send algorithm; tests pass a fake clock and sleep. */
export interface SendOptions {
  /** Message and claim retention. */
  retentionDays: number;
  /** Clock, ms since the epoch. */
  now?: () => number;
  /** Sleep between retries. */
  sleep?: (ms: number) => Promise<void>;
  /** Bound on counter races before giving up with `rate_limited`. */
  maxAttempts?: number;
}

const defaultSleep = sleep;

const messageItem = (message: NewMessage, origin: string, seq: number, ts: number, ttl: number) => ({
  ...keys.message(message.room, origin, seq),
  room: message.room,
  id: message.id,
  origin,
  seq,
  from: message.from,
  body: JSON.stringify(message.body),
  ts,
  region: message.region,
  gpk: `ROOM#${message.room}`,
  gsk: keys.timeSortKey(ts, origin, seq),
  ttl,
});

const asMessage = (item: ReturnType<typeof messageItem>): MessageItem => ({
  room: item.room,
  id: item.id,
  origin: item.origin,
  seq: item.seq,
  from: item.from,
  body: item.body,
  ts: item.ts,
  region: item.region,
});

const cancellationCodes = (error: unknown): (string | undefined)[] | undefined => {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return undefined;
  const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.map((reason) => reason.Code);
};

/**
 * Eventual mode: claim `(room, id)`, advance `SEQ#<region>` from `n` to `n + 1` and store
 * `MSG#<region>#<n+1>` in one `TransactWriteItems`, so a crash can never leave a gap or a
 * half-written message. A lost counter race re-reads the counter and retries with jitter; a taken
 * claim answers the first ack.
 *
 * @throws ContentionError after `maxAttempts` lost races (the client retries with the same id).
 */
export const storeMessageEventual = async (
  db: Db,
  message: NewMessage,
  options: SendOptions,
): Promise<SendOutcome> => {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const maxAttempts = options.maxAttempts ?? 64;
  const origin = message.region;
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const current = await readCounter(db, message.room, origin);
    const seq = current + 1;
    const ts = now();
    const ttl = epochSeconds(ts) + options.retentionDays * 86_400;
    const item = messageItem(message, origin, seq, ts, ttl);
    try {
      await db.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: db.table,
                Item: { ...keys.claim(message.room, message.id), origin, seq, ts, from: message.from, ttl },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Update: {
                TableName: db.table,
                Key: keys.counter(message.room, origin),
                UpdateExpression: 'SET seq = :next',
                ConditionExpression: current === 0 ? 'attribute_not_exists(pk)' : 'seq = :current',
                ExpressionAttributeValues:
                  current === 0 ? { ':next': seq } : { ':next': seq, ':current': current },
              },
            },
            { Put: { TableName: db.table, Item: item, ConditionExpression: 'attribute_not_exists(pk)' } },
          ],
        }),
      );
      return { duplicate: false, ack: { origin, seq, ts }, message: asMessage(item) };
    } catch (error) {
      const codes = cancellationCodes(error);
      if (codes === undefined) throw error;
      if (codes[0] === 'ConditionalCheckFailed') {
        const claim = await getClaim(db, message.room, message.id);
        if (claim?.seq !== undefined && claim.origin !== undefined && claim.ts !== undefined) {
          return {
            duplicate: true,
            ack: { origin: claim.origin, seq: Number(claim.seq), ts: Number(claim.ts) },
          };
        }
      }
      // Another send took this seq, or the transaction collided with one: read again and retry.
      await sleep(fullJitter(Math.min(attempt, 6), 5, 100));
    }
  }
  throw new ContentionError(`room ${message.room} is busy; retry the send with the same id`);
};

/** Runs a strong-mode write, retrying `ReplicatedWriteConflictException` with backoff. */
const withConflictRetry = <T>(run: () => Promise<T>, wait: Sleep): Promise<T> =>
  retry(run, {
    attempts: 8,
    retryable: (error) => error instanceof Error && error.name === 'ReplicatedWriteConflictException',
    delayMs: (attempt) => fullJitter(attempt, 20, 1_000),
    sleep: wait,
  });

/** How long a claim without a seq is treated as a send still in flight. */
export const CLAIM_GRACE_MS = 3_000;
/** How many of the newest slots a retry searches for its own id. */
const OWN_SLOT_SEARCH = 25;

/**
 * Strong mode (multi-Region strong consistency has no transactions): ordered conditional writes.
 * 1. claim `(room, id)`; 2. read `SEQ#global`; 3. put `MSG#global#<n+1>` if absent, else the next
 * slot; 4. raise the counter if lower; 5. record the seq on the claim. A claim found without a seq
 * belongs to a send in flight (wait for it) or to one that crashed (look for its message in the
 * newest slots, else take a slot now).
 *
 * @throws ContentionError when no slot could be taken within the bound.
 */
export const storeMessageStrong = async (
  db: Db,
  message: NewMessage,
  options: SendOptions,
): Promise<SendOutcome> => {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const maxAttempts = options.maxAttempts ?? 64;
  const origin = GLOBAL_ORIGIN;
  const claimKey = keys.claim(message.room, message.id);
  const claimedAt = now();
  const claimTtl = epochSeconds(claimedAt) + options.retentionDays * 86_400;

  try {
    await withConflictRetry(
      () =>
        db.client.send(
          new PutCommand({
            TableName: db.table,
            Item: { ...claimKey, from: message.from, claimedAt, ttl: claimTtl },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        ),
      sleep,
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const earlier = await resolveExistingClaim(db, message, { now, sleep });
    if (earlier !== undefined) return earlier;
  }

  const recordOnClaim = (seq: number, ts: number) =>
    withConflictRetry(
      () =>
        db.client.send(
          new UpdateCommand({
            TableName: db.table,
            Key: claimKey,
            UpdateExpression: 'SET origin = :origin, seq = :seq, ts = :ts',
            ExpressionAttributeValues: { ':origin': origin, ':seq': seq, ':ts': ts },
          }),
        ),
      sleep,
    );

  let slot = (await readCounter(db, message.room, origin)) + 1;
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const ts = now();
    const item = messageItem(message, origin, slot, ts, epochSeconds(ts) + options.retentionDays * 86_400);
    try {
      await withConflictRetry(
        () =>
          db.client.send(
            new PutCommand({
              TableName: db.table,
              Item: item,
              ConditionExpression: 'attribute_not_exists(pk)',
            }),
          ),
        sleep,
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      slot += 1; // taken by a concurrent send: the next slot keeps the sequence gap-free
      continue;
    }
    try {
      await withConflictRetry(
        () =>
          db.client.send(
            new UpdateCommand({
              TableName: db.table,
              Key: keys.counter(message.room, origin),
              UpdateExpression: 'SET seq = :seq',
              ConditionExpression: 'attribute_not_exists(seq) OR seq < :seq',
              ExpressionAttributeValues: { ':seq': slot },
            }),
          ),
        sleep,
      );
    } catch (error) {
      // A later slot already raised the counter past ours: nothing to do.
      if (!isConditionFailure(error)) throw error;
    }
    await recordOnClaim(slot, ts);
    return { duplicate: false, ack: { origin, seq: slot, ts }, message: asMessage(item) };
  }
  throw new ContentionError(`room ${message.room} is busy; retry the send with the same id`);
};

/**
 * A strong-mode claim already exists. Returns the ack (duplicate) when it has a seq, the found
 * message (to deliver) when an interrupted send stored it, or `undefined` to take a new slot.
 */
const resolveExistingClaim = async (
  db: Db,
  message: NewMessage,
  clock: { now: () => number; sleep: (ms: number) => Promise<void> },
): Promise<SendOutcome | undefined> => {
  for (let attempt = 0; attempt < 20; attempt++) {
    const claim = await getClaim(db, message.room, message.id);
    if (claim?.seq !== undefined && claim.origin !== undefined && claim.ts !== undefined) {
      return { duplicate: true, ack: { origin: claim.origin, seq: Number(claim.seq), ts: Number(claim.ts) } };
    }
    const age = clock.now() - Number(claim?.claimedAt ?? 0);
    const own = await findOwnSlot(db, message);
    if (own !== undefined && claim !== undefined && age < CLAIM_GRACE_MS) {
      // The first send is still in flight and will deliver its message: answer its ack only.
      return { duplicate: true, ack: { origin: own.origin, seq: Number(own.seq), ts: Number(own.ts) } };
    }
    if (own !== undefined) {
      // The first send stored its message and stopped: finish its claim and deliver it now.
      await db.client.send(
        new UpdateCommand({
          TableName: db.table,
          Key: keys.claim(message.room, message.id),
          UpdateExpression: 'SET origin = :origin, seq = :seq, ts = :ts',
          ExpressionAttributeValues: { ':origin': own.origin, ':seq': own.seq, ':ts': own.ts },
        }),
      );
      return {
        duplicate: false,
        ack: { origin: own.origin, seq: Number(own.seq), ts: Number(own.ts) },
        message: own,
      };
    }
    if (claim === undefined || age >= CLAIM_GRACE_MS) return undefined;
    await clock.sleep(Math.min(50 * 2 ** attempt, 400));
  }
  return undefined;
};

const findOwnSlot = async (db: Db, message: NewMessage): Promise<MessageItem | undefined> => {
  const result = await db.client.send(
    new QueryCommand({
      TableName: db.table,
      ...messageRange(message.room, GLOBAL_ORIGIN, 0),
      ScanIndexForward: false,
      Limit: OWN_SLOT_SEARCH,
      ConsistentRead: true,
    }),
  );
  return (result.Items as MessageItem[] | undefined)?.find((item) => item.id === message.id);
};
