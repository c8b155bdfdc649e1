/**
 * `join {room, since?}`: checks the token's room rules and the rooms-per-connection limit
 * (`forbidden`), writes both membership items, answers `joined {room, cursor, members}`,
 * then replays what the caller missed (with `since`), then announces the caller to the room's
 * other members in this region.
 *
 * The membership is written before the cursor is read: a message stored after the cursor is
 * delivered live (its sender already sees this member), one stored before it is replayed. Replay
 * stops at the cursor so a message is not sent twice by both paths.
 */
import { type JoinFrame, replyTo } from '../../protocol/index.js';
import { reply } from '../shared/delivery.js';
import type { HandlerDeps, RouteStore } from '../shared/deps.js';
import { limitsOf } from '../shared/env.js';
import { ForbiddenError } from '../shared/errors.js';
import { liveMembers } from '../shared/liveness.js';
import { announcePresence, requireRoomAccess, resolveUser } from '../shared/rooms.js';
import { defineRoute } from '../shared/route.js';
import {
  addMembership,
  getConnection,
  isMember,
  lastSeenOf,
  listMembers,
  messagesAfter,
  presenceOf,
  removeConnection,
  roomCount,
  roomCursor,
  toMessageFrame,
} from '../shared/store/index.js';
import type { Caller } from '../shared/websocket.js';

/** The store methods `join` calls. */
type JoinStore = RouteStore<
  | 'getConnection'
  | 'isMember'
  | 'roomCount'
  | 'addMembership'
  | 'roomCursor'
  | 'listMembers'
  | 'lastSeenOf'
  | 'messagesAfter'
>;

/** Joins a room. */
export const join = async (deps: HandlerDeps<JoinStore>, caller: Caller, frame: JoinFrame): Promise<void> => {
  const { room } = frame;
  requireRoomAccess(caller, room);
  const user = await resolveUser(deps, caller);
  // Rooms per connection: a re-join of a room already joined is always allowed. Two joins racing
  // on one connection may both pass; the limit bounds abuse, it is not a quota.
  const max = limitsOf(deps.config).maxRoomsPerConnection;
  if (
    !(await deps.store.isMember(room, caller.connectionId)) &&
    (await deps.store.roomCount(caller.connectionId)) >= max
  ) {
    throw new ForbiddenError(`a connection may join at most ${max} rooms; leave one first`);
  }
  await deps.store.addMembership({
    room,
    connectionId: caller.connectionId,
    user,
    region: deps.region,
    now: deps.now(),
  });
  const since = frame.since;
  const [cursor, members] = await Promise.all([
    deps.store.roomCursor(room, Object.keys(since ?? {})),
    deps.store.listMembers(room),
  ]);
  const joined = await reply(
    deps,
    caller.connectionId,
    replyTo(frame, {
      type: 'joined',
      room,
      cursor,
      members: presenceOf(await liveMembers(deps, members)),
      region: deps.region,
    }),
  );
  if (joined && since !== undefined) {
    replay: for (const [origin, last] of Object.entries(cursor)) {
      const seen = since[origin] ?? 0;
      if (last <= seen) continue;
      for await (const item of deps.store.messagesAfter(room, origin, seen)) {
        if (Number(item.seq) > last) break;
        if (!(await reply(deps, caller.connectionId, toMessageFrame(item)))) break replay;
      }
    }
  }
  await announcePresence(deps, { room, event: 'join', user, region: deps.region }, caller.connectionId);
};

/** The `join` route. */
export const handler = defineRoute('join', join, {
  getConnection,
  isMember,
  roomCount,
  addMembership,
  roomCursor,
  listMembers,
  lastSeenOf,
  messagesAfter,
  removeConnection,
});
