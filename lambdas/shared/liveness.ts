/**
 * Which members of a room are still there, for `presence` and `joined`.
 *
 * A connection's item carries `lastSeen`, written at `$connect` and refreshed by every `ping` (the
 * SDK pings every 30 s). A member whose connection was not heard from within the presence timeout
 * is left out when it belongs to another region: its region may be down, with its `$disconnect`
 * never run or not yet replicated. A stale member of this region is asked about at `@connections`
 * instead (a client that never pings is still connected here): gone (410) removes it, as a failed
 * delivery would; anything else keeps it.
 */

import { connectionGone, removeGone } from './delivery.js';
import type { HandlerDeps, RouteStore } from './deps.js';
import { DEFAULT_PRESENCE_TIMEOUT_SECONDS } from './env.js';
import type { MemberItem } from './store/index.js';

/** `@connections` checks in flight at once for stale members of this region. */
const CHECK_CONCURRENCY = 10;

/** The members still connected, in their original order. */
export const liveMembers = async (
  deps: Pick<HandlerDeps<RouteStore<'lastSeenOf'>>, 'store' | 'region' | 'connections' | 'config' | 'now'>,
  members: readonly MemberItem[],
): Promise<MemberItem[]> => {
  const timeoutSeconds = deps.config.presenceTimeoutSeconds ?? DEFAULT_PRESENCE_TIMEOUT_SECONDS;
  if (timeoutSeconds === 0 || members.length === 0) return [...members];
  const seen = await deps.store.lastSeenOf(members.map((member) => member.connectionId));
  const oldest = deps.now() - timeoutSeconds * 1000;
  const stale = new Set<string>();
  for (const member of members) {
    if (!seen.has(member.connectionId)) stale.add(member.connectionId);
    else {
      const lastSeen = seen.get(member.connectionId);
      // An unknown lastSeen (the read was throttled) keeps the member: unknown is not gone.
      if (lastSeen !== undefined && lastSeen < oldest) stale.add(member.connectionId);
    }
  }
  const local = [
    ...new Set(
      members.filter((m) => m.region === deps.region && stale.has(m.connectionId)).map((m) => m.connectionId),
    ),
  ];
  let next = 0;
  const check = async (): Promise<void> => {
    while (next < local.length) {
      const connectionId = local[next++] as string;
      if (await connectionGone(deps.connections, connectionId)) await removeGone(deps, connectionId);
      else stale.delete(connectionId);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CHECK_CONCURRENCY, local.length) }, check));
  return members.filter((member) => !stale.has(member.connectionId));
};
