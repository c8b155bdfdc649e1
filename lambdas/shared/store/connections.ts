/**
 * Connections in DynamoDB: the connection item (`CONN#<id>` / `META`, with `lastSeen`), the
 * user's open connections per region (`USER#<user>` / `OPEN#<region>`) the per-user limit counts,
 * and the removal of a connection with everything that refers to it.
 *
 * @example
 * ```ts
 * await putConnection(db, { connectionId: 'c1', user: 'alice', region: 'us-east-1', now: Date.now() });
 * const { rooms, user } = await removeConnection(db, 'c1', 'us-east-1');
 * ```
 */
import { BatchGetCommand, DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { fullJitter, isRetryLater, RetryLater, retry, type Sleep } from '../retry.js';
import { admitUserConnection, type OpenEntry } from './admission.js';
import { collect, type Db, isConditionFailure, queryAll, removeFromSet } from './db.js';
import {
  CONNECTION_TTL_SECONDS,
  type ConnectionItem,
  connectionIdOf,
  epochSeconds,
  keys,
  openEntry,
  parseOpenEntry,
  partitions,
  prefixes,
} from './keys.js';
import { connectionRooms, removeMembership } from './memberships.js';
import type { UserConnection } from './types.js';

/** A new connection, as `$connect` stores it. */
export interface NewConnection {
  connectionId: string;
  user: string;
  region: string;
  now: number;
}

/** The connection item of a new connection: heard from at `now`, kept as long as API Gateway keeps it. */
export const connectionItem = (input: NewConnection): ConnectionItem => ({
  ...keys.connection(input.connectionId),
  user: input.user,
  region: input.region,
  connectedAt: input.now,
  lastSeen: input.now,
  ttl: epochSeconds(input.now) + CONNECTION_TTL_SECONDS,
});

/** Stores a new connection (on `$connect`). */
export const putConnection = async (db: Db, input: NewConnection): Promise<void> => {
  await db.client.send(new PutCommand({ TableName: db.table, Item: connectionItem(input) }));
};

/** Reads a connection item, `undefined` when it does not exist. */
export const getConnection = async (db: Db, connectionId: string): Promise<ConnectionItem | undefined> => {
  const result = await db.client.send(
    new GetCommand({ TableName: db.table, Key: keys.connection(connectionId), ConsistentRead: true }),
  );
  return result.Item as ConnectionItem | undefined;
};

/** BatchGetItem's limit of keys per call. */
const BATCH_GET_MAX = 100;
/** Rounds of reading the keys DynamoDB leaves unprocessed, the first included, before giving up on them. */
const BATCH_GET_ROUNDS = 5;

/**
 * The `lastSeen` of each connection's item (eventually consistent reads). A connection with no
 * item in this replica is absent from the map; keys DynamoDB keeps leaving unprocessed (throttling)
 * are `undefined` in the map: unknown, not gone.
 */
export const lastSeenOf = async (
  db: Db,
  connectionIds: readonly string[],
  sleep?: Sleep,
): Promise<Map<string, number | undefined>> => {
  const seen = new Map<string, number | undefined>();
  const unique = [...new Set(connectionIds)];
  for (let start = 0; start < unique.length; start += BATCH_GET_MAX) {
    let pending: Record<string, unknown>[] = unique
      .slice(start, start + BATCH_GET_MAX)
      .map((id) => keys.connection(id));
    try {
      await retry(
        async () => {
          const result = await db.client.send(
            new BatchGetCommand({
              RequestItems: {
                [db.table]: { Keys: pending, ProjectionExpression: 'pk, lastSeen, connectedAt' },
              },
            }),
          );
          for (const item of result.Responses?.[db.table] ?? []) {
            seen.set(connectionIdOf(String(item.pk)), Number(item.lastSeen ?? item.connectedAt ?? 0));
          }
          pending = (result.UnprocessedKeys?.[db.table]?.Keys ?? []) as Record<string, unknown>[];
          if (pending.length > 0) throw new RetryLater(`${pending.length} key(s) left unprocessed`);
        },
        {
          attempts: BATCH_GET_ROUNDS,
          retryable: isRetryLater,
          // The first retry is round 1 of the backoff.
          delayMs: (attempt) => fullJitter(attempt + 1, 50, 1_000),
          sleep,
        },
      );
    } catch (error) {
      if (!isRetryLater(error)) throw error;
      for (const key of pending) seen.set(connectionIdOf(String(key.pk)), undefined);
    }
  }
  return seen;
};

/** Takes a connection's entry out of its user's open connections in its region. */
const releaseOpenEntry = (
  db: Db,
  input: { user: string; region: string; connectionId: string; connectedAt: number },
): Promise<void> =>
  removeFromSet(
    db,
    keys.userOpen(input.user, input.region),
    'conns',
    openEntry(input.connectedAt, input.connectionId),
  );

/**
 * Removes a connection, all its memberships and its entry among its user's open connections
 * (disconnect, or a 410 from `@connections`). Returns the rooms it was in and its user, so callers
 * can announce the leave.
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
  await Promise.all(
    rooms.map((room) =>
      removeMembership(db, { room, connectionId, region: memberRegion, user: connection?.user }),
    ),
  );
  await db.client.send(new DeleteCommand({ TableName: db.table, Key: keys.connection(connectionId) }));
  if (connection !== undefined) {
    await releaseOpenEntry(db, { ...connection, region: memberRegion, connectionId });
  }
  return { rooms, user: connection?.user };
};

/** The entries of an open-connections item. */
const entriesOf = (item: { conns?: Set<string> }): OpenEntry[] => [...(item.conns ?? [])].map(parseOpenEntry);

/**
 * Records this connection among its user's open connections (`USER#<user>` / `OPEN#<region>`, a
 * string set written by its region only) when the rule of `admission.ts` allows it. Returns
 * `false` when the user is at the limit.
 */
export const registerUserConnection = (db: Db, input: UserConnection): Promise<boolean> => {
  const key = keys.userOpen(input.user, input.region);
  const entry = openEntry(input.now, input.connectionId);
  return admitUserConnection(
    {
      read: async () => {
        const items = await collect(
          queryAll<{ region: string; conns?: Set<string> }>(db, {
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
            ExpressionAttributeValues: { ':pk': partitions.user(input.user), ':prefix': prefixes.userOpen },
            ConsistentRead: true,
          }),
        );
        const here = items.filter((item) => item.region === input.region);
        return {
          here: here.flatMap(entriesOf),
          elsewhere: items.filter((item) => item.region !== input.region).flatMap(entriesOf),
        };
      },
      take: async (allowed) => {
        try {
          await db.client.send(
            new UpdateCommand({
              TableName: db.table,
              Key: key,
              UpdateExpression: 'ADD conns :entries SET #region = :region, #ttl = :ttl',
              ConditionExpression:
                'attribute_not_exists(conns) OR size(conns) < :allowed OR contains(conns, :entry)',
              ExpressionAttributeNames: { '#region': 'region', '#ttl': 'ttl' },
              ExpressionAttributeValues: {
                ':entries': new Set([entry]),
                ':entry': entry,
                ':allowed': allowed,
                ':region': input.region,
                // The item outlives its newest entry's connection, then expires.
                ':ttl': epochSeconds(input.now) + CONNECTION_TTL_SECONDS,
              },
            }),
          );
          return true;
        } catch (error) {
          if (isConditionFailure(error)) return false;
          throw error;
        }
      },
      forget: async (gone) => {
        await removeConnection(db, gone.connectionId, input.region);
        await releaseOpenEntry(db, { user: input.user, region: input.region, ...gone });
      },
    },
    input,
  );
};
