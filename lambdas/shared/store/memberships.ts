/**
 * Memberships in DynamoDB: the connection's side (`CONN#<id>` / `ROOM#<room>`, and the `rooms`
 * count on its connection item), the room's side (`ROOM#<room>` / `MEMBER#<region>#<id>`, what
 * delivery reads), and the room's present members (`ROOM#<room>` / `PRESENT#<user>\u0001<region>`,
 * one per distinct `(user, region)` with the set of its connections, what `joined` and `presence`
 * list and count). Every item is written by the region of its connection only.
 *
 * @example
 * ```ts
 * const outcome = await addMembership(db, { room: 'lobby', connectionId: 'c1', user: 'alice', region, now, maxRooms: 50 });
 * const { members, last } = await presentMembers(db, 'lobby', { limit: 100 });
 * ```
 */
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { collect, type Db, isConditionFailure, queryAll, queryPages, removeFromSet, updateIf } from './db.js';
import {
  CONNECTION_TTL_SECONDS,
  epochSeconds,
  keys,
  type MemberItem,
  partitions,
  prefixes,
  presentSuffix,
} from './keys.js';
import type { JoinOutcome, MemberKey, PresentMember } from './types.js';

/** One connection's membership of one room. */
export interface MembershipInput {
  room: string;
  connectionId: string;
  user: string;
  region: string;
  now: number;
}

/**
 * The items of a membership as `join` leaves them, for the benchmarks' seeding: the room side, the
 * connection side and a present member holding this one connection (seeding gives each user one
 * connection per room; the connection's `rooms` count is not kept).
 */
export const membershipItems = (input: MembershipInput): Record<string, unknown>[] => {
  const ttl = epochSeconds(input.now) + CONNECTION_TTL_SECONDS;
  return [
    roomSide(input, ttl),
    { ...keys.connectionRoom(input.connectionId, input.room), room: input.room, ttl },
    {
      ...keys.present(input.room, input.user, input.region),
      room: input.room,
      user: input.user,
      region: input.region,
      connections: new Set([input.connectionId]),
      ttl,
    },
  ];
};

/** The room side of a membership, the item delivery reads. */
const roomSide = (input: MembershipInput, ttl: number): Record<string, unknown> => ({
  ...keys.roomMember(input.room, input.region, input.connectionId),
  room: input.room,
  user: input.user,
  region: input.region,
  connectionId: input.connectionId,
  joinedAt: input.now,
  ttl,
});

/** Puts an item unless one with its key exists; whether it was put. */
const putNew = async (db: Db, item: Record<string, unknown>): Promise<boolean> => {
  try {
    await db.client.send(
      new PutCommand({ TableName: db.table, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
};

/**
 * Adds this connection to its `(user, region)` present member of the room. With `onlyIfMissing`
 * the write happens only when the connection is not in it yet (a failed condition writes nothing).
 */
const addPresent = async (
  db: Db,
  input: MembershipInput,
  ttl: number,
  onlyIfMissing: boolean,
): Promise<void> => {
  try {
    await db.client.send(
      new UpdateCommand({
        TableName: db.table,
        Key: keys.present(input.room, input.user, input.region),
        UpdateExpression:
          'ADD connections :connection SET room = :room, #user = :user, #region = :region, #ttl = :ttl',
        ...(onlyIfMissing ? { ConditionExpression: 'NOT contains(connections, :id)' } : {}),
        ExpressionAttributeNames: { '#user': 'user', '#region': 'region', '#ttl': 'ttl' },
        ExpressionAttributeValues: {
          ':connection': new Set([input.connectionId]),
          ':room': input.room,
          ':user': input.user,
          ':region': input.region,
          ':ttl': ttl,
          ...(onlyIfMissing ? { ':id': input.connectionId } : {}),
        },
      }),
    );
  } catch (error) {
    if (!(onlyIfMissing && isConditionFailure(error))) throw error;
  }
};

/**
 * Joins a connection to a room, holding `maxRooms` exactly however many joins of one connection
 * run at once, with conditional writes only (strong mode has no transactions):
 *
 * 1. the connection side is put if absent: when present, this is a re-join (`rejoined`), which
 *    writes nothing new (it only restores a room side or present entry a crash left out, with
 *    conditions that fail, writing nothing, when they are there);
 * 2. the connection item's `rooms` count is incremented on the condition that it is under
 *    `maxRooms`; when it is not, the connection side is deleted again and the answer is `full`
 *    (a connection without an item, gone or never stored, is not counted);
 * 3. the present member is written, then the room side, so that a member that can be delivered
 *    to is always listed and counted.
 *
 * A crash between steps leaves a count one short (one room more allowed) or a membership that a
 * re-join completes; both end with the connection (2 h at most).
 */
export const addMembership = async (
  db: Db,
  input: MembershipInput & { maxRooms?: number | undefined },
): Promise<JoinOutcome> => {
  const ttl = epochSeconds(input.now) + CONNECTION_TTL_SECONDS;
  const connectionSide = { ...keys.connectionRoom(input.connectionId, input.room), room: input.room, ttl };
  if (!(await putNew(db, connectionSide))) {
    await putNew(db, roomSide(input, ttl));
    await addPresent(db, input, ttl, true);
    return 'rejoined';
  }
  const counted = await updateIf(db, keys.connection(input.connectionId), {
    expression: 'ADD rooms :one',
    condition: 'attribute_exists(pk) AND (attribute_not_exists(rooms) OR rooms < :max)',
    values: { ':one': 1, ':max': input.maxRooms ?? Number.MAX_SAFE_INTEGER },
  });
  if (!counted && (await connectionExists(db, input.connectionId))) {
    await db.client.send(
      new DeleteCommand({ TableName: db.table, Key: keys.connectionRoom(input.connectionId, input.room) }),
    );
    return 'full';
  }
  await addPresent(db, input, ttl, false);
  await db.client.send(new PutCommand({ TableName: db.table, Item: roomSide(input, ttl) }));
  return 'joined';
};

/** Whether a connection item exists (strongly consistent). */
const connectionExists = async (db: Db, connectionId: string): Promise<boolean> => {
  const result = await db.client.send(
    new GetCommand({
      TableName: db.table,
      Key: keys.connection(connectionId),
      ConsistentRead: true,
      ProjectionExpression: 'pk',
    }),
  );
  return result.Item !== undefined;
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

/**
 * Removes a connection from a room: the connection side (whose old image tells whether it was a
 * member, so concurrent leaves decrement the count once), the count, the room side and the present
 * entry. `user` is needed for the present entry; without it (a pre-upgrade membership) it is read
 * from the room side. Returns whether the connection was a member.
 */
export const removeMembership = async (
  db: Db,
  input: { room: string; connectionId: string; region: string; user?: string | undefined },
): Promise<boolean> => {
  const removed = await db.client.send(
    new DeleteCommand({
      TableName: db.table,
      Key: keys.connectionRoom(input.connectionId, input.room),
      ReturnValues: 'ALL_OLD',
    }),
  );
  const member = await db.client.send(
    new DeleteCommand({
      TableName: db.table,
      Key: keys.roomMember(input.room, input.region, input.connectionId),
      ReturnValues: 'ALL_OLD',
    }),
  );
  if (removed.Attributes === undefined && member.Attributes === undefined) return false;
  const user = input.user ?? (member.Attributes?.user as string | undefined);
  if (user !== undefined) {
    await removeFromSet(db, keys.present(input.room, user, input.region), 'connections', input.connectionId);
  }
  if (removed.Attributes === undefined) return false;
  await updateIf(db, keys.connection(input.connectionId), {
    expression: 'ADD rooms :minus',
    condition: 'attribute_exists(pk) AND rooms > :zero',
    values: { ':minus': -1, ':zero': 0 },
  });
  return true;
};

/** A room's members in one region, or everywhere when `region` is omitted (what delivery reads). */
export const listMembers = async (db: Db, room: string, region?: string): Promise<MemberItem[]> =>
  collect(
    queryAll<MemberItem>(db, {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': partitions.room(room), ':prefix': prefixes.member(region) },
    }),
  );

/**
 * One page of a room's present members, ordered by user then region: at most `limit`, after the
 * member `after` when given. `last` is the last member listed when more follow.
 */
export const presentMembers = async (
  db: Db,
  room: string,
  options: { limit: number; after?: MemberKey | undefined },
): Promise<{ members: PresentMember[]; last?: MemberKey }> => {
  const pk = partitions.room(room);
  const startSk =
    options.after === undefined
      ? undefined
      : `${prefixes.present}${presentSuffix(options.after.user, options.after.region)}`;
  // One more than the page, to know whether more follow without a second read.
  const page = await db.client.send(
    new QueryCommand({
      TableName: db.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': pk, ':prefix': prefixes.present },
      ProjectionExpression: '#user, #region, connections',
      ExpressionAttributeNames: { '#user': 'user', '#region': 'region' },
      Limit: options.limit + 1,
      ...(startSk === undefined ? {} : { ExclusiveStartKey: { pk, sk: startSk } }),
    }),
  );
  const items = (page.Items ?? []) as { user: string; region: string; connections?: Set<string> }[];
  const members = items.slice(0, options.limit).map((item) => ({
    user: item.user,
    region: item.region,
    connectionIds: [...(item.connections ?? [])].sort(),
  }));
  const lastListed = members.at(-1);
  return items.length > options.limit && lastListed !== undefined
    ? { members, last: { user: lastListed.user, region: lastListed.region } }
    : { members };
};

/**
 * How many present members the room has, counting at most `max` (DynamoDB counts them server-side,
 * `Select COUNT`, at most 1 MB of items per call).
 */
export const countPresent = async (db: Db, room: string, max: number): Promise<number> => {
  let total = 0;
  for await (const page of queryPages(db, {
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
    ExpressionAttributeValues: { ':pk': partitions.room(room), ':prefix': prefixes.present },
    Select: 'COUNT',
    Limit: max,
  })) {
    total += page.Count ?? 0;
    if (total >= max) return max;
  }
  return total;
};

/** The rooms a connection has joined. */
export const connectionRooms = async (db: Db, connectionId: string): Promise<string[]> => {
  const items = await collect(
    queryAll<{ room: string }>(db, {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: {
        ':pk': partitions.connection(connectionId),
        ':prefix': prefixes.connectionRoom,
      },
      ConsistentRead: true,
    }),
  );
  return items.map((item) => item.room);
};

/** How many rooms a connection is in (its `ROOM#` items, counted by DynamoDB). */
export const roomCount = async (db: Db, connectionId: string): Promise<number> => {
  let total = 0;
  for await (const page of queryPages(db, {
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
    ExpressionAttributeValues: {
      ':pk': partitions.connection(connectionId),
      ':prefix': prefixes.connectionRoom,
    },
    Select: 'COUNT',
    ConsistentRead: true,
  })) {
    total += page.Count ?? 0;
  }
  return total;
};
