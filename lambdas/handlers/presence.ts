/** `presence {room}`: the room's members in every region, one entry per (user, region). */
import { type PresenceFrame, replyTo } from '../../protocol/index.js';
import { reply } from '../shared/delivery.js';
import type { HandlerDeps, RouteStore } from '../shared/deps.js';
import { liveMembers } from '../shared/liveness.js';
import { requireJoined } from '../shared/rooms.js';
import { defineRoute } from '../shared/route.js';
import { isMember, lastSeenOf, listMembers, presenceOf, removeConnection } from '../shared/store/index.js';
import type { Caller } from '../shared/websocket.js';

/** Answers a presence request. */
export const presence = async (
  deps: HandlerDeps<RouteStore<'isMember' | 'listMembers' | 'lastSeenOf'>>,
  caller: Caller,
  frame: PresenceFrame,
): Promise<void> => {
  const { room } = frame;
  await requireJoined(deps, caller, room);
  const members = await deps.store.listMembers(room);
  await reply(
    deps,
    caller.connectionId,
    replyTo(frame, {
      type: 'presence',
      room,
      members: presenceOf(await liveMembers(deps, members)),
    }),
  );
};

/** The `presence` route. */
export const handler = defineRoute('presence', presence, {
  isMember,
  listMembers,
  lastSeenOf,
  removeConnection,
});
