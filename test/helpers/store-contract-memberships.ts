/**
 * What every {@link Store} does with memberships (both sides, the rooms-per-connection count and
 * the present members), as scenarios of the store contract (`store-contract.ts`), which runs them
 * against the in-memory store and against DynamoDB Local.
 */
import { describe, expect, it } from 'vitest';
import type { Store } from '../../lambdas/shared/store/index.js';

/** The clock of the scenarios (a fixed time, as in the rest of the contract). */
const NOW = 1_700_000_000_000;

/** Defines the membership scenarios for the store `fresh` creates, an empty one per scenario. */
export const membershipContract = (name: string, fresh: () => Promise<Store>): void => {
  describe(`Store contract (${name}): memberships`, () => {
    it('writes and removes a membership, and lists members by region and connection', async () => {
      // Prepare
      const store = await fresh();
      const join = (room: string, connectionId: string, user: string, region = 'us-east-1') =>
        store.addMembership({ room, connectionId, user, region, now: NOW });
      await join('r', 'c2', 'bob');
      await join('r', 'c1', 'alice');
      await join('r', 'w1', 'carl', 'eu-west-1');
      await join('other', 'c1', 'alice');

      // Act
      const everywhere = await store.listMembers('r');
      const here = await store.listMembers('r', 'us-east-1');
      const countBefore = await store.roomCount('c1');
      const left = await store.removeMembership({ room: 'r', connectionId: 'c1', region: 'us-east-1' });
      const again = await store.removeMembership({ room: 'r', connectionId: 'c1', region: 'us-east-1' });

      // Assess
      expect(everywhere.map((member) => member.connectionId)).toEqual(['w1', 'c1', 'c2']);
      expect(here).toMatchObject([
        { room: 'r', user: 'alice', region: 'us-east-1', connectionId: 'c1', joinedAt: NOW },
        { room: 'r', user: 'bob', region: 'us-east-1', connectionId: 'c2', joinedAt: NOW },
      ]);
      expect(countBefore).toBe(2);
      expect([left, again]).toEqual([true, false]);
      expect(await store.isMember('r', 'c1')).toBe(false);
      expect(await store.isMember('other', 'c1')).toBe(true);
      expect(await store.isMember('r', 'c9')).toBe(false);
      expect(await store.roomCount('c1')).toBe(1);
      expect((await store.listMembers('r', 'us-east-1')).map((member) => member.connectionId)).toEqual([
        'c2',
      ]);
    });

    it('holds the rooms per connection exactly under concurrent joins, re-joins change nothing, a leave frees a room', async () => {
      // Prepare
      const store = await fresh();
      await store.putConnection({ connectionId: 'c1', user: 'alice', region: 'us-east-1', now: NOW });
      const join = (room: string) =>
        store.addMembership({
          room,
          connectionId: 'c1',
          user: 'alice',
          region: 'us-east-1',
          now: NOW,
          maxRooms: 3,
        });

      // Act
      const outcomes = await Promise.all(Array.from({ length: 12 }, (_, index) => join(`r${index}`)));
      const joinedRooms = outcomes.flatMap((outcome, index) => (outcome === 'joined' ? [`r${index}`] : []));
      const first = joinedRooms[0] as string;
      const rejoin = await join(first);
      const beyond = await join('late');
      await store.removeMembership({ room: first, connectionId: 'c1', region: 'us-east-1', user: 'alice' });
      const afterLeave = await join('late');

      // Assess
      expect(joinedRooms).toHaveLength(3);
      expect(outcomes.filter((outcome) => outcome === 'full')).toHaveLength(9);
      expect(await store.roomCount('c1')).toBe(3);
      expect([rejoin, beyond, afterLeave]).toEqual(['rejoined', 'full', 'joined']);
      expect(await store.isMember('late', 'c1')).toBe(true);
      expect(await store.isMember(first, 'c1')).toBe(false);
    });

    it('lists present members once per (user, region), ordered by user, in pages, and counts them', async () => {
      // Prepare
      const store = await fresh();
      const join = (connectionId: string, user: string, region = 'us-east-1') =>
        store.addMembership({ room: 'r', connectionId, user, region, now: NOW });
      await join('b1', 'bob');
      await join('b2', 'bob');
      await join('a1', 'amy', 'eu-west-1');
      await join('c1', 'cat');
      await join('b3', 'bob', 'eu-west-1');

      // Act
      const first = await store.presentMembers('r', { limit: 2 });
      const second = await store.presentMembers('r', { limit: 2, after: first.last });
      const count = await store.countPresent('r', 100);
      const capped = await store.countPresent('r', 2);
      await store.removeMembership({ room: 'r', connectionId: 'b1', region: 'us-east-1', user: 'bob' });
      const oneLeft = await store.presentMembers('r', { limit: 10 });
      await store.removeMembership({ room: 'r', connectionId: 'b2', region: 'us-east-1', user: 'bob' });
      const noneLeft = await store.presentMembers('r', { limit: 10 });

      // Assess
      expect(first).toEqual({
        members: [
          { user: 'amy', region: 'eu-west-1', connectionIds: ['a1'] },
          { user: 'bob', region: 'eu-west-1', connectionIds: ['b3'] },
        ],
        last: { user: 'bob', region: 'eu-west-1' },
      });
      expect(second).toEqual({
        members: [
          { user: 'bob', region: 'us-east-1', connectionIds: ['b1', 'b2'] },
          { user: 'cat', region: 'us-east-1', connectionIds: ['c1'] },
        ],
      });
      expect([count, capped]).toEqual([4, 2]);
      expect(
        oneLeft.members.find((member) => member.region === 'us-east-1' && member.user === 'bob'),
      ).toEqual({
        user: 'bob',
        region: 'us-east-1',
        connectionIds: ['b2'],
      });
      expect(noneLeft.members.map((member) => `${member.user}@${member.region}`)).toEqual([
        'amy@eu-west-1',
        'bob@eu-west-1',
        'cat@us-east-1',
      ]);
      expect(await store.countPresent('r', 100)).toBe(3);
    });
  });
};
