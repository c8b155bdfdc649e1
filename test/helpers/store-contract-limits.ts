/**
 * What every {@link Store} does with the per-connection rate limits (`takeToken`), as scenarios of
 * the store contract (`store-contract.ts`), which runs them against the in-memory store and against
 * DynamoDB Local.
 */
import { describe, expect, it } from 'vitest';
import type { Store } from '../../lambdas/shared/store/index.js';

/** The clock of the scenarios (a fixed time, as in the rest of the contract). */
const NOW = 1_700_000_000_000;

/** Defines the rate-limit scenarios for the store `fresh` creates, an empty one per scenario. */
export const rateLimitContract = (name: string, fresh: () => Promise<Store>): void => {
  describe(`Store contract (${name}): rate limits`, () => {
    const rate = { perSecond: 2, burst: 3 };

    it('allows the burst, refuses beyond it, refills at the rate, and does not limit an unknown connection', async () => {
      // Prepare
      const store = await fresh();
      await store.putConnection({ connectionId: 'c', user: 'u', region: 'us-east-1', now: NOW });
      const take = (at: number) => store.takeToken('c', 'send', rate, at);

      // Act
      const burst = [await take(NOW), await take(NOW), await take(NOW), await take(NOW)];
      const refilled = [await take(NOW + 500), await take(NOW + 500)];
      const unknown = await store.takeToken('ghost', 'send', rate, NOW);

      // Assess
      expect(burst).toEqual([true, true, true, false]);
      expect(refilled).toEqual([true, false]);
      expect(unknown).toBe(true);
      expect(await store.getConnection('ghost')).toBeUndefined();
    });

    it("keeps one bucket per action: spending one action's burst leaves the others whole", async () => {
      // Prepare
      const store = await fresh();
      await store.putConnection({ connectionId: 'c', user: 'u', region: 'us-east-1', now: NOW });
      const take = (action: 'join' | 'history') => store.takeToken('c', action, rate, NOW);
      for (let index = 0; index < 3; index++) await take('join');

      // Act
      const join = await take('join');
      const history = [await take('history'), await take('history'), await take('history')];
      const historyAgain = await take('history');

      // Assess
      expect(join).toBe(false);
      expect(history).toEqual([true, true, true]);
      expect(historyAgain).toBe(false);
    });

    it('gives concurrent takes exactly the burst, and the next one at the next interval', async () => {
      // Prepare
      const store = await fresh();
      await store.putConnection({ connectionId: 'c', user: 'u', region: 'us-east-1', now: NOW });
      const wide = { perSecond: 1, burst: 10 };
      const takeMany = (count: number, at: number) =>
        Promise.all(Array.from({ length: count }, () => store.takeToken('c', 'presence', wide, at)));

      // Act
      const burst = await takeMany(20, NOW);
      const aSecondLater = await takeMany(3, NOW + 1_000);

      // Assess
      expect(burst.filter(Boolean)).toHaveLength(10);
      expect(aSecondLater.filter(Boolean)).toHaveLength(1);
    });

    it('records lastSeen in the same take when asked, and nothing when the take is refused', async () => {
      // Prepare
      const store = await fresh();
      await store.putConnection({ connectionId: 'c', user: 'u', region: 'us-east-1', now: NOW });
      const one = { perSecond: 1, burst: 1 };

      // Act
      const first = await store.takeToken('c', 'ping', one, NOW + 1_000, { seen: true });
      const seenAfterFirst = (await store.getConnection('c'))?.lastSeen;
      const refused = await store.takeToken('c', 'ping', one, NOW + 1_500, { seen: true });
      const seenAfterRefusal = (await store.getConnection('c'))?.lastSeen;
      const ghost = await store.takeToken('ghost', 'ping', one, NOW, { seen: true });

      // Assess
      expect([first, refused, ghost]).toEqual([true, false, true]);
      expect(seenAfterFirst).toBe(NOW + 1_000);
      expect(seenAfterRefusal).toBe(NOW + 1_000);
      // A connection that is gone is not recreated by its heartbeat.
      expect(await store.getConnection('ghost')).toBeUndefined();
    });
  });
};
