/**
 * Errors raised by Parley's handlers. Each carries the protocol error code that the caller sees in
 * its `error` frame, so the error middleware never has to guess.
 *
 * @example
 * ```ts
 * throw new ForbiddenError('join the room before sending to it');
 * ```
 */
import type { ErrorCode } from '../../protocol/index.js';

/** Base class of every Parley error: a message plus the protocol error code to answer with. */
export class ParleyError extends Error {
  /** The protocol error code the caller receives. */
  public readonly code: ErrorCode;

  public constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ParleyError';
    this.code = code;
  }
}

/** The frame is malformed or names something that cannot exist (`bad_request`). */
export class BadRequestError extends ParleyError {
  public constructor(message: string, options?: ErrorOptions) {
    super('bad_request', message, options);
    this.name = 'BadRequestError';
  }
}

/** The caller has no verified identity (`unauthorized`). */
export class UnauthorizedError extends ParleyError {
  public constructor(message: string, options?: ErrorOptions) {
    super('unauthorized', message, options);
    this.name = 'UnauthorizedError';
  }
}

/** The caller may not do this, e.g. it has not joined the room (`forbidden`). */
export class ForbiddenError extends ParleyError {
  public constructor(message: string, options?: ErrorOptions) {
    super('forbidden', message, options);
    this.name = 'ForbiddenError';
  }
}

/** Something the frame refers to does not exist (`not_found`). */
export class NotFoundError extends ParleyError {
  public constructor(message: string, options?: ErrorOptions) {
    super('not_found', message, options);
    this.name = 'NotFoundError';
  }
}

/** The message body is larger than the configured limit (`payload_too_large`). */
export class PayloadTooLargeError extends ParleyError {
  public constructor(message: string, options?: ErrorOptions) {
    super('payload_too_large', message, options);
    this.name = 'PayloadTooLargeError';
  }
}

/** The backend is shedding load; the client should retry later (`rate_limited`). */
export class RateLimitedError extends ParleyError {
  public constructor(message: string, options?: ErrorOptions) {
    super('rate_limited', message, options);
    this.name = 'RateLimitedError';
  }
}

/**
 * The message id is already used in the room by another sender (`conflict`): idempotency keys are
 * per sender, so a second sender's message under the same `(room, id)` is refused, not acked with
 * the first sender's message.
 */
export class ConflictError extends ParleyError {
  public constructor(message: string, options?: ErrorOptions) {
    super('conflict', message, options);
    this.name = 'ConflictError';
  }
}

/** A required setting is missing or invalid: a deployment error, reported as `internal`. */
export class ConfigurationError extends ParleyError {
  public constructor(message: string, options?: ErrorOptions) {
    super('internal', message, options);
    this.name = 'ConfigurationError';
  }
}

/** The send path gave up after its bounded retries (contention on one room's counter). */
export class ContentionError extends ParleyError {
  public constructor(message: string, options?: ErrorOptions) {
    super('rate_limited', message, options);
    this.name = 'ContentionError';
  }
}
