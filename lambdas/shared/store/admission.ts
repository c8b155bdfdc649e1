/**
 * The connections-per-user rule, the same for every store: count the user's other open
 * connections and, under the limit, record this one. `$disconnect` is best effort in API Gateway
 * (it can fail or time out), so an entry may outlive its connection: at the limit, each entry of
 * this region is checked with `isGone` (API Gateway's `GetConnection`), and the gone ones are
 * forgotten and not counted. Entries of other regions count until they expire.
 *
 * Two connections racing may both pass (the limit is approximate by at most the number of
 * simultaneous `$connect`s), which is acceptable for an abuse limit.
 *
 * @example
 * ```ts
 * const allowed = await admitUserConnection({ others, forget, record }, input);
 * ```
 */
import type { UserConnection } from './types.js';

/** `GetConnection` checks in flight at once. */
const CHECKS_AT_ONCE = 10;

/** How a store keeps the user's connection entries. */
export interface UserConnectionEntries {
  /** The user's open connections other than this one, with the region each is served by. */
  others: () => Promise<{ connectionId: string; region: unknown }[]>;
  /** Forgets a connection found gone, its entry included. */
  forget: (connectionId: string) => Promise<void>;
  /** Records this connection. */
  record: () => Promise<void>;
}

/** Applies the rule; `false` when the user is at the limit. */
export const admitUserConnection = async (
  entries: UserConnectionEntries,
  input: UserConnection,
): Promise<boolean> => {
  const others = await entries.others();
  let open = others.length;
  if (open >= input.max && input.isGone !== undefined) {
    const isGone = input.isGone;
    const local = others.filter((other) => other.region === input.region);
    // Bounded: a handful of GetConnection calls at a time.
    for (let i = 0; i < local.length && open >= input.max; i += CHECKS_AT_ONCE) {
      const chunk = local.slice(i, i + CHECKS_AT_ONCE);
      const gone = await Promise.all(chunk.map((other) => isGone(other.connectionId)));
      const stale = chunk.filter((_, index) => gone[index]);
      await Promise.all(stale.map((other) => entries.forget(other.connectionId)));
      open -= stale.length;
    }
  }
  if (open >= input.max) return false;
  await entries.record();
  return true;
};
