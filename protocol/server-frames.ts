/**
 * What the server sends: one schema per frame type, keyed by the type, so the list of types and
 * the union come from one place.
 */
import type { ProtocolError } from './errors.js';
import { MAX_USER_LENGTH } from './names.js';
import {
  cursorSchema,
  jsonValueSchema,
  messageIdSchema,
  originSchema,
  refField,
  roomSchema,
  z,
} from './schema.js';

/** A stored message as it goes to clients. */
export const messageSchema = z.object({
  type: z.literal('message'),
  room: roomSchema,
  id: messageIdSchema,
  origin: originSchema,
  seq: z.number().check(z.int(), z.positive()),
  from: z.string().check(z.minLength(1), z.maxLength(MAX_USER_LENGTH)),
  body: jsonValueSchema,
  ts: z.number().check(z.int(), z.nonnegative()),
});
export type MessageFrame = z.infer<typeof messageSchema>;

export const memberSchema = z.object({ user: z.string(), region: z.string() });
export type Member = z.infer<typeof memberSchema>;

/** Every server frame's schema, by its type. */
export const SERVER_FRAME_SCHEMAS = {
  joined: z.object({
    type: z.literal('joined'),
    ...refField,
    room: roomSchema,
    cursor: cursorSchema,
    members: z.array(memberSchema),
    /** The room's members, of which `members` lists at most 100 (v1.1; absent from v1 servers). */
    memberCount: z.optional(z.number().check(z.int(), z.nonnegative())),
    /** More missed messages than one join replays: join again with the advanced cursor (v1.1). */
    more: z.optional(z.boolean()),
    /** Optional: the region that accepted this connection (lets a client show where it landed). */
    region: z.optional(z.string()),
  }),
  left: z.object({ type: z.literal('left'), ...refField, room: roomSchema }),
  ack: z.object({
    type: z.literal('ack'),
    ...refField,
    room: roomSchema,
    id: messageIdSchema,
    origin: originSchema,
    seq: z.number().check(z.int(), z.positive()),
    ts: z.number().check(z.int(), z.nonnegative()),
  }),
  history: z.object({
    type: z.literal('history'),
    ...refField,
    room: roomSchema,
    messages: z.array(messageSchema),
  }),
  presence: z.object({
    type: z.literal('presence'),
    ...refField,
    room: roomSchema,
    members: z.optional(z.array(memberSchema)),
    /** The room's members, of which `members` lists at most 100 (v1.1). */
    memberCount: z.optional(z.number().check(z.int(), z.nonnegative())),
    /** Opaque: `presence {room, after: next}` returns the next page (v1.1). */
    next: z.optional(z.string()),
    event: z.optional(z.enum(['join', 'leave'])),
    user: z.optional(z.string()),
    region: z.optional(z.string()),
  }),
  pong: z.object({ type: z.literal('pong'), ...refField, ts: z.number().check(z.int()) }),
  message: messageSchema,
  error: z.object({
    type: z.literal('error'),
    // Any string: codes may be added, and a client treats one it does not know as not retryable.
    // The server sends only ERROR_CODES.
    code: z.string(),
    message: z.string(),
    ...refField,
    action: z.optional(z.string()),
  }),
} as const;

/** A server frame type. */
export type ServerFrameType = keyof typeof SERVER_FRAME_SCHEMAS;
/** The server frame types. */
export const SERVER_FRAME_TYPES = Object.keys(SERVER_FRAME_SCHEMAS) as readonly ServerFrameType[];

export const serverFrameSchema = z.discriminatedUnion('type', [
  SERVER_FRAME_SCHEMAS.joined,
  SERVER_FRAME_SCHEMAS.left,
  SERVER_FRAME_SCHEMAS.ack,
  SERVER_FRAME_SCHEMAS.history,
  SERVER_FRAME_SCHEMAS.presence,
  SERVER_FRAME_SCHEMAS.pong,
  SERVER_FRAME_SCHEMAS.message,
  SERVER_FRAME_SCHEMAS.error,
]);
export type ServerFrame = z.infer<typeof serverFrameSchema>;
/** The frame of one type. */
export type ServerFrameOf<T extends ServerFrameType> = Extract<ServerFrame, { type: T }>;
export type JoinedFrame = ServerFrameOf<'joined'>;
export type LeftFrame = ServerFrameOf<'left'>;
export type AckFrame = ServerFrameOf<'ack'>;
export type HistoryReplyFrame = ServerFrameOf<'history'>;
export type PresenceReplyFrame = ServerFrameOf<'presence'>;
export type PongFrame = ServerFrameOf<'pong'>;
export type ErrorFrame = ServerFrameOf<'error'>;

/** Whether `type` is a server frame type. */
export const isServerFrameType = (type: string): type is ServerFrameType =>
  Object.hasOwn(SERVER_FRAME_SCHEMAS, type);

/**
 * The direct reply to a client frame: `reply`, with the frame's `ref` echoed when it had one, so a
 * client can match replies to requests.
 *
 * @example
 * ```ts
 * await send(connectionId, replyTo(frame, { type: 'left', room: frame.room }));
 * ```
 */
export const replyTo = <R extends ServerFrame>(request: { ref?: string | undefined }, reply: R): R =>
  request.ref === undefined ? reply : { ...reply, ref: request.ref };

/** Builds an `error` frame from a protocol error. */
export const errorFrame = (error: ProtocolError): ErrorFrame => ({
  type: 'error',
  code: error.code,
  message: error.message,
  ...(error.ref !== undefined ? { ref: error.ref } : {}),
  ...(error.action !== undefined ? { action: error.action } : {}),
});
