/**
 * `join {room, since?}`: writes both membership items, answers `joined {room, cursor, members}`,
 * then replays what the caller missed (with `since`), then announces the caller to the room's
 * other members in this region.
 *
 * The membership is written before the cursor is read: a message stored after the cursor is
 * delivered live (its sender already sees this member), one stored before it is replayed. Replay
 * stops at the cursor so a message is not sent twice by both paths.
 */
import middy from '@middy/core';
import { reply } from '../shared/delivery.js';
import { type HandlerDeps, handlerDeps } from '../shared/deps.js';
import type { JoinFrame } from '../shared/protocol.js';
import {
  addMembership,
  listMembers,
  messagesAfter,
  presenceOf,
  roomCursor,
  toMessageFrame,
} from '../shared/repository.js';
import { announcePresence, resolveUser } from '../shared/rooms.js';
import { routeMiddlewares } from '../shared/route.js';
import {
  type Caller,
  callerOf,
  OK,
  type ParsedEvent,
  type RouteResult,
  type WebSocketEvent,
} from '../shared/websocket.js';

/** Joins a room. */
export const join = async (deps: HandlerDeps, caller: Caller, frame: JoinFrame): Promise<void> => {
  const user = await resolveUser(deps, caller);
  const { room } = frame;
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
  const joined = await reply(deps, caller.connectionId, {
    type: 'joined',
    ...(frame.ref !== undefined ? { ref: frame.ref } : {}),
    room,
    cursor,
    members: presenceOf(members),
    region: deps.region,
  });
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
export const handler = middy<WebSocketEvent, RouteResult>()
  .use(routeMiddlewares('join'))
  .handler(async (event) => {
    await join(handlerDeps(), callerOf(event), (event as ParsedEvent<JoinFrame>).parley.frame);
    return OK;
  });
