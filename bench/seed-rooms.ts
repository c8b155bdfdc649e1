/**
 * Seeds the bench's rooms by writing the items the `join` handler writes, straight into each
 * region's replica: joining 1,000 members one by one would announce each to every member before
 * it (O(n^2) presence frames). The one place in the bench that knows the table's items.
 */
import { BatchWriteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../lambdas/shared/clients.js';
import { CONNECTION_TTL_SECONDS, keys } from '../lambdas/shared/repository.js';
import type { LocalStack } from '../local/stack.js';

/** One member of one room: the user's connection in `region` joins `room`. */
export interface RoomMembership {
  region: string;
  user: string;
  room: string;
}

/**
 * Finds every open connection's id (by user, each user has one) and writes the memberships, in
 * the region of each member's connection.
 */
export const seedRooms = async (stack: LocalStack, memberships: readonly RoomMembership[]): Promise<void> => {
  const ids = new Map<string, string>();
  for (const region of stack.regions) {
    const db = documentClient(stack.dynamoDb(region.name));
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await db.send(
        new ScanCommand({
          TableName: stack.tableName,
          FilterExpression: 'sk = :meta AND #region = :region',
          ExpressionAttributeNames: { '#region': 'region' },
          ExpressionAttributeValues: { ':meta': 'META', ':region': region.name },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        ids.set(String(item.user), String(item.pk).slice('CONN#'.length));
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
  }

  const now = Date.now();
  const ttl = Math.floor(now / 1000) + CONNECTION_TTL_SECONDS;
  const byRegion = new Map<string, Record<string, unknown>[]>();
  for (const { region, user, room } of memberships) {
    const connectionId = ids.get(user);
    if (connectionId === undefined) throw new Error(`no connection item for ${user}`);
    const items = byRegion.get(region) ?? [];
    items.push(
      {
        ...keys.roomMember(room, region, connectionId),
        room,
        user,
        region,
        connectionId,
        joinedAt: now,
        ttl,
      },
      { ...keys.connectionRoom(connectionId, room), room, ttl },
    );
    byRegion.set(region, items);
  }
  for (const [region, items] of byRegion) {
    const db = documentClient(stack.dynamoDb(region));
    for (let i = 0; i < items.length; i += 25) {
      let requests = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
      while (requests.length > 0) {
        const answer = await db.send(
          new BatchWriteCommand({ RequestItems: { [stack.tableName]: requests } }),
        );
        requests = (answer.UnprocessedItems?.[stack.tableName] ?? []) as typeof requests;
      }
    }
  }
};
