/** The protocol's error codes and the `error` frame built from a protocol error. */

/** The protocol's error codes, in the order `docs/protocol.md` lists them. */
export const ERROR_CODES = [
  'bad_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'payload_too_large',
  'rate_limited',
  'conflict',
  'internal',
] as const;
/** A code of {@link ERROR_CODES}: what the server sends. Clients must accept any string (codes may be added). */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** A protocol error: what a handler answers instead of throwing. */
export interface ProtocolError {
  code: ErrorCode;
  message: string;
  ref?: string;
  action?: string;
}
