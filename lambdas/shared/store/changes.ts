/**
 * The table's stream, read as changes: a replica stream record (a Lambda event's or a
 * `GetRecords` answer's) says which item was inserted or removed, in DynamoDB's attribute format;
 * this turns the records the fan-out acts on into messages and membership changes, so that
 * nothing outside the store reads an item's keys.
 *
 * @example
 * ```ts
 * const change = readChange(record);
 * if (change?.kind === 'message') deliver(toMessageFrame(change.message));
 * ```
 */
import { itemKind, type MessageItem } from './keys.js';

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

/** A change the fan-out acts on, with the region that wrote it. */
export type TableChange =
  | { kind: 'message'; room: string; region: string; message: MessageItem }
  | { kind: 'membership'; event: 'join' | 'leave'; room: string; region: string; user: string };

/**
 * What a stream record changed: a message item inserted, or a membership inserted (`join`) or
 * removed (`leave`, a TTL expiry included); `undefined` for anything else (modifications,
 * counters, claims, connections, items without a room and a region).
 */
export const readChange = (record: StreamRecordLike): TableChange | undefined => {
  const image =
    record.eventName === 'REMOVE'
      ? record.dynamodb?.OldImage
      : record.eventName === 'INSERT'
        ? record.dynamodb?.NewImage
        : undefined;
  if (image === undefined) return undefined;
  const item = unmarshallImage(image);
  const kind = itemKind(typeof item.sk === 'string' ? item.sk : '');
  const room = typeof item.room === 'string' ? item.room : undefined;
  const region = typeof item.region === 'string' ? item.region : undefined;
  if (room === undefined || region === undefined) return undefined;
  if (record.eventName === 'INSERT' && kind === 'message') {
    return { kind: 'message', room, region, message: item as unknown as MessageItem };
  }
  if (kind === 'member' && typeof item.user === 'string') {
    const event = record.eventName === 'INSERT' ? 'join' : 'leave';
    return { kind: 'membership', event, room, region, user: item.user };
  }
  return undefined;
};
