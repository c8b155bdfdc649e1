/**
 * The Parley client SDK: browsers and Node 22.
 *
 * @example
 * ```ts
 * import { ParleyClient } from './client/index.js';
 * const client = new ParleyClient({ endpoints: ['ws://127.0.0.1:4510/'], token });
 * client.on('message', (m) => console.log(m.from, m.body));
 * await client.join('lobby');
 * await client.send('lobby', 'hello');
 * ```
 */
export { type BackoffOptions, DEFAULT_BACKOFF, fullJitterDelay } from './backoff.js';
export { endpointUrl, ParleyClient } from './client.js';
export { type Listener, TypedEmitter } from './emitter.js';
export {
  BadRequestError,
  CLIENT_ERROR_CODES,
  type ClientErrorCode,
  ConflictError,
  ConnectionClosedError,
  errorFromFrame,
  ForbiddenError,
  InternalError,
  isTransientCode,
  NotFoundError,
  ParleyError,
  type ParleyErrorCode,
  type ParleyErrorContext,
  PayloadTooLargeError,
  PROTOCOL_ERROR_CLASSES,
  ProtocolViolationError,
  RateLimitedError,
  RequestTimeoutError,
  SendTimeoutError,
  UnauthorizedError,
  UnknownServerError,
} from './errors.js';
export { DEFAULT_REPLAY_QUIET_MS, MAX_REPLAY_JOINS } from './replay.js';
export { DEFAULT_SEEN_IDS, RoomStream } from './room-stream.js';
export type {
  CaughtUpEvent,
  ConnectionState,
  Cursor,
  EndpointConfig,
  HistoryOptions,
  HistoryPage,
  JoinedEvent,
  JoinResult,
  JsonValue,
  Member,
  MessageFrame,
  ParleyClientEvents,
  ParleyClientOptions,
  PresenceEvent,
  PresencePage,
  PresencePageOptions,
  SendAck,
  SendOptions,
  StateEvent,
  Timers,
  TokenSource,
  WebSocketConstructor,
  WebSocketLike,
} from './types.js';
