/**
 * The table's items as `docs/data-model.md` describes them: their keys, the sort-key prefixes the
 * queries select on, the item types and their lifetimes. The only place that knows a key shape;
 * the store's modules build every key and read every key back through this one.
 *
 * @example
 * ```ts
 * keys.message('lobby', 'us-east-1', 42); // { pk: 'ROOM#lobby', sk: 'MSG#us-east-1#000000000042' }
 * ```
 */

/** Connection items live 2 h 10 min: API Gateway closes any connection after 2 h. */
export const CONNECTION_TTL_SECONDS = 2 * 3600 + 10 * 60;
/** Width of the zero-padded seq in sort keys (`MSG#<origin>#<seq>`). */
export const SEQ_WIDTH = 12;
/** Width of the zero-padded ts in the `byTime` sort key. */
export const TS_WIDTH = 13;
/** The origin of every message in strong mode (one global sequence per room). */
export const GLOBAL_ORIGIN = 'global';

/** A number zero-padded to `width` digits, so that sort keys order as the numbers do. */
export const pad = (value: number, width: number): string => String(value).padStart(width, '0');
/** Epoch seconds of a time in ms (the unit of the `ttl` attribute). */
export const epochSeconds = (ms: number): number => Math.floor(ms / 1000);
/** The `ttl` of an item kept `days` days from `ms`. */
export const retainedUntil = (ms: number, days: number): number => epochSeconds(ms) + days * 86_400;

/** Partition keys, and the sort-key prefixes the queries select on. */
export const partitions = {
  room: (room: string) => `ROOM#${room}`,
  connection: (connectionId: string) => `CONN#${connectionId}`,
  user: (user: string) => `USER#${user}`,
};

/** Sort-key prefixes of the items a `Query` selects with `begins_with`. */
export const prefixes = {
  /** A room's members in one region, or everywhere. */
  member: (region?: string) => (region === undefined ? 'MEMBER#' : `MEMBER#${region}#`),
  /** A connection's rooms. */
  connectionRoom: 'ROOM#',
  /** A user's open connections, one item per region. */
  userOpen: 'OPEN#',
  /** A room's present members: one item per distinct `(user, region)`, ordered by user. */
  present: 'PRESENT#',
  /** A room's sequence counters, one per origin. */
  counter: 'SEQ#',
  /** A room's messages, of every origin. */
  messages: 'MSG#',
  /** The messages of one origin in a room. */
  message: (origin: string) => `MSG#${origin}#`,
};

/** Key builders, one per item of the data model. */
export const keys = {
  connection: (connectionId: string) => ({ pk: partitions.connection(connectionId), sk: 'META' }),
  roomMember: (room: string, region: string, connectionId: string) => ({
    pk: partitions.room(room),
    sk: `${prefixes.member(region)}${connectionId}`,
  }),
  connectionRoom: (connectionId: string, room: string) => ({
    pk: partitions.connection(connectionId),
    sk: `${prefixes.connectionRoom}${room}`,
  }),
  /** A user's open connections in one region (the connections-per-user limit counts these). */
  userOpen: (user: string, region: string) => ({
    pk: partitions.user(user),
    sk: `${prefixes.userOpen}${region}`,
  }),
  /** A room's member `(user, region)`: the connections of `user` in `region` that joined the room. */
  present: (room: string, user: string, region: string) => ({
    pk: partitions.room(room),
    sk: `${prefixes.present}${presentSuffix(user, region)}`,
  }),
  counter: (room: string, origin: string) => ({
    pk: partitions.room(room),
    sk: `${prefixes.counter}${origin}`,
  }),
  claim: (room: string, id: string) => ({ pk: partitions.room(room), sk: `ID#${id}` }),
  message: (room: string, origin: string, seq: number) => ({
    pk: partitions.room(room),
    sk: `${prefixes.message(origin)}${pad(seq, SEQ_WIDTH)}`,
  }),
  /** Sort key of the `byTime` index. */
  timeSortKey: (ts: number, origin: string, seq: number) =>
    `${pad(ts, TS_WIDTH)}#${origin}#${pad(seq, SEQ_WIDTH)}`,
  /** The key the health check reads; no item needs to exist there. */
  health: { pk: 'HEALTH', sk: 'HEALTH' } as const,
};

/**
 * What follows `PRESENT#` in a present member's sort key: the user, then U+0001, then the region.
 * A `sub` holds no control character (see `lambdas/shared/tokens.ts`), so the separator sorts
 * below every character of a user and the items come ordered by user, then region.
 */
export const presentSuffix = (user: string, region: string): string => `${user}\u0001${region}`;

/**
 * An entry of a user's open connections in one region: the connection's `connectedAt` (13 digits)
 * and its id. The time is in the entry so that other regions can tell an entry whose connection
 * must be over (API Gateway closes connections after 2 h) without asking the region that wrote it.
 */
export const openEntry = (connectedAt: number, connectionId: string): string =>
  `${pad(connectedAt, TS_WIDTH)}#${connectionId}`;

/** The `connectedAt` and connection id of an {@link openEntry}. */
export const parseOpenEntry = (entry: string): { connectedAt: number; connectionId: string } => ({
  connectedAt: Number(entry.slice(0, TS_WIDTH)),
  connectionId: entry.slice(TS_WIDTH + 1),
});

/** The connection id of a connection item's `pk`. */
export const connectionIdOf = (key: string): string => key.slice(partitions.connection('').length);
/** The origin of a counter item's `sk`. */
export const originOf = (counterSk: string): string => counterSk.slice(prefixes.counter.length);

/** What an item is, by its sort key: the kinds the stream fan-out acts on, else `other`. */
export const itemKind = (sk: string): 'message' | 'member' | 'other' =>
  sk.startsWith(prefixes.messages) ? 'message' : sk.startsWith(prefixes.member()) ? 'member' : 'other';

/** A connection item. */
export interface ConnectionItem {
  pk: string;
  sk: string;
  user: string;
  region: string;
  connectedAt: number;
  lastSeen: number;
  ttl: number;
}

/** The room side of a membership. */
export interface MemberItem {
  room: string;
  user: string;
  region: string;
  connectionId: string;
  joinedAt: number;
}

/** A message item as stored (body as its JSON text). */
export interface MessageItem {
  room: string;
  id: string;
  origin: string;
  seq: number;
  from: string;
  body: string;
  ts: number;
  region: string;
}
