/**
 * Reading what the server sends: one WebSocket message, decoded and checked against the protocol's
 * schema before anything in the client acts on it. Nothing here throws, whatever the data: a
 * frame that cannot be read is answered as an error (PROTOCOL.md, "Limits", "Nesting").
 *
 * @example
 * ```ts
 * decodeServerFrame('{"type":"pong","ref":"r1","ts":1}'); // { frame: { type: 'pong', ref: 'r1', ts: 1 } }
 * decodeServerFrame('not json'); // { error: ProtocolViolationError }
 * decodeServerFrame('{"type":"shiny-new-frame"}'); // undefined: ignored
 * ```
 */
import {
  deeperThan,
  isServerFrameType,
  MAX_BODY_DEPTH,
  messageSchema,
  type ServerFrame,
  serverFrameSchema,
} from '../protocol/index.js';
import { ProtocolViolationError, reasonOf } from './errors.js';

/**
 * The deepest frame worth handing to the schema: a history reply nests a body three levels down
 * (the frame, its `messages`, a message), so a body of {@link MAX_BODY_DEPTH} fits. The schema
 * checks JSON values by recursion, and a frame nested thousands deep would overflow the stack.
 */
export const MAX_FRAME_DEPTH = MAX_BODY_DEPTH + 3;

/** Where a message stands in its room's sequence. */
export interface MessagePlace {
  room: string;
  origin: string;
  seq: number;
}

/** A frame this client cannot read, and what could still be read of it. */
export interface Unreadable {
  error: ProtocolViolationError;
  /** The frame's `ref`, when it had a string one: the request it answers need not wait for its timeout. */
  ref?: string;
  /** For a `message` whose room, origin and seq could be read: its place, which the cursor moves past. */
  skipped?: MessagePlace;
}

/** A decoded frame, or why the data cannot be read. */
export type Decoded = { frame: ServerFrame } | Unreadable;

/**
 * Decodes a WebSocket message's data (text, or UTF-8 in an `ArrayBuffer` or a view of one, such as
 * Node's `Buffer`). Returns undefined for a frame of a type this client does not know: newer
 * servers may add frame types. Never throws.
 */
export const decodeServerFrame = (data: unknown): Decoded | undefined => {
  let text: string;
  try {
    text = textOf(data);
  } catch (error) {
    return {
      error: new ProtocolViolationError(`the server sent a frame that is not text: ${reasonOf(error)}`),
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { error: new ProtocolViolationError('the server sent a frame that is not JSON') };
  }
  try {
    return check(value);
  } catch (error) {
    // The checks below are not expected to throw; if one does, the frame is still only unreadable.
    return {
      error: new ProtocolViolationError(`the server sent a frame that could not be read: ${reasonOf(error)}`),
    };
  }
};

const textOf = (data: unknown): string => {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return new TextDecoder().decode(data);
  // Anything else is turned into text the way the platform would, which may throw.
  return String(data);
};

/** Checks a parsed frame: its depth first (without recursion), then the schema. */
const check = (value: unknown): Decoded | undefined => {
  if (typeof value !== 'object' || value === null) return undefined;
  const fields = value as Record<string, unknown>;
  const type = fields.type;
  if (typeof type !== 'string' || !isServerFrameType(type)) return undefined;
  const ref = typeof fields.ref === 'string' ? { ref: fields.ref } : {};
  const unreadable = (reason: string): Unreadable => {
    const skipped = type === 'message' ? placeOf(fields) : undefined;
    if (skipped === undefined) {
      return { error: new ProtocolViolationError(`invalid ${type} frame: ${reason}`, ref), ...ref };
    }
    const { room, origin, seq } = skipped;
    const error = new ProtocolViolationError(
      `skipped message ${origin}:${seq} of ${room}, which this client cannot read (${reason}); it is not delivered, and the room's cursor moves past it`,
      { room, ...ref },
    );
    return { error, skipped, ...ref };
  };
  if (type === 'message' && deeperThan(fields.body, MAX_BODY_DEPTH)) {
    return unreadable(`body is nested deeper than ${MAX_BODY_DEPTH}`);
  }
  if (deeperThan(value, MAX_FRAME_DEPTH)) return unreadable(`nested deeper than ${MAX_FRAME_DEPTH}`);
  const parsed = serverFrameSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return unreadable(`${issue?.path.join('.')} ${issue?.message ?? ''}`.trim());
  }
  return { frame: parsed.data };
};

/** A message's room, origin and seq, if each is well formed: enough to move its room's cursor. */
const placeOf = (fields: Record<string, unknown>): MessagePlace | undefined => {
  const { shape } = messageSchema;
  const room = shape.room.safeParse(fields.room);
  const origin = shape.origin.safeParse(fields.origin);
  const seq = shape.seq.safeParse(fields.seq);
  if (!room.success || !origin.success || !seq.success) return undefined;
  return { room: room.data, origin: origin.data, seq: seq.data };
};
