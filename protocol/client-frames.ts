/**
 * What clients send: one schema per action, keyed by the action, so the list of actions, each
 * route's frame type and the union all come from one place.
 */
import type { ErrorCode, ProtocolError } from './errors.js';
import {
  deeperThan,
  HISTORY_LIMIT_MAX,
  MAX_BODY_DEPTH,
  MAX_PAGE_TOKEN_LENGTH,
  MAX_REF_LENGTH,
  utf8Length,
} from './limits.js';
import { jsonValueSchema, messageIdSchema, refField, roomSchema, sinceSchema, z } from './schema.js';

export const joinFrameSchema = z.object({
  ...refField,
  action: z.literal('join'),
  room: roomSchema,
  since: z.optional(sinceSchema),
});
export const leaveFrameSchema = z.object({ ...refField, action: z.literal('leave'), room: roomSchema });
export const sendFrameSchema = z.object({
  ...refField,
  action: z.literal('send'),
  room: roomSchema,
  id: messageIdSchema,
  body: jsonValueSchema,
});
export const historyFrameSchema = z.object({
  ...refField,
  action: z.literal('history'),
  room: roomSchema,
  limit: z.optional(z.number().check(z.int(), z.minimum(1), z.maximum(HISTORY_LIMIT_MAX))),
  before: z.optional(z.number().check(z.int(), z.nonnegative())),
});
export const presenceFrameSchema = z.object({
  ...refField,
  action: z.literal('presence'),
  room: roomSchema,
  /** The `next` of the previous page (v1.1): opaque to the client. */
  after: z.optional(z.string().check(z.minLength(1), z.maxLength(MAX_PAGE_TOKEN_LENGTH))),
});
export const pingFrameSchema = z.object({ ...refField, action: z.literal('ping') });

/** Every client frame's schema, by its action (each action has an API Gateway route of its name). */
export const CLIENT_FRAME_SCHEMAS = {
  join: joinFrameSchema,
  leave: leaveFrameSchema,
  send: sendFrameSchema,
  history: historyFrameSchema,
  presence: presenceFrameSchema,
  ping: pingFrameSchema,
} as const;

/** A client action. */
export type ClientAction = keyof typeof CLIENT_FRAME_SCHEMAS;
/** The client actions, in the order `docs/protocol.md` lists them. */
export const CLIENT_ACTIONS = Object.keys(CLIENT_FRAME_SCHEMAS) as readonly ClientAction[];
/** The frame of one action. */
export type ClientFrameOf<A extends ClientAction> = z.infer<(typeof CLIENT_FRAME_SCHEMAS)[A]>;

export const clientFrameSchema = z.discriminatedUnion('action', [
  joinFrameSchema,
  leaveFrameSchema,
  sendFrameSchema,
  historyFrameSchema,
  presenceFrameSchema,
  pingFrameSchema,
]);

export type JoinFrame = ClientFrameOf<'join'>;
export type LeaveFrame = ClientFrameOf<'leave'>;
export type SendFrame = ClientFrameOf<'send'>;
export type HistoryFrame = ClientFrameOf<'history'>;
export type PresenceFrame = ClientFrameOf<'presence'>;
export type PingFrame = ClientFrameOf<'ping'>;
export type ClientFrame = z.infer<typeof clientFrameSchema>;

/** The result of parsing a client frame: a valid frame, or the error frame to answer with. */
export type ParseResult = { ok: true; frame: ClientFrame } | { ok: false; error: ProtocolError };

const pickString = (value: unknown, key: string, max: number): string | undefined => {
  if (typeof value !== 'object' || value === null) return undefined;
  const field = (value as Record<string, unknown>)[key];
  return typeof field === 'string' && field.length <= max ? field : undefined;
};

const isClientAction = (action: string): action is ClientAction =>
  Object.hasOwn(CLIENT_FRAME_SCHEMAS, action);

/**
 * Parses and validates one client frame (the raw text of a WebSocket frame).
 *
 * Errors: not JSON or not an object, an unknown action, or a field out of bounds give
 * `bad_request`; a `send` whose serialized body exceeds `maxBodyBytes` gives `payload_too_large`.
 * The error echoes `ref` and `action` when they can be read from the frame.
 *
 * @example
 * ```ts
 * const parsed = parseClientFrame('{"action":"ping"}', 16_384);
 * if (!parsed.ok) return errorFrame(parsed.error);
 * ```
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
  if (action === undefined || !isClientAction(action)) {
    return fail('bad_request', `unknown action; expected one of ${CLIENT_ACTIONS.join(', ')}`);
  }
  if (action === 'send' && 'body' in value) {
    const body = (value as { body: unknown }).body;
    // Before the schema, which validates a body recursively: a body nested thousands deep must be
    // refused without a recursion as deep.
    if (deeperThan(body, MAX_BODY_DEPTH)) {
      return fail('bad_request', `body is nested deeper than ${MAX_BODY_DEPTH}`);
    }
    const size = utf8Length(JSON.stringify(body) ?? '');
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
