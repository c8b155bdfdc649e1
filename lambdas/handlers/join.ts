/**
 * `join {room, since?}`: checks the token's room rules and the rooms-per-connection limit
 * (`forbidden`), writes the membership, answers `joined {room, cursor, members, memberCount,
 * more?}`, then replays what the caller missed (with `since`), at most `maxReplay` messages, then
 * announces the caller to the room's other members in this region. A re-join of a room already
 * joined writes nothing and announces nothing: it answers `joined` and replays, which is how a
 * client follows `more`.
 *
 * The membership is written before the cursor is read: a message stored after the cursor is
 * delivered live (its sender already sees this member), one stored before it is replayed. Replay
 * stops at the cursor so a message is not sent twice by both paths.
 *
 * Bounded work: `since` holds at most 16 origins (the schema), the member list is one page
 * (`members.ts`), and the replay at most `maxReplay` messages.
 */
import type { Cursor, JoinFrame } from '../../protocol/index.js';
import { replyTo } from '../../protocol/index.js';
import { reply } from '../shared/delivery.js';
import type { HandlerDeps, RouteStore } from '../shared/deps.js';
import { limitsOf } from '../shared/env.js';
import { ForbiddenError } from '../shared/errors.js';
import { type MemberPageStore, memberPage } from '../shared/members.js';
import { announcePresence, requireRoomAccess, resolveUser } from '../shared/rooms.js';
import { defineRoute } from '../shared/route.js';
import {
  addMembership,
  countPresent,
  getConnection,
  lastSeenOf,
  listMembers,
  messagesAfter,
  presentMembers,
  removeConnection,
  roomCursor,
  toMessageFrame,
} from '../shared/store/index.js';
import type { Caller } from '../shared/websocket.js';

/** The store methods `join` calls. */
type JoinStore = RouteStore<
  'getConnection' | 'addMembership' | 'roomCursor' | 'listMembers' | 'messagesAfter'
> &
  MemberPageStore;

/** What one join replays: per origin, the seqs after `after` up to `upTo`; `more` when some are left. */
export interface ReplayPlan {
  ranges: { origin: string; after: number; upTo: number }[];
  more: boolean;
}

/**
 * Splits `max` replayed messages among the origins the caller missed messages of: each origin gets
 * its oldest missed ones, an equal share of what the origins before it (fewest missed first) left.
 */
export const replayPlan = (cursor: Cursor, since: Cursor, max: number): ReplayPlan => {
  const missed = Object.entries(cursor)
    .map(([origin, last]) => ({ origin, after: since[origin] ?? 0, count: last - (since[origin] ?? 0) }))
    .filter((origin) => origin.count > 0)
    .sort((a, b) => a.count - b.count || (a.origin < b.origin ? -1 : 1));
  let budget = max;
  let more = false;
  const ranges = missed.map((origin, index) => {
    const share = Math.min(origin.count, Math.floor(budget / (missed.length - index)));
    budget -= share;
    if (share < origin.count) more = true;
    return { origin: origin.origin, after: origin.after, upTo: origin.after + share };
  });
  return { ranges: ranges.filter((range) => range.upTo > range.after), more };
};

/** Joins a room. */
export const join = async (deps: HandlerDeps<JoinStore>, caller: Caller, frame: JoinFrame): Promise<void> => {
  const { room } = frame;
  requireRoomAccess(caller, room);
  const user = await resolveUser(deps, caller);
  const limits = limitsOf(deps.config);
  const outcome = await deps.store.addMembership({
    room,
    connectionId: caller.connectionId,
    user,
    region: deps.region,
    now: deps.now(),
    maxRooms: limits.maxRoomsPerConnection,
  });
  if (outcome === 'full') {
    throw new ForbiddenError(
      `a connection may join at most ${limits.maxRoomsPerConnection} rooms; leave one first`,
    );
  }
  const since = frame.since;
  const [cursor, page] = await Promise.all([
    deps.store.roomCursor(room, Object.keys(since ?? {})),
    memberPage(deps, room),
  ]);
  const plan = since === undefined ? undefined : replayPlan(cursor, since, limits.maxReplay);
  const joined = await reply(
    deps,
    caller.connectionId,
    replyTo(frame, {
      type: 'joined',
      room,
      cursor,
      members: page.members,
      memberCount: page.memberCount,
      ...(plan?.more === true ? { more: true } : {}),
      region: deps.region,
    }),
  );
  if (joined && plan !== undefined) {
    replay: for (const { origin, after, upTo } of plan.ranges) {
      for await (const item of deps.store.messagesAfter(room, origin, after, upTo)) {
        if (!(await reply(deps, caller.connectionId, toMessageFrame(item)))) break replay;
      }
    }
  }
  if (outcome === 'joined') {
    await announcePresence(deps, { room, event: 'join', user, region: deps.region }, caller.connectionId);
  }
};

/** The `join` route. */
export const handler = defineRoute('join', join, {
  getConnection,
  addMembership,
  roomCursor,
  listMembers,
  presentMembers,
  countPresent,
  lastSeenOf,
  messagesAfter,
  removeConnection,
});
