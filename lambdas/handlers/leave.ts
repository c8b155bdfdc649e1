/**
 * `leave {room}`: removes the membership, answers `left`, and tells the room's members in this
 * region. Leaving a room one is not in is answered `left` too (idempotent), silently.
 */
import { type LeaveFrame, replyTo } from '../../protocol/index.js';
import { reply } from '../shared/delivery.js';
import type { HandlerDeps, RouteStore } from '../shared/deps.js';
import { announcePresence, resolveUser } from '../shared/rooms.js';
import { defineRoute } from '../shared/route.js';
import { getConnection, listMembers, removeConnection, removeMembership } from '../shared/store/index.js';
import type { Caller } from '../shared/websocket.js';

/** Leaves a room. */
export const leave = async (
  deps: HandlerDeps<RouteStore<'removeMembership' | 'getConnection' | 'listMembers'>>,
  caller: Caller,
  frame: LeaveFrame,
): Promise<void> => {
  const { room } = frame;
  // Without the authorizer's user, the store reads it from the membership itself.
  const wasMember = await deps.store.removeMembership({
    room,
    connectionId: caller.connectionId,
    region: deps.region,
    user: caller.user,
  });
  await reply(
    deps,
    caller.connectionId,
    replyTo(frame, {
      type: 'left',
      room,
    }),
  );
  if (wasMember) {
    const user = await resolveUser(deps, caller);
    await announcePresence(deps, { room, event: 'leave', user, region: deps.region });
  }
};

/** The `leave` route. */
export const handler = defineRoute('leave', leave, {
  removeMembership,
  getConnection,
  listMembers,
  removeConnection,
});
