/**
 * Reading what the server sends: one WebSocket message, decoded and checked against the protocol's
 * schema before anything in the client acts on it.
 *
 * @example
 * ```ts
 * decodeServerFrame('{"type":"pong","ref":"r1","ts":1}'); // { frame: { type: 'pong', ref: 'r1', ts: 1 } }
 * decodeServerFrame('not json'); // { error: ProtocolViolationError }
 * decodeServerFrame('{"type":"shiny-new-frame"}'); // undefined: ignored
 * ```
 */
import { isServerFrameType, type ServerFrame, serverFrameSchema } from '../protocol/index.js';
import { ProtocolViolationError } from './errors.js';

/** A decoded frame, or why the data breaks the protocol. */
export type Decoded = { frame: ServerFrame } | { error: ProtocolViolationError };

/**
 * Decodes a WebSocket message's data (text, or UTF-8 in an `ArrayBuffer`). Returns undefined for a
 * frame of a type this client does not know: newer servers may add frame types.
 */
export const decodeServerFrame = (data: unknown): Decoded | undefined => {
  const text =
    typeof data === 'string' ? data : data instanceof ArrayBuffer ? new TextDecoder().decode(data) : '';
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { error: new ProtocolViolationError('the server sent a frame that is not JSON') };
  }
  const type = (value as { type?: unknown } | null)?.type;
  if (typeof type !== 'string' || !isServerFrameType(type)) return undefined;
  const parsed = serverFrameSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const why = `${issue?.path.join('.')} ${issue?.message ?? ''}`;
    return { error: new ProtocolViolationError(`invalid ${type} frame: ${why}`.trim()) };
  }
  return { frame: parsed.data };
};
