/**
 * `leave {room}`: removes both membership items, answers `left`, and tells the room's members in
 * this region. Leaving a room one is not in is answered `left` too (idempotent), silently.
 */
import middy from '@middy/core';
import { reply } from '../shared/delivery.js';
import { type HandlerDeps, handlerDeps } from '../shared/deps.js';
import type { LeaveFrame } from '../shared/protocol.js';
import { isMember, removeMembership } from '../shared/repository.js';
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

/** Leaves a room. */
export const leave = async (deps: HandlerDeps, caller: Caller, frame: LeaveFrame): Promise<void> => {
  const { room } = frame;
  const wasMember = await isMember(deps.db, room, caller.connectionId);
  if (wasMember)
    await removeMembership(deps.db, { room, connectionId: caller.connectionId, region: deps.region });
  await reply(deps, caller.connectionId, {
    type: 'left',
    ...(frame.ref !== undefined ? { ref: frame.ref } : {}),
    room,
  });
  if (wasMember) {
    const user = await resolveUser(deps, caller);
    await announcePresence(deps, { room, event: 'leave', user, region: deps.region });
  }
};

/** The `leave` route. */
export const handler = middy<WebSocketEvent, RouteResult>()
  .use(routeMiddlewares('leave'))
  .handler(async (event) => {
    await leave(handlerDeps(), callerOf(event), (event as ParsedEvent<LeaveFrame>).parley.frame);
    return OK;
  });
