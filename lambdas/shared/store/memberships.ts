/**
 * Memberships in DynamoDB: both sides of one (the room's `MEMBER#` item and the connection's
 * `ROOM#` item), a room's members, a connection's rooms and how many there are.
 *
 * @example
 * ```ts
 * await addMembership(db, { room: 'lobby', connectionId: 'c1', user: 'alice', region: 'us-east-1', now });
 * const members = await listMembers(db, 'lobby', 'us-east-1');
 * ```
 */
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Member } from '../../../protocol/index.js';
import { collect, type Db, queryAll, queryPages } from './db.js';
import { CONNECTION_TTL_SECONDS, epochSeconds, keys, type MemberItem, partitions, prefixes } from './keys.js';

/**
 * Writes both sides of a membership. Two plain puts rather than a transaction: strong mode
 * (multi-Region strong consistency) has no transactions, and a half-written membership is
 * harmless (both items expire with the connection, and `leave`/disconnect delete both).
 * The room side is written first so that a member is never listed as joined on the
 * connection side while the room cannot find it.
 */
export const addMembership = async (db: Db, input: MembershipInput): Promise<void> => {
  for (const item of membershipItems(input))
    await db.client.send(new PutCommand({ TableName: db.table, Item: item }));
};

/** One connection's membership of one room. */
export interface MembershipInput {
  room: string;
  connectionId: string;
  user: string;
  region: string;
  now: number;
}

/** The two items of a membership, the room's side first. */
export const membershipItems = (input: MembershipInput): Record<string, unknown>[] => {
  const ttl = epochSeconds(input.now) + CONNECTION_TTL_SECONDS;
  return [
    {
      ...keys.roomMember(input.room, input.region, input.connectionId),
      room: input.room,
      user: input.user,
      region: input.region,
      connectionId: input.connectionId,
      joinedAt: input.now,
      ttl,
    },
    { ...keys.connectionRoom(input.connectionId, input.room), room: input.room, ttl },
  ];
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
      ExpressionAttributeValues: { ':pk': partitions.room(room), ':prefix': prefixes.member(region) },
    }),
  );

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

/** The presence list of a room: one entry per distinct (user, region). */
export const presenceOf = (members: readonly MemberItem[]): Member[] => {
  const seen = new Map<string, Member>();
  for (const member of members) {
    seen.set(`${member.region}\u0000${member.user}`, { user: member.user, region: member.region });
  }
  return [...seen.values()].sort((a, b) => a.user.localeCompare(b.user) || a.region.localeCompare(b.region));
};
