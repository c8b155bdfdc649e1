/**
 * Seeds the bench's rooms with the items the `join` handler writes, straight into each region's
 * replica, through the store's bulk writes (`lambdas/shared/store/seeding.ts`): joining 1,000
 * members one by one would announce each to every member before it (O(n^2) presence frames).
 */
import { documentClient } from '../lambdas/shared/clients.js';
import { connectionIdsByUser, putMemberships } from '../lambdas/shared/store/seeding.js';
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
  const dbOf = (region: string) => ({
    client: documentClient(stack.dynamoDb(region)),
    table: stack.tableName,
  });
  const ids = new Map<string, string>();
  for (const region of stack.regions) {
    for (const [user, id] of await connectionIdsByUser(dbOf(region.name), region.name)) ids.set(user, id);
  }
  const now = Date.now();
  const byRegion = new Map<string, Parameters<typeof putMemberships>[1][number][]>();
  for (const { region, user, room } of memberships) {
    const connectionId = ids.get(user);
    if (connectionId === undefined) throw new Error(`no connection item for ${user}`);
    const inputs = byRegion.get(region) ?? [];
    inputs.push({ room, connectionId, user, region, now });
    byRegion.set(region, inputs);
  }
  for (const [region, inputs] of byRegion) await putMemberships(dbOf(region), inputs);
};
