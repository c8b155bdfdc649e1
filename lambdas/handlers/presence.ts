/** `presence {room}`: the room's members in every region, one entry per (user, region). */
import middy from '@middy/core';
import { reply } from '../shared/delivery.js';
import { type HandlerDeps, handlerDeps } from '../shared/deps.js';
import { liveMembers } from '../shared/liveness.js';
import type { PresenceFrame } from '../shared/protocol.js';
import { listMembers, presenceOf } from '../shared/repository.js';
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

/** Answers a presence request. */
export const presence = async (deps: HandlerDeps, caller: Caller, frame: PresenceFrame): Promise<void> => {
  const { room } = frame;
  requireRoomAccess(caller, room);
  await requireMember(deps, room, caller.connectionId);
  const members = await listMembers(deps.db, room);
  await reply(deps, caller.connectionId, {
    type: 'presence',
    ...(frame.ref !== undefined ? { ref: frame.ref } : {}),
    room,
    members: presenceOf(await liveMembers(deps, members)),
  });
};

/** The `presence` route. */
export const handler = middy<WebSocketEvent, RouteResult>()
  .use(routeMiddlewares('presence'))
  .handler(async (event) => {
    await presence(handlerDeps(), callerOf(event), (event as ParsedEvent<PresenceFrame>).parley.frame);
    return OK;
  });
