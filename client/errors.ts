/**
 * Typed errors of the client SDK: one class per protocol error code (`PROTOCOL.md`), plus the
 * failures only a client can observe (a send never acknowledged, a request never answered, a
 * client closed while work was pending, a frame the server should not have sent).
 *
 * Every error extends {@link ParleyError} and carries its `code`, so callers can switch on
 * `error.code` or use `instanceof` on a subclass.
 *
 * @example
 * ```ts
 * try {
 *   await client.send('lobby', 'hi');
 * } catch (error) {
 *   if (error instanceof RateLimitedError) await sleep(1000);
 *   else if (error instanceof ParleyError) console.error(error.code, error.message);
 * }
 * ```
 */
import type { ErrorCode, ProtocolError } from '../protocol/index.js';

/** Error codes raised by the client itself, never sent by a server. */
export const CLIENT_ERROR_CODES = [
  'send_timeout',
  'request_timeout',
  'connection_closed',
  'protocol_violation',
] as const;
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

/**
 * Every code a {@link ParleyError} can carry: the protocol's codes, the client's own, and any code
 * a newer server sends (raised as {@link UnknownServerError}).
 */
export type ParleyErrorCode = ErrorCode | ClientErrorCode | (string & {});

/** Context an error may carry: the request it answers and what it was about. */
export interface ParleyErrorContext {
  /** The `ref` of the client frame this error answers. */
  ref?: string;
  /** The action of that frame (`send`, `join`, ...). */
  action?: string;
  /** The room concerned, when known. */
  room?: string;
  /** The message id concerned (sends), when known. */
  id?: string;
}

/** Base class of every error the SDK raises or emits. */
export class ParleyError extends Error {
  /** The protocol error code, or one of {@link CLIENT_ERROR_CODES}. */
  public readonly code: ParleyErrorCode;
  public readonly ref?: string;
  public readonly action?: string;
  public readonly room?: string;
  public readonly id?: string;

  public constructor(code: ParleyErrorCode, message: string, context: ParleyErrorContext = {}) {
    super(message);
    this.name = 'ParleyError';
    this.code = code;
    if (context.ref !== undefined) this.ref = context.ref;
    if (context.action !== undefined) this.action = context.action;
    if (context.room !== undefined) this.room = context.room;
    if (context.id !== undefined) this.id = context.id;
  }
}

/** `bad_request`: the frame was malformed or a field out of bounds; nothing changed. */
export class BadRequestError extends ParleyError {
  public constructor(message: string, context?: ParleyErrorContext) {
    super('bad_request', message, context);
    this.name = 'BadRequestError';
  }
}

/** `unauthorized`: the token is missing, invalid or expired. */
export class UnauthorizedError extends ParleyError {
  public constructor(message: string, context?: ParleyErrorContext) {
    super('unauthorized', message, context);
    this.name = 'UnauthorizedError';
  }
}

/** `forbidden`: e.g. a send, history or presence request for a room the connection has not joined. */
export class ForbiddenError extends ParleyError {
  public constructor(message: string, context?: ParleyErrorContext) {
    super('forbidden', message, context);
    this.name = 'ForbiddenError';
  }
}

/** `not_found`: the thing asked for does not exist. */
export class NotFoundError extends ParleyError {
  public constructor(message: string, context?: ParleyErrorContext) {
    super('not_found', message, context);
    this.name = 'NotFoundError';
  }
}

/** `payload_too_large`: the serialized body exceeds the deployment's limit. */
export class PayloadTooLargeError extends ParleyError {
  public constructor(message: string, context?: ParleyErrorContext) {
    super('payload_too_large', message, context);
    this.name = 'PayloadTooLargeError';
  }
}

/** `rate_limited`: the server throttled the request; retry later. */
export class RateLimitedError extends ParleyError {
  public constructor(message: string, context?: ParleyErrorContext) {
    super('rate_limited', message, context);
    this.name = 'RateLimitedError';
  }
}

/** `conflict`: the message id was already used by another sender in this room; nothing was stored. */
export class ConflictError extends ParleyError {
  public constructor(message: string, context?: ParleyErrorContext) {
    super('conflict', message, context);
    this.name = 'ConflictError';
  }
}

/**
 * An error code this SDK does not know (codes may be added): not retried, so that no code a
 * newer server sends can put a client into a retry loop. `code` is the server's.
 */
export class UnknownServerError extends ParleyError {
  public constructor(code: string, message: string, context?: ParleyErrorContext) {
    super(code, message, context);
    this.name = 'UnknownServerError';
  }
}

/** `internal`: the server failed; the request may be retried (sends are idempotent by id). */
export class InternalError extends ParleyError {
  public constructor(message: string, context?: ParleyErrorContext) {
    super('internal', message, context);
    this.name = 'InternalError';
  }
}

/** A send was not acknowledged within `sendTimeoutMs` (across reconnects); it is no longer resent. */
export class SendTimeoutError extends ParleyError {
  public constructor(message: string, context?: ParleyErrorContext) {
    super('send_timeout', message, context);
    this.name = 'SendTimeoutError';
  }
}

/** A request (join, leave, history, presence) was not answered within `requestTimeoutMs`. */
export class RequestTimeoutError extends ParleyError {
  public constructor(message: string, context?: ParleyErrorContext) {
    super('request_timeout', message, context);
    this.name = 'RequestTimeoutError';
  }
}

/** The client was closed (or gave up reconnecting) while the request was pending. */
export class ConnectionClosedError extends ParleyError {
  public constructor(message: string, context?: ParleyErrorContext) {
    super('connection_closed', message, context);
    this.name = 'ConnectionClosedError';
  }
}

/**
 * The server sent a frame this client cannot read (not JSON, nested too deep, against the
 * protocol's schema), or one it failed to handle. The frame is dropped and the connection goes on.
 */
export class ProtocolViolationError extends ParleyError {
  public constructor(message: string, context?: ParleyErrorContext) {
    super('protocol_violation', message, context);
    this.name = 'ProtocolViolationError';
  }
}

/**
 * Whether an error code is worth retrying: the same frame may well succeed a moment later (the
 * server was throttled or failed), where any other code would be answered the same again.
 *
 * @example
 * ```ts
 * isTransientCode('rate_limited'); // true
 * isTransientCode('forbidden'); // false
 * ```
 */
export const isTransientCode = (code: string): boolean => code === 'internal' || code === 'rate_limited';

/** What went wrong, as text, from anything thrown (an `Error` or not). */
export const reasonOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

type ProtocolErrorClass = new (message: string, context?: ParleyErrorContext) => ParleyError;

/** The class raised for each protocol error code. */
export const PROTOCOL_ERROR_CLASSES: Readonly<Record<ErrorCode, ProtocolErrorClass>> = {
  bad_request: BadRequestError,
  unauthorized: UnauthorizedError,
  forbidden: ForbiddenError,
  not_found: NotFoundError,
  payload_too_large: PayloadTooLargeError,
  rate_limited: RateLimitedError,
  conflict: ConflictError,
  internal: InternalError,
};

const isKnownCode = (code: string): code is ErrorCode => Object.hasOwn(PROTOCOL_ERROR_CLASSES, code);

/**
 * Builds the typed error for a server `error` frame.
 *
 * @example
 * ```ts
 * errorFromFrame({ code: 'forbidden', message: 'join first', ref: 'r1' }) instanceof ForbiddenError; // true
 * ```
 */
export const errorFromFrame = (
  frame: Omit<ProtocolError, 'code'> & { code: string },
  context: ParleyErrorContext = {},
): ParleyError => {
  const full = {
    ...context,
    ...(frame.ref !== undefined ? { ref: frame.ref } : {}),
    ...(frame.action !== undefined ? { action: frame.action } : {}),
  };
  if (!isKnownCode(frame.code)) return new UnknownServerError(frame.code, frame.message, full);
  return new PROTOCOL_ERROR_CLASSES[frame.code](frame.message, full);
};
