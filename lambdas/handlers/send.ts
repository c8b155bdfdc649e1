/**
 * `send {room, id, body}`: stores the message once per `(room, id)` with a gap-free seq per origin
 * (see `docs/data-model.md`), answers `ack {room, id, origin, seq, ts}`, and delivers the message
 * to the room's members in this region, the sender's own connection included. Other regions
 * deliver it from their replica's stream. A repeated id gets the first ack and nothing is
 * delivered again. The send rate limit (`sendRatePerSecond`, `sendBurst`) is taken by
 * `defineRoute` before anything else, so a refused send reads and stores nothing.
 */
import type { SendFrame } from '../../protocol/index.js';
import { deliverToRoom } from '../shared/delivery.js';
import type { HandlerDeps, RouteStore } from '../shared/deps.js';
import { count, MetricName } from '../shared/metrics.js';
import { replyAck, requireJoined, resolveUser } from '../shared/rooms.js';
import { defineRoute } from '../shared/route.js';
import {
  getConnection,
  isMember,
  listMembers,
  removeConnection,
  type SendOutcome,
  storeMessage,
  toMessageFrame,
} from '../shared/store/index.js';
import type { Caller } from '../shared/websocket.js';

/** The store methods `send` calls. */
type SendStore = RouteStore<'isMember' | 'getConnection' | 'storeMessage' | 'listMembers'>;

/** Stores and delivers one message; returns the outcome (for tests and the local stack). */
export const send = async (
  deps: HandlerDeps<SendStore>,
  caller: Caller,
  frame: SendFrame,
): Promise<SendOutcome> => {
  const { room, id } = frame;
  await requireJoined(deps, caller, room);
  const from = await resolveUser(deps, caller);
  const outcome = await deps.store.storeMessage(
    { room, id, from, body: frame.body, region: deps.region },
    { consistency: deps.config.consistency, retentionDays: deps.config.retentionDays, now: deps.now },
  );
  await replyAck(deps, caller, frame, outcome.ack);
  if (outcome.duplicate) {
    count(MetricName.DuplicateSends);
    return outcome;
  }
  count(MetricName.MessagesAccepted);
  const members = await deps.store.listMembers(room, deps.region);
  await deliverToRoom(
    deps,
    toMessageFrame(outcome.message),
    members.map((member) => member.connectionId),
    { inlineMax: deps.config.fanoutInlineMax, queueFailures: true },
  );
  return outcome;
};

/** The `send` route. */
export const handler = defineRoute('send', send, {
  isMember,
  getConnection,
  storeMessage,
  listMembers,
  removeConnection,
});
