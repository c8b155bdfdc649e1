/**
 * The fan-out logic of a region's replica stream, shared by the `fanout` handler and the stream
 * DLQ redrive. Replicated writes appear in every replica's stream, so each region delivers the
 * messages and membership changes that originated in the *other* regions to its own members;
 * its own are delivered by the send path and the route handlers.
 */

import type { PresenceReplyFrame } from '../../protocol/index.js';
import { deliverToRoom } from './delivery.js';
import type { HandlerDeps, RouteStore } from './deps.js';
import { logger } from './logger.js';
import { TimingName, timing } from './metrics.js';
import { readChange, type StreamRecordLike, toMessageFrame } from './store/index.js';

/** The store methods the fan-out calls. */
export type FanoutStore = RouteStore<'listMembers'>;

/** What the fan-out did with one record (for logs and tests). */
export type FanoutAction = 'message' | 'presence-join' | 'presence-leave' | 'ignored';

/**
 * Handles one stream record: an INSERT of a message item accepted in another region is delivered
 * to this region's members; an INSERT or REMOVE (a TTL expiry included) of another region's
 * membership becomes a presence join or leave. Everything else is ignored.
 *
 * @throws Error when some members could be neither reached nor queued, so the event source
 *   mapping retries the record (and bisects the batch).
 */
export const processStreamRecord = async (
  deps: HandlerDeps<FanoutStore>,
  record: StreamRecordLike,
): Promise<FanoutAction> => {
  const change = readChange(record);
  if (change === undefined || change.region === deps.region) return 'ignored';
  const { room, region } = change;
  let action: FanoutAction;
  let frame: ReturnType<typeof toMessageFrame> | PresenceReplyFrame;
  if (change.kind === 'message') {
    action = 'message';
    frame = toMessageFrame(change.message);
  } else {
    action = change.event === 'join' ? 'presence-join' : 'presence-leave';
    frame = { type: 'presence', room, event: change.event, user: change.user, region };
  }

  const members = await deps.store.listMembers(room, deps.region);
  const report = await deliverToRoom(
    deps,
    frame,
    members.map((member) => member.connectionId),
    { inlineMax: deps.config.fanoutInlineMax, queueFailures: false },
  );
  const undelivered = report.throttled.length + report.failed.length;
  if (undelivered > 0) {
    logger.warn('fan-out record not fully delivered', { room, action, undelivered });
    throw new Error(`${undelivered} connection(s) of room ${room} could not be reached`);
  }
  if (change.kind === 'message' && report.delivered.length > 0) {
    timing(TimingName.FanoutLatency, deps.now() - Number(change.message.ts));
  }
  return action;
};
