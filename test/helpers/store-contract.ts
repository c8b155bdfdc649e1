/**
 * What every {@link Store} does, as scenarios run against each implementation: the in-memory one
 * (`test/unit/shared/store/memory.test.ts`) and the DynamoDB one on DynamoDB Local
 * (`test/integration/store.test.ts`). The route tests run on the in-memory store; these scenarios
 * are what makes that stand for the real table.
 *
 * @example
 * ```ts
 * storeContract('memory', async () => createMemoryStore());
 * ```
 */
import { describe, expect, it } from 'vitest';
import type { NewMessage, Store } from '../../lambdas/shared/store/index.js';
import { rateLimitContract } from './store-contract-limits.js';
import { membershipContract } from './store-contract-memberships.js';

/** The clock of the scenarios (a fixed time, so that TTLs are in the future for DynamoDB). */
const NOW = 1_700_000_000_000;

const message = (room: string, id: string, region = 'us-east-1'): NewMessage => ({
  room,
  id,
  from: 'alice',
  body: { text: id },
  region,
});

const collectAll = async <T>(items: AsyncIterable<T>): Promise<T[]> => {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
};

/** Defines the scenarios for the store `fresh` creates, an empty one per scenario. */
export const storeContract = (name: string, fresh: () => Promise<Store>): void => {
  describe(`Store contract (${name}): connections`, () => {
    it('stores a connection and reads it back; a connection it does not have is undefined', async () => {
      // Prepare
      const store = await fresh();

      // Act
      await store.putConnection({ connectionId: 'c1', user: 'alice', region: 'us-east-1', now: NOW });

      // Assess
      expect(await store.getConnection('c1')).toMatchObject({
        user: 'alice',
        region: 'us-east-1',
        connectedAt: NOW,
        lastSeen: NOW,
      });
      expect(await store.getConnection('nobody')).toBeUndefined();
    });

    it('records a heartbeat of a connection it has and does not recreate one that is gone', async () => {
      // Prepare
      const store = await fresh();
      await store.putConnection({ connectionId: 'c1', user: 'alice', region: 'us-east-1', now: NOW });

      // Act
      const rate = { perSecond: 1, burst: 5 };
      const touched = await store.takeToken('c1', 'ping', rate, NOW + 5_000, { seen: true });
      const ghost = await store.takeToken('ghost', 'ping', rate, NOW + 5_000, { seen: true });
      const seen = await store.lastSeenOf(['c1', 'ghost', 'c1']);

      // Assess
      // A connection without an item is not limited, and not recreated.
      expect([touched, ghost]).toEqual([true, true]);
      expect([...seen.entries()]).toEqual([['c1', NOW + 5_000]]);
      expect(await store.getConnection('ghost')).toBeUndefined();
    });

    it('removes a connection with its memberships and its user entry, and names its rooms and user', async () => {
      // Prepare
      const store = await fresh();
      await store.putConnection({ connectionId: 'c1', user: 'alice', region: 'us-east-1', now: NOW });
      await store.registerUserConnection({
        user: 'alice',
        connectionId: 'c1',
        region: 'us-east-1',
        now: NOW,
        max: 5,
      });
      for (const room of ['r1', 'r2']) {
        await store.addMembership({ room, connectionId: 'c1', user: 'alice', region: 'us-east-1', now: NOW });
      }
      await store.addMembership({
        room: 'r1',
        connectionId: 'c2',
        user: 'bob',
        region: 'us-east-1',
        now: NOW,
      });

      // Act
      const removed = await store.removeConnection('c1', 'us-east-1');
      const unknown = await store.removeConnection('nobody', 'us-east-1');

      // Assess
      expect(removed).toEqual({ rooms: ['r1', 'r2'], user: 'alice' });
      expect(unknown).toEqual({ rooms: [], user: undefined });
      expect(await store.getConnection('c1')).toBeUndefined();
      expect(await store.isMember('r1', 'c1')).toBe(false);
      expect(await store.roomCount('c1')).toBe(0);
      expect((await store.listMembers('r1')).map((member) => member.connectionId)).toEqual(['c2']);
      // Its user entry is gone too: alice may open one connection again under a limit of one.
      expect(
        await store.registerUserConnection({
          user: 'alice',
          connectionId: 'c9',
          region: 'us-east-1',
          now: NOW,
          max: 1,
        }),
      ).toBe(true);
    });
  });

  describe(`Store contract (${name}): connections per user`, () => {
    const register = (store: Store, connectionId: string, max: number, region = 'us-east-1') =>
      store.registerUserConnection({ user: 'u', connectionId, region, now: NOW, max });

    it("counts a user's other open connections and refuses at the limit", async () => {
      // Prepare
      const store = await fresh();

      // Act
      const results = [
        await register(store, 'c1', 2),
        await register(store, 'c2', 2),
        await register(store, 'c3', 2),
        // A connection already recorded does not count against itself.
        await register(store, 'c1', 2),
        await store.registerUserConnection({
          user: 'someone-else',
          connectionId: 'c4',
          region: 'us-east-1',
          now: NOW,
          max: 1,
        }),
      ];

      // Assess
      expect(results).toEqual([true, true, false, true, true]);
    });

    it("at the limit, frees this region's entries that are gone and never checks another region's", async () => {
      // Prepare: entries of a minute ago (a $connect younger than 30 s is never checked).
      const store = await fresh();
      const earlier = (connectionId: string, region = 'us-east-1') =>
        store.registerUserConnection({ user: 'u', connectionId, region, now: NOW - 60_000, max: 10 });
      await earlier('gone');
      await earlier('live');
      await earlier('away', 'eu-west-1');
      const checked: string[] = [];

      // Act
      const allowed = await store.registerUserConnection({
        user: 'u',
        connectionId: 'c',
        region: 'us-east-1',
        now: NOW,
        max: 3,
        isGone: async (connectionId) => {
          checked.push(connectionId);
          return connectionId === 'gone';
        },
      });
      // live, away and c are open now: a fourth is refused under the same limit.
      const fourth = await register(store, 'd', 3);

      // Assess
      expect(allowed).toBe(true);
      expect(checked.sort()).toEqual(['gone', 'live']);
      expect(fourth).toBe(false);
    });

    it('holds the limit exactly in one region however many connections register at once', async () => {
      // Prepare
      const store = await fresh();
      const ids = Array.from({ length: 25 }, (_, index) => `c${index}`);

      // Act
      const results = await Promise.all(ids.map((connectionId) => register(store, connectionId, 10)));

      // Assess
      expect(results.filter(Boolean)).toHaveLength(10);
    });

    it('counts other regions until their connections must be over, and forgets a removed connection', async () => {
      // Prepare
      const store = await fresh();
      await store.registerUserConnection({
        user: 'u',
        connectionId: 'old',
        region: 'eu-west-1',
        now: NOW - 3 * 3600_000,
        max: 5,
      });
      await register(store, 'away', 5, 'eu-west-1');
      await store.putConnection({ connectionId: 'here', user: 'u', region: 'us-east-1', now: NOW });
      await register(store, 'here', 5);

      // Act
      const atLimit = await register(store, 'third', 3);
      await store.removeConnection('here', 'us-east-1');
      const afterRemoval = await register(store, 'fourth', 3);

      // Assess: 'old' is past API Gateway's 2 h and not counted.
      expect([atLimit, afterRemoval]).toEqual([true, true]);
      expect(await register(store, 'fifth', 3)).toBe(false);
    });
  });

  membershipContract(name, fresh);

  describe(`Store contract (${name}): messages`, () => {
    const eventual = { consistency: 'eventual', retentionDays: 30, now: () => NOW } as const;
    const strong = { ...eventual, consistency: 'strong' } as const;

    it('gives each origin its own gap-free sequence and a repeated id the ack of its first send', async () => {
      // Prepare
      const store = await fresh();

      // Act
      const first = await store.storeMessage(message('r', 'm1'), eventual);
      const west = await store.storeMessage(message('r', 'm2', 'eu-west-1'), eventual);
      const second = await store.storeMessage(message('r', 'm3'), eventual);
      const repeat = await store.storeMessage(message('r', 'm1', 'eu-west-1'), { ...eventual, now: () => 1 });

      // Assess
      expect(first).toEqual({
        duplicate: false,
        ack: { origin: 'us-east-1', seq: 1, ts: NOW },
        message: {
          room: 'r',
          id: 'm1',
          origin: 'us-east-1',
          seq: 1,
          from: 'alice',
          body: '{"text":"m1"}',
          ts: NOW,
          region: 'us-east-1',
        },
      });
      expect([west.ack, second.ack]).toEqual([
        { origin: 'eu-west-1', seq: 1, ts: NOW },
        { origin: 'us-east-1', seq: 2, ts: NOW },
      ]);
      expect(repeat).toEqual({ duplicate: true, ack: first.ack });
      expect(await store.roomCursor('r')).toEqual({ 'us-east-1': 2, 'eu-west-1': 1 });
    });

    it('assigns 1..n without gaps or repeats to concurrent sends to one room', async () => {
      // Prepare
      const store = await fresh();

      // Act
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, (_, index) => store.storeMessage(message('busy', `m${index}`), eventual)),
      );

      // Assess
      expect(outcomes.map((outcome) => outcome.ack.seq).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 20 }, (_, index) => index + 1),
      );
      expect((await collectAll(store.messagesAfter('busy', 'us-east-1', 0))).map((m) => m.seq)).toEqual(
        Array.from({ length: 20 }, (_, index) => index + 1),
      );
    });

    it('strong mode: one global sequence for every region, and a repeated id its first ack', async () => {
      // Prepare
      const store = await fresh();

      // Act
      const east = await store.storeMessage(message('s', 'a'), strong);
      const west = await store.storeMessage(message('s', 'b', 'eu-west-1'), strong);
      const concurrent = await Promise.all(
        Array.from({ length: 8 }, (_, index) => store.storeMessage(message('s', `c${index}`), strong)),
      );
      const repeat = await store.storeMessage(message('s', 'a', 'eu-west-1'), strong);

      // Assess
      expect([east.ack, west.ack]).toEqual([
        { origin: 'global', seq: 1, ts: NOW },
        { origin: 'global', seq: 2, ts: NOW },
      ]);
      expect(west.duplicate === false && west.message.region).toBe('eu-west-1');
      expect(concurrent.map((outcome) => outcome.ack.seq).sort((a, b) => a - b)).toEqual([
        3, 4, 5, 6, 7, 8, 9, 10,
      ]);
      expect(repeat).toEqual({ duplicate: true, ack: east.ack });
      expect(await store.roomCursor('s')).toEqual({ global: 10 });
    });

    it.each([
      ['eventual', 'us-east-1'],
      ['strong', 'global'],
    ] as const)(
      '%s mode: an id another sender stored is a conflict, and nothing is stored',
      async (mode, origin) => {
        // Prepare
        const store = await fresh();
        const options = mode === 'strong' ? strong : eventual;
        const first = await store.storeMessage(message('ids', 'm1'), options);

        // Act
        const taken = store.storeMessage({ ...message('ids', 'm1'), from: 'mallory', body: 'evil' }, options);

        // Assess
        await expect(taken).rejects.toMatchObject({ code: 'conflict' });
        expect(await store.roomCursor('ids')).toEqual({ [origin]: 1 });
        const stored = await collectAll(store.messagesAfter('ids', origin, 0));
        expect(stored.map((item) => [item.id, item.from, item.body])).toEqual([
          ['m1', 'alice', '{"text":"m1"}'],
        ]);
        expect(await store.storeMessage(message('ids', 'm1'), options)).toEqual({
          duplicate: true,
          ack: first.ack,
        });
      },
    );

    it("answers a room's cursor and the messages of an origin after a seq, in seq order", async () => {
      // Prepare
      const store = await fresh();
      for (const id of ['e1', 'e2', 'e3']) await store.storeMessage(message('r', id), eventual);
      for (const id of ['w1', 'w2']) await store.storeMessage(message('r', id, 'eu-west-1'), eventual);

      // Act
      const cursor = await store.roomCursor('r', ['ap-south-1']);
      const empty = await store.roomCursor('nothing-here');
      const after = await collectAll(store.messagesAfter('r', 'us-east-1', 1));
      const none = await collectAll(store.messagesAfter('r', 'ap-south-1', 0));

      // Assess
      expect(cursor).toEqual({ 'us-east-1': 3, 'eu-west-1': 2 });
      expect(empty).toEqual({});
      expect(after.map((item) => `${item.origin}:${item.seq}:${item.id}`)).toEqual([
        'us-east-1:2:e2',
        'us-east-1:3:e3',
      ]);
      expect(none).toEqual([]);
    });

    it('pages history newest first below before, each page oldest first, never inside a ts group', async () => {
      // Prepare
      const store = await fresh();
      const at = [1_000, 2_000, 3_000, 3_000, 4_000];
      for (const [index, ts] of at.entries()) {
        await store.storeMessage(message('h', `h${index + 1}`, index % 2 === 0 ? 'us-east-1' : 'eu-west-1'), {
          ...eventual,
          now: () => NOW + ts,
        });
      }
      const ids = (items: { id: string }[]) => items.map((item) => item.id);

      // Act
      const all = await store.historyPage('h', { limit: 10 });
      const three = await store.historyPage('h', { limit: 3, before: NOW + 4_001 });
      const cut = await store.historyPage('h', { limit: 2, before: NOW + 4_001 });
      const older = await store.historyPage('h', { limit: 10, before: NOW + 3_000 });

      // Assess
      // By ts, then origin, then seq: h4 (eu-west-1) before h3 (us-east-1), which share a ts.
      expect(ids(all)).toEqual(['h1', 'h2', 'h4', 'h3', 'h5']);
      expect(ids(three)).toEqual(['h4', 'h3', 'h5']);
      // Two would end inside the ts group of h3 and h4: the page stops before it.
      expect(ids(cut)).toEqual(['h5']);
      expect(ids(older)).toEqual(['h1', 'h2']);
    });
  });

  rateLimitContract(name, fresh);

  describe(`Store contract (${name}): health`, () => {
    it('answers the health probe', async () => {
      // Prepare
      const store = await fresh();

      // Act + Assess
      await expect(store.probe()).resolves.toBeUndefined();
    });
  });
};
