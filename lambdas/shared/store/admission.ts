/**
 * The connections-per-user rule, the same for every store. A user's open connections are kept per
 * region, each region's set written by that region only: this region's is taken with one atomic
 * conditional write (so `max` holds exactly here however many `$connect`s run at once), the other
 * regions' are counted as replication shows them. Across regions a user may therefore pass `max`
 * by the connections opened elsewhere within the replication lag (typically under a second).
 *
 * `$disconnect` is best effort in API Gateway (it can fail or time out), so an entry may outlive
 * its connection. At the limit, this region's entries whose connection must be over (older than
 * API Gateway's 2 h) are dropped, the others older than a `$connect` can take are checked with
 * `isGone` (API Gateway's `GetConnection`), the gone ones forgotten, and the write is tried once
 * more. Entries of other regions count until their connection must be over.
 *
 * @example
 * ```ts
 * const allowed = await admitUserConnection(slots, input);
 * ```
 */
import { CONNECTION_TTL_SECONDS } from './keys.js';
import type { UserConnection } from './types.js';

/** `GetConnection` checks in flight at once. */
const CHECKS_AT_ONCE = 10;
/**
 * An entry younger than this may belong to a `$connect` still running (API Gateway's integration
 * timeout is 29 s), which `GetConnection` does not know yet: it is never checked.
 */
export const CONNECT_GRACE_MS = 30_000;
/** After this, an entry's connection must be over: API Gateway closes every connection after 2 h. */
export const OPEN_ENTRY_LIFETIME_MS = CONNECTION_TTL_SECONDS * 1000;

/** One open connection as a region records it. */
export interface OpenEntry {
  connectionId: string;
  connectedAt: number;
}

/** How a store keeps a user's open connections. */
export interface UserConnectionSlots {
  /** This region's entries, and the other regions' (each region's own set). */
  read: () => Promise<{ here: OpenEntry[]; elsewhere: OpenEntry[] }>;
  /**
   * Records this connection in this region's set when it holds fewer than `allowed` entries (or
   * holds this one already), atomically; whether it did.
   */
  take: (allowed: number) => Promise<boolean>;
  /** Forgets a connection of this region found gone: its entry, and what else refers to it. */
  forget: (entry: OpenEntry) => Promise<void>;
}

/** Whether an entry's connection may still be open at `now`. */
export const mayBeOpen = (entry: OpenEntry, now: number): boolean =>
  entry.connectedAt + OPEN_ENTRY_LIFETIME_MS > now;

/** Applies the rule; `false` when the user is at the limit. */
export const admitUserConnection = async (
  slots: UserConnectionSlots,
  input: UserConnection,
): Promise<boolean> => {
  const { here, elsewhere } = await slots.read();
  const allowed = input.max - elsewhere.filter((entry) => mayBeOpen(entry, input.now)).length;
  if (allowed <= 0) return false;
  if (await slots.take(allowed)) return true;
  const others = here.filter((entry) => entry.connectionId !== input.connectionId);
  const over = others.filter((entry) => !mayBeOpen(entry, input.now));
  await Promise.all(over.map((entry) => slots.forget(entry)));
  let freed = over.length;
  const isGone = input.isGone;
  if (isGone !== undefined) {
    const checkable = others.filter(
      (entry) => mayBeOpen(entry, input.now) && entry.connectedAt <= input.now - CONNECT_GRACE_MS,
    );
    // Bounded: a handful of GetConnection calls at a time, stopping once one is freed.
    for (let i = 0; i < checkable.length && freed === 0; i += CHECKS_AT_ONCE) {
      const chunk = checkable.slice(i, i + CHECKS_AT_ONCE);
      const gone = await Promise.all(chunk.map((entry) => isGone(entry.connectionId)));
      const stale = chunk.filter((_, index) => gone[index]);
      await Promise.all(stale.map((entry) => slots.forget(entry)));
      freed += stale.length;
    }
  }
  return freed > 0 && slots.take(allowed);
};
