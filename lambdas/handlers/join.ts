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
import type { HandlerDeps } from '../shared/deps.js';
import { limitsOf } from '../shared/env.js';
import { ForbiddenError } from '../shared/errors.js';
import { liveMembers } from '../shared/liveness.js';
import { announcePresence, requireRoomAccess, resolveUser } from '../shared/rooms.js';
import { defineRoute } from '../shared/route.js';
import {
  addMembership,
  isMember,
  listMembers,
  messagesAfter,
  presenceOf,
  roomCount,
  roomCursor,
  toMessageFrame,
} from '../shared/store/index.js';
import type { Caller } from '../shared/websocket.js';

/** Joins a room. */
export const join = async (deps: HandlerDeps, caller: Caller, frame: JoinFrame): Promise<void> => {
  const { room } = frame;
  requireRoomAccess(caller, room);
  const user = await resolveUser(deps, caller);
  // Rooms per connection: a re-join of a room already joined is always allowed. Two joins racing
  // on one connection may both pass; the limit bounds abuse, it is not a quota.
  const max = limitsOf(deps.config).maxRoomsPerConnection;
  if (
    !(await isMember(deps.db, room, caller.connectionId)) &&
    (await roomCount(deps.db, caller.connectionId)) >= max
  ) {
    throw new ForbiddenError(`a connection may join at most ${max} rooms; leave one first`);
  }
  await addMembership(deps.db, {
    room,
    connectionId: caller.connectionId,
    user,
    region: deps.region,
    now: deps.now(),
  });
  const since = frame.since;
  const [cursor, members] = await Promise.all([
    roomCursor(deps.db, room, Object.keys(since ?? {})),
    listMembers(deps.db, room),
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
      for await (const item of messagesAfter(deps.db, room, origin, seen)) {
        if (Number(item.seq) > last) break;
        if (!(await reply(deps, caller.connectionId, toMessageFrame(item)))) break replay;
      }
    }
  }
  await announcePresence(deps, { room, event: 'join', user, region: deps.region }, caller.connectionId);
};

/** The `join` route. */
export const handler = defineRoute('join', join);
