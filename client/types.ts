/**
 * Public types of the client SDK: options, the minimal WebSocket interface it needs, and the
 * payloads of its events.
 */
import type { Cursor, JsonValue, Member, MessageFrame } from '../protocol/index.js';
import type { BackoffOptions } from './backoff.js';
import type { ParleyError } from './errors.js';

/**
 * The part of the WHATWG `WebSocket` the SDK uses. The browser's `WebSocket`, Node 22's global
 * `WebSocket` and the `ws` package all provide it.
 */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** A WebSocket constructor (only the URL argument is used). */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** Timer functions, injectable so tests control time. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** An endpoint: its WebSocket URL and, when known, the region it serves. */
export interface EndpointConfig {
  url: string;
  /** The region behind this endpoint; leave it out for a global (routed) hostname. */
  region?: string;
}

/** Where a token comes from: a fixed string, or a function called before every connection attempt. */
export type TokenSource = string | (() => string | Promise<string>);

/** Options of {@link ParleyClient}. */
export interface ParleyClientOptions {
  /**
   * Endpoints in order of preference: the global hostname first, then the regional ones. The
   * client connects to the first, moves to the next after `failoverAfter` consecutive failures,
   * and keeps probing the first while connected elsewhere.
   */
  endpoints: ReadonlyArray<string | EndpointConfig>;
  /** The JWT, sent as the `token` query parameter; a function is called before every attempt. */
  token: TokenSource;
  /**
   * The WebSocket implementation.
   * @default globalThis.WebSocket
   */
  WebSocket?: WebSocketConstructor;
  /**
   * Heartbeat period: API Gateway closes connections idle for 10 minutes.
   * @default 30000
   */
  pingIntervalMs?: number;
  /**
   * A `ping` not answered within this time marks the connection dead.
   * @default 10000
   */
  pongTimeoutMs?: number;
  /**
   * Reconnect proactively after this long: API Gateway closes every connection after 2 hours.
   * @default 6600000 (110 minutes)
   */
  maxConnectionMs?: number;
  /**
   * A connection attempt that has not opened after this long counts as failed.
   * @default 10000
   */
  connectTimeoutMs?: number;
  /**
   * A send not acknowledged within this time (across reconnects) rejects with `SendTimeoutError`.
   * @default 30000
   */
  sendTimeoutMs?: number;
  /**
   * A join, leave, history or presence request not answered within this time rejects with
   * `RequestTimeoutError`.
   * @default 15000
   */
  requestTimeoutMs?: number;
  /** Reconnect backoff bounds (full jitter). */
  backoff?: BackoffOptions;
  /**
   * Consecutive failed attempts on one endpoint before moving to the next.
   * @default 2
   */
  failoverAfter?: number;
  /**
   * While connected to another endpoint, how often to try the first (preferred) one again.
   * @default 60000
   */
  preferredRetryMs?: number;
  /**
   * How long a message that arrived ahead of a gap waits before the client asks for a resume of
   * that room on the same connection.
   * @default 3000
   */
  gapTimeoutMs?: number;
  /**
   * When a resume's `joined` says `more` (the server replays at most `maxReplay` messages per
   * join), the client joins again once no replayed message has come for this long: the end of
   * one join's replay has no marker of its own. Live messages do not extend the wait. Too short
   * costs only duplicates (dropped); too long only delays the catch-up.
   * @default 1000
   */
  replayQuietMs?: number;
  /**
   * Retry a send the server answered `rate_limited` or `internal` (same id, so it is stored at
   * most once; after a backoff with full jitter) until it is acknowledged or `sendTimeoutMs`
   * passes, instead of rejecting it at once.
   * @default true
   */
  retryTransientSends?: boolean;
  /**
   * A send or join not answered on the same connection within this time is sent again (same id;
   * a repeated join resumes from the cursor), for replies that never come.
   * @default 10000
   */
  resendAfterMs?: number;
  /**
   * Largest serialized body accepted locally (the server enforces its own limit too).
   * @default 16384
   */
  maxBodyBytes?: number;
  /**
   * Connect as soon as the client is created.
   * @default true
   */
  autoConnect?: boolean;
  /**
   * Source of randomness for the backoff jitter.
   * @default Math.random
   */
  random?: () => number;
  /**
   * Timer functions.
   * @default the global setTimeout / clearTimeout
   */
  timers?: Timers;
  /**
   * Generator of message ids for sends without one.
   * @default crypto.randomUUID
   */
  generateId?: () => string;
}

/** The connection's state. */
export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** A `state` event: a state change, or a move to another endpoint (`failed-over`). */
export type StateEvent =
  | {
      state: 'connecting';
      endpoint: string;
      endpointIndex: number;
      /** Failed attempts on this endpoint just before this one (0: a first try). */
      attempt: number;
    }
  | { state: 'open'; endpoint: string; endpointIndex: number; region?: string }
  | {
      state: 'reconnecting';
      endpoint: string;
      endpointIndex: number;
      attempt: number;
      delayMs: number;
      reason: string;
    }
  | {
      state: 'failed-over';
      from: string;
      endpoint: string;
      endpointIndex: number;
      region?: string;
      /** `unreachable`: the previous endpoint failed; `preferred-recovered`: back to the first one. */
      reason: 'unreachable' | 'preferred-recovered';
    }
  | { state: 'closed'; reason: string };

/** A membership change in a room, with the room's member list after it. */
export interface PresenceEvent {
  room: string;
  event: 'join' | 'leave';
  user: string;
  region: string;
  members: Member[];
}

/** Emitted after every `joined` (first join and every resume). */
export interface JoinedEvent {
  room: string;
  /** The room's cursor at join time, as the server reported it. */
  cursor: Cursor;
  members: Member[];
  /** The room's members, of which `members` lists at most 100, when the server says (v1.1). */
  memberCount?: number;
  /** True when this was a resume (`join` with `since`), false for a first join. */
  resumed: boolean;
  /** The region that accepted the connection, when the server says so. */
  region?: string;
}

/** Emitted when a resume's replay is complete: every message missed while away was delivered. */
export interface CaughtUpEvent {
  room: string;
  /** Messages delivered by the replay (duplicates excluded). */
  count: number;
  /** `reconnect`: after a new connection; `gap`: a gap on a live connection was filled. */
  reason: 'reconnect' | 'gap';
}

/** The events of {@link ParleyClient}. */
export interface ParleyClientEvents {
  message: MessageFrame;
  presence: PresenceEvent;
  state: StateEvent;
  error: ParleyError;
  caughtUp: CaughtUpEvent;
  joined: JoinedEvent;
}

/** What `join` resolves with. */
export interface JoinResult {
  room: string;
  /** The client's cursor for the room (where its live traffic starts). */
  cursor: Cursor;
  /** The room's members as listed (at most 100 from a v1.1 server), ordered by user. */
  members: Member[];
  /** The room's members, listed or not, when the server says (v1.1). */
  memberCount?: number;
}

/** Options of `presencePage`. */
export interface PresencePageOptions {
  /** The `next` of the page before; absent for the first page. */
  after?: string;
}

/** One page of a room's members. */
export interface PresencePage {
  room: string;
  /** At most 100 members (from a v1.1 server), ordered by user. */
  members: Member[];
  /** The room's members in all pages; from a server that does not say (v1), the number listed. */
  memberCount: number;
  /** Opaque: pass it as `after` for the next page; absent on the last page. */
  next?: string;
}

/** What `send` resolves with: the server's acknowledgement. */
export interface SendAck {
  room: string;
  id: string;
  origin: string;
  seq: number;
  ts: number;
}

/** Options of `send`. */
export interface SendOptions {
  /** The idempotency key; generated when absent. Reuse it to retry a send safely. */
  id?: string;
}

/** Options of `history`. */
export interface HistoryOptions {
  /** Page size, 1-100 (server default 50). */
  limit?: number;
  /** Only messages strictly older than this `ts`. */
  before?: number;
}

/** One page of history, oldest first. */
export interface HistoryPage {
  room: string;
  messages: MessageFrame[];
  /**
   * The `before` for the next (older) page (the oldest `ts` of this one), or undefined when this
   * page was empty: the start of the room's retained history. A page with fewer than `limit`
   * messages is not necessarily the last (the server ends a page between two `ts` values).
   */
  nextBefore: number | undefined;
}

export type { Cursor, JsonValue, Member, MessageFrame };
