/**
 * Room rules shared by the route handlers: who the caller is, whether it may use a room, the ack
 * of a send, and presence announcements to a room's members in this region.
 */

import { type PresenceReplyFrame, replyTo, type SendFrame } from '../../protocol/index.js';
import { type DeliveryDeps, deliverToRoom, reply } from './delivery.js';
import type { HandlerDeps, RouteStore } from './deps.js';
import { ForbiddenError, UnauthorizedError } from './errors.js';
import { roomAllowed } from './limits.js';
import type { Ack, StoreOf } from './store/index.js';
import type { Caller } from './websocket.js';

/**
 * The caller's user: from the authorizer context API Gateway passes on every route, else from the
 * connection item written on `$connect`.
 *
 * @throws UnauthorizedError when neither knows the connection.
 */
export const resolveUser = async (
  deps: { store: StoreOf<'getConnection'> },
  caller: Caller,
): Promise<string> => {
  if (caller.user !== undefined) return caller.user;
  const connection = await deps.store.getConnection(caller.connectionId);
  if (connection === undefined) throw new UnauthorizedError('unknown connection; reconnect');
  return connection.user;
};

/**
 * Refuses a caller whose token's `rooms` claim does not allow `room`.
 *
 * @throws ForbiddenError when no pattern matches.
 */
export const requireRoomAccess = (caller: Caller, room: string): void => {
  if (!roomAllowed(caller.rooms, room)) throw new ForbiddenError(`your token does not allow room ${room}`);
};

/**
 * Refuses a caller whose token does not allow `room`, or that has not joined it: what `send`,
 * `history` and `presence` require.
 *
 * @throws ForbiddenError when no pattern matches, or the connection is not a member.
 */
export const requireJoined = async (
  deps: { store: StoreOf<'isMember'> },
  caller: Caller,
  room: string,
): Promise<void> => {
  requireRoomAccess(caller, room);
  if (!(await deps.store.isMember(room, caller.connectionId))) {
    throw new ForbiddenError(`join room ${room} first`);
  }
};

/** Answers a send with its ack, the frame's `ref` echoed; whether the caller got it. */
export const replyAck = (deps: DeliveryDeps, caller: Caller, frame: SendFrame, ack: Ack): Promise<boolean> =>
  reply(deps, caller.connectionId, replyTo(frame, { type: 'ack', room: frame.room, id: frame.id, ...ack }));

/**
 * Sends a presence event to the room's members in this region, except `exceptConnectionId`.
 * Presence is best effort: failures are counted and queued like any delivery, never thrown.
 */
export const announcePresence = async (
  deps: HandlerDeps<RouteStore<'listMembers'>>,
  change: { room: string; event: 'join' | 'leave'; user: string; region: string },
  exceptConnectionId?: string,
): Promise<void> => {
  const members = await deps.store.listMembers(change.room, deps.region);
  const targets = members.map((member) => member.connectionId).filter((id) => id !== exceptConnectionId);
  if (targets.length === 0) return;
  const frame: PresenceReplyFrame = { type: 'presence', ...change };
  await deliverToRoom(deps, frame, targets, { inlineMax: deps.config.fanoutInlineMax, queueFailures: true });
};
