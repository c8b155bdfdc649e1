/**
 * Parley wire protocol v1: the schemas are the single source of the protocol's types, shared by
 * the Lambda handlers, the local stack and the client SDK. The contract is `PROTOCOL.md`; this file
 * must accept everything it allows and refuse everything it forbids.
 *
 * This module has no Node-only imports so the browser SDK can use it.
 *
 * @example
 * ```ts
 * const parsed = parseClientFrame('{"action":"ping"}', 16_384);
 * if (!parsed.ok) return errorFrame(parsed.error);
 * ```
 */
// zod/mini, not classic zod: the same validation core without the chainable methods, so every Lambda
// bundle (and the web page) carries about 70 KB less. A namespace import, so bundlers can drop the
// parts of zod this file does not use.
import * as z from 'zod/mini';
// The English messages alone (the `z.locales` namespace would bundle every language).
import en from 'zod/v4/locales/en.js';

// zod/mini has no locale of its own: without this, every default message would be "Invalid input",
// and the `bad_request` messages built from them (e.g. "limit: Too big: expected number to be <=100")
// would change. The setting is global to zod and is what classic zod sets when it loads, so code
// that also uses classic zod (the local stack) sees no difference. Kept by bundlers: this module
// is ours, not a side-effect-free package.
z.config(en());

/** Room names: `^[A-Za-z0-9_.:-]{1,128}$`. */
export const ROOM_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
/** Message ids (client-chosen idempotency keys): `^[A-Za-z0-9_.:-]{1,64}$`. */
export const MESSAGE_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
/** Default maximum serialized size of a message body (a deploy-time setting). */
export const DEFAULT_MAX_BODY_BYTES = 16_384;
/** API Gateway's own WebSocket frame limit. */
export const API_GATEWAY_MAX_FRAME_BYTES = 32_768;
/** Longest `ref` a client may attach to a frame. */
export const MAX_REF_LENGTH = 64;
/** History page size bounds and default. */
export const HISTORY_LIMIT_MAX = 100;
export const HISTORY_LIMIT_DEFAULT = 50;

/** The protocol's error codes, in the order `PROTOCOL.md` lists them. */
export const ERROR_CODES = [
  'bad_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'payload_too_large',
  'rate_limited',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** The client actions, each with an API Gateway route of the same name. */
export const CLIENT_ACTIONS = ['join', 'leave', 'send', 'history', 'presence', 'ping'] as const;
export type ClientAction = (typeof CLIENT_ACTIONS)[number];

export const roomSchema = z.string().check(z.regex(ROOM_PATTERN, 'room must match ^[A-Za-z0-9_.:-]{1,128}$'));
export const messageIdSchema = z
  .string()
  .check(z.regex(MESSAGE_ID_PATTERN, 'id must match ^[A-Za-z0-9_.:-]{1,64}$'));
export const refSchema = z
  .string()
  .check(z.maxLength(MAX_REF_LENGTH, `ref must be at most ${MAX_REF_LENGTH} characters`));
/** An origin is a region name, or `global` in strong mode. */
export const originSchema = z
  .string()
  .check(z.regex(/^[a-z0-9-]{1,32}$/, 'origin must be a region name or "global"'));
/** A cursor: the highest seq seen per origin. */
export const cursorSchema = z.record(originSchema, z.number().check(z.int(), z.nonnegative()));
export type Cursor = z.infer<typeof cursorSchema>;

/**
 * Any JSON value (a message body). Size is checked separately, on the serialized form. Every value
 * checked comes from `JSON.parse`, so it has no reference cycles (classic zod tracks them, zod/mini
 * does not: a cyclic object would overflow the stack here).
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export const jsonValueSchema: z.ZodMiniType<JsonValue> = z.lazy(() =>
  z.union([
    z.string(),
    z.number(),
    z.boolean(),
    z.null(),
    z.array(jsonValueSchema),
    z.record(z.string(), jsonValueSchema),
  ]),
);

const base = { ref: z.optional(refSchema) };

export const joinFrameSchema = z.object({
  ...base,
  action: z.literal('join'),
  room: roomSchema,
  since: z.optional(cursorSchema),
});
export const leaveFrameSchema = z.object({ ...base, action: z.literal('leave'), room: roomSchema });
export const sendFrameSchema = z.object({
  ...base,
  action: z.literal('send'),
  room: roomSchema,
  id: messageIdSchema,
  body: jsonValueSchema,
});
export const historyFrameSchema = z.object({
  ...base,
  action: z.literal('history'),
  room: roomSchema,
  limit: z.optional(z.number().check(z.int(), z.minimum(1), z.maximum(HISTORY_LIMIT_MAX))),
  before: z.optional(z.number().check(z.int(), z.nonnegative())),
});
export const presenceFrameSchema = z.object({ ...base, action: z.literal('presence'), room: roomSchema });
export const pingFrameSchema = z.object({ ...base, action: z.literal('ping') });

export const clientFrameSchema = z.discriminatedUnion('action', [
  joinFrameSchema,
  leaveFrameSchema,
  sendFrameSchema,
  historyFrameSchema,
  presenceFrameSchema,
  pingFrameSchema,
]);

export type JoinFrame = z.infer<typeof joinFrameSchema>;
export type LeaveFrame = z.infer<typeof leaveFrameSchema>;
export type SendFrame = z.infer<typeof sendFrameSchema>;
export type HistoryFrame = z.infer<typeof historyFrameSchema>;
export type PresenceFrame = z.infer<typeof presenceFrameSchema>;
export type PingFrame = z.infer<typeof pingFrameSchema>;
export type ClientFrame = z.infer<typeof clientFrameSchema>;

/** A stored message as it goes to clients. */
export const messageSchema = z.object({
  type: z.literal('message'),
  room: roomSchema,
  id: messageIdSchema,
  origin: originSchema,
  seq: z.number().check(z.int(), z.positive()),
  from: z.string().check(z.minLength(1), z.maxLength(128)),
  body: jsonValueSchema,
  ts: z.number().check(z.int(), z.nonnegative()),
});
export type MessageFrame = z.infer<typeof messageSchema>;

export const memberSchema = z.object({ user: z.string(), region: z.string() });
export type Member = z.infer<typeof memberSchema>;

export const serverFrameSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('joined'),
    ref: z.optional(refSchema),
    room: roomSchema,
    cursor: cursorSchema,
    members: z.array(memberSchema),
    /** Optional: the region that accepted this connection (lets a client show where it landed). */
    region: z.optional(z.string()),
  }),
  z.object({ type: z.literal('left'), ref: z.optional(refSchema), room: roomSchema }),
  z.object({
    type: z.literal('ack'),
    ref: z.optional(refSchema),
    room: roomSchema,
    id: messageIdSchema,
    origin: originSchema,
    seq: z.number().check(z.int(), z.positive()),
    ts: z.number().check(z.int(), z.nonnegative()),
  }),
  z.object({
    type: z.literal('history'),
    ref: z.optional(refSchema),
    room: roomSchema,
    messages: z.array(messageSchema),
  }),
  z.object({
    type: z.literal('presence'),
    ref: z.optional(refSchema),
    room: roomSchema,
    members: z.optional(z.array(memberSchema)),
    event: z.optional(z.enum(['join', 'leave'])),
    user: z.optional(z.string()),
    region: z.optional(z.string()),
  }),
  z.object({ type: z.literal('pong'), ref: z.optional(refSchema), ts: z.number().check(z.int()) }),
  messageSchema,
  z.object({
    type: z.literal('error'),
    code: z.enum(ERROR_CODES),
    message: z.string(),
    ref: z.optional(refSchema),
    action: z.optional(z.string()),
  }),
]);
export type ServerFrame = z.infer<typeof serverFrameSchema>;
export type JoinedFrame = Extract<ServerFrame, { type: 'joined' }>;
export type LeftFrame = Extract<ServerFrame, { type: 'left' }>;
export type AckFrame = Extract<ServerFrame, { type: 'ack' }>;
export type HistoryReplyFrame = Extract<ServerFrame, { type: 'history' }>;
export type PresenceReplyFrame = Extract<ServerFrame, { type: 'presence' }>;
export type PongFrame = Extract<ServerFrame, { type: 'pong' }>;
export type ErrorFrame = Extract<ServerFrame, { type: 'error' }>;

/** A protocol error: what a handler answers instead of throwing. */
export interface ProtocolError {
  code: ErrorCode;
  message: string;
  ref?: string;
  action?: string;
}

/** Byte length of a string as UTF-8, without Node's Buffer (browser-safe). */
export const utf8Length = (text: string): number => new TextEncoder().encode(text).length;

/** The result of parsing a client frame: a valid frame, or the error frame to answer with. */
export type ParseResult = { ok: true; frame: ClientFrame } | { ok: false; error: ProtocolError };

const pickString = (value: unknown, key: string, max: number): string | undefined => {
  if (typeof value !== 'object' || value === null) return undefined;
  const field = (value as Record<string, unknown>)[key];
  return typeof field === 'string' && field.length <= max ? field : undefined;
};

/**
 * Parses and validates one client frame (the raw text of a WebSocket frame).
 *
 * Errors: not JSON or not an object, an unknown action, or a field out of bounds give
 * `bad_request`; a `send` whose serialized body exceeds `maxBodyBytes` gives `payload_too_large`.
 * The error echoes `ref` and `action` when they can be read from the frame.
 */
export const parseClientFrame = (raw: string | null | undefined, maxBodyBytes: number): ParseResult => {
  let value: unknown;
  try {
    value = JSON.parse(raw ?? '');
  } catch {
    return { ok: false, error: { code: 'bad_request', message: 'frame is not valid JSON' } };
  }
  const ref = pickString(value, 'ref', MAX_REF_LENGTH);
  const action = pickString(value, 'action', 64);
  const fail = (code: ErrorCode, message: string): ParseResult => ({
    ok: false,
    error: {
      code,
      message,
      ...(ref !== undefined ? { ref } : {}),
      ...(action !== undefined ? { action } : {}),
    },
  });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail('bad_request', 'frame must be a JSON object');
  }
  if (action === undefined || !(CLIENT_ACTIONS as readonly string[]).includes(action)) {
    return fail('bad_request', `unknown action; expected one of ${CLIENT_ACTIONS.join(', ')}`);
  }
  if (action === 'send' && 'body' in value) {
    const size = utf8Length(JSON.stringify((value as { body: unknown }).body) ?? '');
    if (size > maxBodyBytes) {
      return fail('payload_too_large', `body is ${size} bytes; the limit is ${maxBodyBytes}`);
    }
  }
  const parsed = clientFrameSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    return fail('bad_request', `${where}${issue?.message ?? 'invalid frame'}`);
  }
  return { ok: true, frame: parsed.data };
};

/** Builds an `error` frame from a protocol error. */
export const errorFrame = (error: ProtocolError): ErrorFrame => ({
  type: 'error',
  code: error.code,
  message: error.message,
  ...(error.ref !== undefined ? { ref: error.ref } : {}),
  ...(error.action !== undefined ? { action: error.action } : {}),
});
