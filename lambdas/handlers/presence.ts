/**
 * `presence {room, after?}`: one page of the room's members in every region (one entry per
 * `(user, region)`, at most 100, ordered by user), with `memberCount` and, when more follow, `next`
 * (see `members.ts`).
 */
import { type PresenceFrame, replyTo } from '../../protocol/index.js';
import { reply } from '../shared/delivery.js';
import type { HandlerDeps, RouteStore } from '../shared/deps.js';
import { type MemberPageStore, memberPage } from '../shared/members.js';
import { requireJoined } from '../shared/rooms.js';
import { defineRoute } from '../shared/route.js';
import {
  countPresent,
  isMember,
  lastSeenOf,
  presentMembers,
  removeConnection,
} from '../shared/store/index.js';
import type { Caller } from '../shared/websocket.js';

/** Answers a presence request. */
export const presence = async (
  deps: HandlerDeps<RouteStore<'isMember'> & MemberPageStore>,
  caller: Caller,
  frame: PresenceFrame,
): Promise<void> => {
  const { room } = frame;
  await requireJoined(deps, caller, room);
  const page = await memberPage(deps, room, frame.after);
  await reply(deps, caller.connectionId, replyTo(frame, { type: 'presence', room, ...page }));
};

/** The `presence` route. */
export const handler = defineRoute('presence', presence, {
  isMember,
  presentMembers,
  countPresent,
  lastSeenOf,
  removeConnection,
});
