/**
 * The store in memory: the same {@link Store} as the DynamoDB one, kept in `Map`s, for tests of
 * the route logic that should not know how the table is laid out. It models what the handlers
 * rely on: both sides of a membership, conditional writes (a connection that is gone is not
 * recreated by a heartbeat or a rate-limit token), idempotency claims (a repeated id gets its first ack),
 * gap-free sequences per origin, strong mode's one global sequence, and results in the order
 * DynamoDB returns them. It is one replica with nothing to replicate, and nothing expires (TTL-free).
 * Every method completes its changes before it yields, so concurrent calls never interleave.
 *
 * @example
 * ```ts
 * const store = createMemoryStore();
 * await store.addMembership({ room: 'lobby', connectionId: 'c1', user: 'alice', region: 'us-east-1', now: 0 });
 * await store.isMember('lobby', 'c1'); // true
 * ```
 */
import type { Cursor } from '../../../protocol/index.js';
import { ConflictError } from '../errors.js';
import { admitUserConnection } from './admission.js';
import {
  GLOBAL_ORIGIN,
  keys,
  type MemberItem,
  type MessageItem,
  pad,
  presentSuffix,
  TS_WIDTH,
} from './keys.js';
import { rateSchedule, type TatAttribute, tatAttribute } from './limits.js';
import { pageBoundary, storedMessage } from './messages.js';
import type { Ack, Connection, Store } from './types.js';

/** A connection, and the rate-limit buckets kept on it: each action's TAT (see `rateSchedule`). */
type StoredConnection = Connection & Partial<Record<TatAttribute, number>>;

/** A claim of `(room, id)`: the ack of the message stored under it. */
/** A claim of `(room, id)`: the ack of its send and who sent it. */
type Claim = Ack & { from: string };

/** The entries of `map` by key, in the byte order DynamoDB sorts string keys in. */
const sorted = <V>(map: ReadonlyMap<string, V>): V[] =>
  [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, value]) => value);

/** The value of `map` at `key`, created by `create` when absent. */
const entry = <K, V>(map: Map<K, V>, key: K, create: () => V): V => {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
};

/** An in-memory {@link Store}. */
export const createMemoryStore = (): Store => {
  const connections = new Map<string, StoredConnection>();
  /** user → region → connection id → connectedAt (each region's open connections of the user). */
  const userOpen = new Map<string, Map<string, Map<string, number>>>();
  /** room → present member key (`presentSuffix`) → the member with its connections. */
  const present = new Map<string, Map<string, { user: string; region: string; connections: Set<string> }>>();
  /** room → `<region>#<connectionId>` → member (the room side). */
  const members = new Map<string, Map<string, MemberItem>>();
  /** connection id → rooms (the connection side). */
  const rooms = new Map<string, Set<string>>();
  /** room → origin → seq → message. */
  const messages = new Map<string, Map<string, Map<number, MessageItem>>>();
  /** room → id → claim. */
  const claims = new Map<string, Map<string, Claim>>();

  const memberKey = (region: string, connectionId: string) => `${region}#${connectionId}`;
  const originMessages = (room: string, origin: string): Map<number, MessageItem> =>
    messages.get(room)?.get(origin) ?? new Map();
  const highestSeq = (room: string, origin: string): number =>
    Math.max(0, ...originMessages(room, origin).keys());

  const removeMembership: Store['removeMembership'] = async ({ room, connectionId, region, user }) => {
    const wasMember = rooms.get(connectionId)?.delete(room) ?? false;
    const member = members.get(room)?.get(memberKey(region, connectionId));
    members.get(room)?.delete(memberKey(region, connectionId));
    const who = user ?? member?.user;
    if (who !== undefined) {
      const key = presentSuffix(who, region);
      const entryOf = present.get(room)?.get(key);
      entryOf?.connections.delete(connectionId);
      if (entryOf?.connections.size === 0) present.get(room)?.delete(key);
    }
    return wasMember;
  };

  const removeConnection: Store['removeConnection'] = async (connectionId, region) => {
    const connection = connections.get(connectionId);
    const joined = [...(rooms.get(connectionId) ?? [])].sort();
    const memberRegion = connection?.region ?? region;
    for (const room of joined) {
      await removeMembership({ room, connectionId, region: memberRegion, user: connection?.user });
    }
    connections.delete(connectionId);
    if (connection !== undefined) userOpen.get(connection.user)?.get(memberRegion)?.delete(connectionId);
    return { rooms: joined, user: connection?.user };
  };

  return {
    putConnection: async ({ connectionId, user, region, now }) => {
      connections.set(connectionId, { user, region, connectedAt: now, lastSeen: now });
    },

    getConnection: async (connectionId) => {
      const connection = connections.get(connectionId);
      return connection === undefined ? undefined : { ...connection };
    },

    lastSeenOf: async (connectionIds) => {
      const seen = new Map<string, number | undefined>();
      for (const connectionId of connectionIds) {
        const connection = connections.get(connectionId);
        if (connection !== undefined) seen.set(connectionId, connection.lastSeen);
      }
      return seen;
    },

    removeConnection,

    registerUserConnection: (input) => {
      const regions = entry(userOpen, input.user, () => new Map<string, Map<string, number>>());
      const here = entry(regions, input.region, () => new Map<string, number>());
      const entriesOf = (open: Map<string, number>) =>
        [...open.entries()].map(([connectionId, connectedAt]) => ({ connectionId, connectedAt }));
      return admitUserConnection(
        {
          read: async () => ({
            here: entriesOf(here),
            elsewhere: [...regions.entries()]
              .filter(([region]) => region !== input.region)
              .flatMap(([, open]) => entriesOf(open)),
          }),
          take: async (allowed) => {
            if (here.size >= allowed && !here.has(input.connectionId)) return false;
            here.set(input.connectionId, input.now);
            return true;
          },
          forget: async (gone) => {
            await removeConnection(gone.connectionId, input.region);
            here.delete(gone.connectionId);
          },
        },
        input,
      );
    },

    addMembership: async ({ room, connectionId, user, region, now, maxRooms }) => {
      const joined = entry(rooms, connectionId, () => new Set<string>());
      if (joined.has(room)) return 'rejoined';
      // As in DynamoDB: a connection without an item is not counted.
      if (connections.has(connectionId) && maxRooms !== undefined && joined.size >= maxRooms) return 'full';
      joined.add(room);
      const roomPresent = entry(present, room, () => new Map());
      entry(roomPresent, presentSuffix(user, region), () => ({
        user,
        region,
        connections: new Set<string>(),
      })).connections.add(connectionId);
      entry(members, room, () => new Map()).set(memberKey(region, connectionId), {
        room,
        user,
        region,
        connectionId,
        joinedAt: now,
      });
      return 'joined';
    },

    isMember: async (room, connectionId) => rooms.get(connectionId)?.has(room) ?? false,

    removeMembership,

    listMembers: async (room, region) =>
      sorted(members.get(room) ?? new Map())
        .filter((member) => region === undefined || member.region === region)
        .map((member) => ({ ...member })),

    presentMembers: async (room, { limit, after }) => {
      const start = after === undefined ? undefined : presentSuffix(after.user, after.region);
      const listed = [...(present.get(room)?.entries() ?? [])]
        .filter(([key]) => start === undefined || key > start)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([, member]) => ({
          user: member.user,
          region: member.region,
          connectionIds: [...member.connections].sort(),
        }));
      const members = listed.slice(0, limit);
      const last = members.at(-1);
      return listed.length > limit && last !== undefined
        ? { members, last: { user: last.user, region: last.region } }
        : { members };
    },

    countPresent: async (room, max) => Math.min(max, present.get(room)?.size ?? 0),

    roomCount: async (connectionId) => rooms.get(connectionId)?.size ?? 0,

    storeMessage: async (message, options) => {
      const roomClaims = entry(claims, message.room, () => new Map<string, Claim>());
      const claim = roomClaims.get(message.id);
      if (claim !== undefined && claim.from !== message.from) {
        throw new ConflictError(`id ${message.id} is already used in room ${message.room} by another sender`);
      }
      if (claim !== undefined)
        return { duplicate: true, ack: { origin: claim.origin, seq: claim.seq, ts: claim.ts } };
      const origin = options.consistency === 'strong' ? GLOBAL_ORIGIN : message.region;
      const seq = highestSeq(message.room, origin) + 1;
      const ts = (options.now ?? Date.now)();
      const stored = storedMessage(message, origin, seq, ts);
      const byOrigin = entry(messages, message.room, () => new Map<string, Map<number, MessageItem>>());
      entry(byOrigin, origin, () => new Map()).set(seq, stored);
      roomClaims.set(message.id, { origin, seq, ts, from: message.from });
      return { duplicate: false, ack: { origin, seq, ts }, message: { ...stored } };
    },

    roomCursor: async (room, extraOrigins = []) => {
      const cursor: Cursor = {};
      for (const origin of new Set([...(messages.get(room)?.keys() ?? []), ...extraOrigins])) {
        const seq = highestSeq(room, origin);
        if (seq > 0) cursor[origin] = seq;
      }
      return cursor;
    },

    messagesAfter: async function* (room, origin, afterSeq, upToSeq = Number.POSITIVE_INFINITY) {
      const stored = [...originMessages(room, origin).values()].sort((a, b) => a.seq - b.seq);
      for (const message of stored)
        if (message.seq > afterSeq && message.seq <= upToSeq) yield { ...message };
    },

    historyPage: async (room, { limit, before }) => {
      // Ordered as the `byTime` index orders them: by ts, then origin, then seq.
      const byTime = new Map<string, MessageItem>();
      for (const byOrigin of messages.get(room)?.values() ?? []) {
        for (const message of byOrigin.values()) {
          byTime.set(keys.timeSortKey(message.ts, message.origin, message.seq), message);
        }
      }
      const newestFirst = [...byTime.entries()]
        .filter(([sortKey]) => before === undefined || sortKey < pad(before, TS_WIDTH))
        .sort(([a], [b]) => (a < b ? 1 : a > b ? -1 : 0))
        .slice(0, limit + 1)
        .map(([, message]) => ({ ...message }));
      return pageBoundary(newestFirst, limit).reverse();
    },

    takeToken: async (connectionId, action, rate, now, options = {}) => {
      const connection = connections.get(connectionId);
      // As in DynamoDB: a connection without an item is not limited here.
      if (connection === undefined) return true;
      const { intervalMs, toleranceMs } = rateSchedule(rate);
      const attribute = tatAttribute(action);
      const tat = connection[attribute] ?? now;
      if (tat > now + toleranceMs) return false;
      connection[attribute] = Math.max(tat, now) + intervalMs;
      if (options.seen === true) connection.lastSeen = now;
      return true;
    },

    probe: async () => {},
  };
};
