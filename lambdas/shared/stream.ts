/**
 * The fan-out logic of a region's replica stream, shared by the `fanout` handler and the stream
 * DLQ redrive. Replicated writes appear in every replica's stream, so each region delivers the
 * messages and membership changes that originated in the *other* regions to its own members;
 * its own are delivered by the send path and the route handlers.
 */

import type { PresenceReplyFrame } from '../../protocol/index.js';
import { deliverToRoom } from './delivery.js';
import type { HandlerDeps } from './deps.js';
import { logger } from './logger.js';
import { TimingName, timing } from './metrics.js';
import { listMembers, type MessageItem, toMessageFrame } from './repository.js';

/** A DynamoDB attribute value as stream records carry it (Lambda events and `GetRecords` alike). */
export interface StreamAttributeValue {
  S?: string;
  N?: string;
  BOOL?: boolean;
  NULL?: boolean;
  M?: Record<string, StreamAttributeValue>;
  L?: StreamAttributeValue[];
  SS?: string[];
  NS?: string[];
}

/** The part of a DynamoDB stream record the fan-out reads. */
export interface StreamRecordLike {
  eventName?: 'INSERT' | 'MODIFY' | 'REMOVE' | string;
  dynamodb?: {
    NewImage?: Record<string, StreamAttributeValue>;
    OldImage?: Record<string, StreamAttributeValue>;
    SequenceNumber?: string;
  };
  userIdentity?: { type?: string; principalId?: string } | null;
}

const unmarshallValue = (value: StreamAttributeValue): unknown => {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return Number(value.N);
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.NULL !== undefined) return null;
  if (value.M !== undefined) return unmarshallImage(value.M);
  if (value.L !== undefined) return value.L.map(unmarshallValue);
  if (value.SS !== undefined) return [...value.SS];
  if (value.NS !== undefined) return value.NS.map(Number);
  return undefined;
};

/**
 * Turns a stream image into a plain object. Parley's items only hold strings and numbers; the
 * other types are handled for completeness (binary is not used and is dropped).
 */
export const unmarshallImage = (image: Record<string, StreamAttributeValue>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(image).map(([key, value]) => [key, unmarshallValue(value)]));

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
  deps: HandlerDeps,
  record: StreamRecordLike,
): Promise<FanoutAction> => {
  const image =
    record.eventName === 'REMOVE'
      ? record.dynamodb?.OldImage
      : record.eventName === 'INSERT'
        ? record.dynamodb?.NewImage
        : undefined;
  if (image === undefined) return 'ignored';
  const item = unmarshallImage(image);
  const sk = typeof item.sk === 'string' ? item.sk : '';
  const room = typeof item.room === 'string' ? item.room : undefined;
  const region = typeof item.region === 'string' ? item.region : undefined;
  if (room === undefined || region === undefined || region === deps.region) return 'ignored';

  let action: FanoutAction;
  let frame: ReturnType<typeof toMessageFrame> | PresenceReplyFrame;
  if (record.eventName === 'INSERT' && sk.startsWith('MSG#')) {
    action = 'message';
    frame = toMessageFrame(item as unknown as MessageItem);
  } else if (sk.startsWith('MEMBER#') && typeof item.user === 'string') {
    const event = record.eventName === 'INSERT' ? 'join' : 'leave';
    action = event === 'join' ? 'presence-join' : 'presence-leave';
    frame = { type: 'presence', room, event, user: item.user, region };
  } else {
    return 'ignored';
  }

  const members = await listMembers(deps.db, room, deps.region);
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
  if (action === 'message' && report.delivered.length > 0) {
    timing(TimingName.FanoutLatency, deps.now() - Number(item.ts));
  }
  return action;
};
