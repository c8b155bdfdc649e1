/**
 * The store: every read and write of Parley's table, as the handlers call them, in the terms of
 * the protocol (connections, memberships, messages, limits) rather than of items and keys. Two
 * implementations: the DynamoDB one (the entity modules of this folder, bound per handler with
 * `onDb`, or whole with `dynamoStore`) and an in-memory one (`createMemoryStore`) for tests.
 *
 * Handlers ask for the methods they call, `Pick<Store, ...>`, so each bundle holds those calls only.
 *
 * @example
 * ```ts
 * const whoIs = async (deps: { store: Pick<Store, 'getConnection'> }, connectionId: string) =>
 *   (await deps.store.getConnection(connectionId))?.user;
 * ```
 */
import type { ClientAction, Cursor, JsonValue } from '../../../protocol/index.js';
import type { Consistency } from '../env.js';
import type { MemberItem, MessageItem } from './keys.js';
import type { Rate, TakeOptions } from './limits.js';

/** A connection as `$connect` stored it. */
export interface Connection {
  user: string;
  region: string;
  connectedAt: number;
  lastSeen: number;
}

/** What a `send` acknowledges. */
export interface Ack {
  origin: string;
  seq: number;
  ts: number;
}

/** A message to store. */
export interface NewMessage {
  room: string;
  id: string;
  from: string;
  body: JsonValue;
  /** This region: recorded as `region` on the message, and the origin in eventual mode. */
  region: string;
}

/** The outcome of a send: a new message to deliver, or the ack of an earlier send of the same id. */
export type SendOutcome =
  | { duplicate: false; ack: Ack; message: MessageItem }
  | { duplicate: true; ack: Ack };

/** How a message is stored. */
export interface StoreMessageOptions {
  /** Per-origin sequences (`eventual`) or one global sequence per room (`strong`). */
  consistency: Consistency;
  /** Message and claim retention. */
  retentionDays: number;
  /** Clock, ms since the epoch. @default Date.now */
  now?: () => number;
}

/** What a join did: a new membership, a room already joined (nothing new), or none (at the limit). */
export type JoinOutcome = 'joined' | 'rejoined' | 'full';

/** A member of a room as presence lists it: one distinct `(user, region)`. */
export interface MemberKey {
  user: string;
  region: string;
}

/** A present member, with its connections that joined the room (sorted). */
export interface PresentMember extends MemberKey {
  connectionIds: string[];
}

/** A connection to count against its user's limit (see {@link Store.registerUserConnection}). */
export interface UserConnection {
  user: string;
  connectionId: string;
  region: string;
  now: number;
  /** Open connections allowed per user, this one included. */
  max: number;
  /** Whether API Gateway no longer knows a connection of this region (its `GetConnection` answers 410). */
  isGone?: (connectionId: string) => Promise<boolean>;
}

/** Every access to Parley's table. */
export interface Store {
  // Connections

  /** Stores a new connection (on `$connect`), seen now. */
  putConnection(input: { connectionId: string; user: string; region: string; now: number }): Promise<void>;
  /** A connection, `undefined` when it does not exist (strongly consistent). */
  getConnection(connectionId: string): Promise<Connection | undefined>;
  /**
   * The `lastSeen` of each connection (eventually consistent). A connection this replica does not
   * have is absent from the map; one whose read kept being throttled is `undefined`: unknown, not gone.
   */
  lastSeenOf(connectionIds: readonly string[]): Promise<Map<string, number | undefined>>;
  /**
   * Removes a connection, its user's entry and all its memberships (disconnect, or a 410 from
   * `@connections`). Returns the rooms it was in and its user, so callers can announce the leave.
   */
  removeConnection(
    connectionId: string,
    region: string,
  ): Promise<{ rooms: string[]; user: string | undefined }>;
  /**
   * Records this connection among its user's open connections when fewer than `max` are open,
   * counting this region's exactly (however many `$connect`s run at once) and other regions' as
   * replication shows them. Returns `false` when the user is at the limit. At the limit, entries of
   * this region whose connection must be over, or that `isGone` reports gone, are removed and not
   * counted, so dropped connections can never lock a user out. `now` must be the `connectedAt` the
   * connection is stored with.
   */
  registerUserConnection(input: UserConnection): Promise<boolean>;

  // Memberships

  /**
   * Joins a connection to a room: both sides of the membership and its present member. Holds
   * `maxRooms` per connection exactly, however many joins run at once. A room already joined is
   * `rejoined` and changes nothing; a connection at `maxRooms` is `full` and changes nothing. A
   * connection the store has no item of is not counted; without `maxRooms` none is limited.
   */
  addMembership(input: {
    room: string;
    connectionId: string;
    user: string;
    region: string;
    now: number;
    maxRooms?: number | undefined;
  }): Promise<JoinOutcome>;
  /** Whether a connection has joined a room (strongly consistent). */
  isMember(room: string, connectionId: string): Promise<boolean>;
  /** Removes a membership; whether the connection was a member. */
  removeMembership(input: {
    room: string;
    connectionId: string;
    region: string;
    user?: string | undefined;
  }): Promise<boolean>;
  /** A room's members in one region, or everywhere when `region` is omitted, by region and connection id. */
  listMembers(room: string, region?: string): Promise<MemberItem[]>;
  /**
   * One page of the room's present members, ordered by user, then region (by code point): at most
   * `limit`, after `after` when given. `last` is the last one listed when more follow.
   */
  presentMembers(
    room: string,
    options: { limit: number; after?: MemberKey | undefined },
  ): Promise<{ members: PresentMember[]; last?: MemberKey }>;
  /** How many present members the room has, counting at most `max`. */
  countPresent(room: string, max: number): Promise<number>;
  /** How many rooms a connection is in. */
  roomCount(connectionId: string): Promise<number>;

  // Messages

  /**
   * Stores a message once per `(room, id)` with the next gap-free seq of its origin: a repeated id
   * gets the ack of its first send, and nothing new is stored.
   *
   * @throws ContentionError when the room stayed too busy to take a seq (the client retries).
   */
  storeMessage(message: NewMessage, options: StoreMessageOptions): Promise<SendOutcome>;
  /**
   * The room's cursor: per origin, the highest stored seq. `extraOrigins` adds origins that may
   * have messages but no counter replicated yet.
   */
  roomCursor(room: string, extraOrigins?: Iterable<string>): Promise<Cursor>;
  /** The messages of one origin with a seq above `afterSeq` (and at most `upToSeq`), in seq order. */
  messagesAfter(room: string, origin: string, afterSeq: number, upToSeq?: number): AsyncIterable<MessageItem>;
  /**
   * One page of history: the `limit` newest messages strictly before `before` (a ts), oldest
   * first, never ending inside a group of messages that share a ts.
   */
  historyPage(room: string, options: { limit: number; before?: number | undefined }): Promise<MessageItem[]>;

  // Limits

  /**
   * Takes one token from the connection's rate limit of `action`; `false` when its burst is spent,
   * and then nothing is written. A connection without an item is not limited (nor recreated).
   * With `seen`, the same write records the connection's `lastSeen` (`ping`'s heartbeat).
   */
  takeToken(
    connectionId: string,
    action: ClientAction,
    rate: Rate,
    now: number,
    options?: TakeOptions,
  ): Promise<boolean>;

  // Health

  /**
   * Resolves when this region's copy of the table answers a strongly consistent read.
   *
   * @throws the engine's error when it does not
   */
  probe(): Promise<void>;
}

/** The store methods `K`, for code that calls only those. */
export type StoreOf<K extends keyof Store> = Pick<Store, K>;
