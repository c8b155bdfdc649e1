/**
 * `history {room, limit?, before?}`: one page of the room's messages by time (the `byTime`
 * index), the `limit` (default 50) newest before `before`, answered oldest first. A page that
 * would end inside a group of messages sharing one `ts` ends before that group, so paging with
 * `before` = the oldest `ts` received never skips a message.
 */
import middy from '@middy/core';
import { reply } from '../shared/delivery.js';
import { type HandlerDeps, handlerDeps } from '../shared/deps.js';
import { HISTORY_LIMIT_DEFAULT, type HistoryFrame } from '../shared/protocol.js';
import { historyPage, toMessageFrame } from '../shared/repository.js';
import { requireMember, requireRoomAccess } from '../shared/rooms.js';
import { routeMiddlewares } from '../shared/route.js';
import {
  type Caller,
  callerOf,
  OK,
  type ParsedEvent,
  type RouteResult,
  type WebSocketEvent,
} from '../shared/websocket.js';

/** Answers a history request. */
export const history = async (deps: HandlerDeps, caller: Caller, frame: HistoryFrame): Promise<void> => {
  const { room } = frame;
  requireRoomAccess(caller, room);
  await requireMember(deps, room, caller.connectionId);
  const items = await historyPage(deps.db, room, {
    limit: frame.limit ?? HISTORY_LIMIT_DEFAULT,
    before: frame.before,
  });
  await reply(deps, caller.connectionId, {
    type: 'history',
    ...(frame.ref !== undefined ? { ref: frame.ref } : {}),
    room,
    messages: items.map(toMessageFrame),
  });
};

/** The `history` route. */
export const handler = middy<WebSocketEvent, RouteResult>()
  .use(routeMiddlewares('history'))
  .handler(async (event) => {
    await history(handlerDeps(), callerOf(event), (event as ParsedEvent<HistoryFrame>).parley.frame);
    return OK;
  });
