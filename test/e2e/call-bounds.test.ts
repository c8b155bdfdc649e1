/**
 * What ONE frame costs, per route, against the local stack: the DynamoDB calls (the capacity
 * meter, by operation) and the `@connections` calls (the gateway's call meter) of the route's own
 * invocation, at a small and a large input, each under one bound per route that is the same for
 * both sizes and is derived, in the comments below, from the handler and the store functions it
 * calls. Counts are of the primary region, where the route runs: the other region's calls are its
 * fan-out of the replicated items, an invocation of its own.
 *
 * The large room's members beyond the two sockets are seeded (their connections have no socket).
 * A room with more local members than `fanoutInlineMax` is broadcast through the delivery queue:
 * its jobs are counted as SQS messages where the primary's delivery worker receives them, and the
 * worker is failed on purpose so that it never posts to a seeded connection, which would answer
 * 410 and be removed. Every count that grows with the room is a number of 1 MB `Query` pages (or of
 * 100-connection jobs): the test reads the same pages itself and bounds the count per page.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DELIVERY_BATCH_IDS, type DeliveryJob } from '../../lambdas/shared/delivery.js';
import { MEMBER_COUNT_MAX } from '../../lambdas/shared/members.js';
import { type MessageItem, partitions, prefixes } from '../../lambdas/shared/store/keys.js';
import { putConnections, putMemberships, putMessages } from '../../lambdas/shared/store/seeding.js';
import type { LocalStack } from '../../local/stack.js';
import { MAX_CURSOR_KEYS, MAX_MEMBERS_LISTED } from '../../protocol/index.js';
import { clientPool, dbOf, itemsOf, queryPages, runToEnd } from './adversarial-helpers.js';
import { eventually, type Frame, startTestStack, type TestClient } from './helpers.js';

/** Local members a broadcast posts to inline; beyond, the delivery queue takes the room. */
const INLINE_MAX = 10;
/** Messages one join replays. */
const MAX_REPLAY = 100;
/** The app's regions: a room has at most one origin per region (eventual mode). */
const REGIONS = 2;
/** Connections per user (the default): a present member holds at most this many. */
const CONNECTIONS_PER_USER = 10;
/** DynamoDB's page of a `Query`: 1 MB of items read. */
const PAGE_BYTES = 1024 * 1024;
/** The largest message item: a 16 KiB body and its other attributes (names, keys, ids), generously. */
const MESSAGE_ITEM_BYTES = 16 * 1024 + 1024;

/** One frame's calls in the route's region, and the delivery jobs its broadcast queued. */
interface Cost {
  dynamo: Record<string, number>;
  connections: Record<string, number>;
  jobs: number;
}

/**
 * What a room is made of, as the store's queries read it: the counts that grow with the room, one
 * page per 1 MB of its items (about 4,000 members a page). The bounds add them page for page.
 */
interface Shape {
  /** Pages of `listMembers(room, region)` (a broadcast's targets). */
  memberPages: number;
  /** Pages of `countPresent` (read only when the room has more members than one listed page). */
  presentPages: number;
}

/** Upper bounds on a frame's calls, by operation; an operation left out must not be called. */
interface Bound {
  dynamo: Record<string, number>;
  connections: Record<string, number>;
}

// Each bound is the uncontended path with every listed member live, which the test runs: a stale
// member of this region adds a GetConnection (and, if gone, its removal), a lost seq race in send
// a GetItem and a TransactWriteItems (at most 64 attempts), a 429 from @connections a retry of
// the post (at most 5 attempts), unprocessed BatchGetItem keys a retry (at most 5 rounds), and
// PRESENCE_TIMEOUT_SECONDS 0 takes ping's UpdateItem and every BatchGetItem away. `resolveUser`
// reads the connection only without the authorizer's user (never here); its GetItem is counted.
/** Every route's rate limit (`takeToken`): the full-bucket step, then the within-burst step. */
const RATE_LIMIT_UPDATES = 2;
/** lastSeenOf: MAX_MEMBERS_LISTED members x CONNECTIONS_PER_USER ids, 100 keys a call. */
const LAST_SEEN_BATCHES = Math.ceil((MAX_MEMBERS_LISTED * CONNECTIONS_PER_USER) / 100);

const BOUNDS: Record<string, (room: Shape) => Bound> = {
  join: (room) => ({
    dynamo: {
      // resolveUser 1 + addMembership's connectionExists 1 (only when the count update fails)
      GetItem: 2,
      // addMembership: the connection side (put if absent) + the room side
      PutItem: 2,
      // the rate limit + addMembership: the rooms count + the present member
      UpdateItem: RATE_LIMIT_UPDATES + 2,
      // addMembership: the connection side again, only when the connection is full
      DeleteItem: 1,
      Query:
        1 + // roomOrigins: the SEQ# counters, one per origin, one page
        (REGIONS + MAX_CURSOR_KEYS) + // highestSeq: one per origin of the room or of since
        1 + // presentMembers: one page of MAX_MEMBERS_LISTED + 1 items
        room.presentPages + // countPresent, capped at MEMBER_COUNT_MAX items
        // messagesAfter, per missed origin: MAX_REPLAY items of at most MESSAGE_ITEM_BYTES, and
        // the last page that tells there is no more
        REGIONS * (Math.ceil((MAX_REPLAY * MESSAGE_ITEM_BYTES) / PAGE_BYTES) + 1) +
        room.memberPages, // announcePresence: listMembers
      BatchGetItem: LAST_SEEN_BATCHES,
    },
    // joined 1 + the replay (at most MAX_REPLAY) + the announcement inline (at most INLINE_MAX)
    connections: { PostToConnection: 1 + MAX_REPLAY + INLINE_MAX },
  }),
  leave: (room) => ({
    dynamo: {
      GetItem: 1, // resolveUser
      // removeMembership: the connection side, the room side, the emptied present member
      DeleteItem: 3,
      // the rate limit + removeMembership: the present member's set, the rooms count
      UpdateItem: RATE_LIMIT_UPDATES + 2,
      Query: room.memberPages, // announcePresence: listMembers
    },
    // left 1 + the announcement inline
    connections: { PostToConnection: 1 + INLINE_MAX },
  }),
  send: (room) => ({
    dynamo: {
      // isMember 1 + resolveUser 1 + storeMessage: the claim 1 and the counter 1
      GetItem: 4,
      UpdateItem: RATE_LIMIT_UPDATES,
      // storeMessage: the claim, the counter and the message in one transaction
      TransactWriteItems: 1,
      Query: room.memberPages, // listMembers, the delivery's targets
    },
    // ack 1 + the message inline
    connections: { PostToConnection: 1 + INLINE_MAX },
  }),
  // isMember 1 + historyPage: one Query of limit + 1 (at most 101) items, never paged; the reply 1
  history: () => ({
    dynamo: { GetItem: 1, UpdateItem: RATE_LIMIT_UPDATES, Query: 1 },
    connections: { PostToConnection: 1 },
  }),
  presence: (room) => ({
    dynamo: {
      GetItem: 1, // isMember
      UpdateItem: RATE_LIMIT_UPDATES,
      Query: 1 + room.presentPages, // presentMembers + countPresent
      BatchGetItem: LAST_SEEN_BATCHES,
    },
    connections: { PostToConnection: 1 },
  }),
  // the rate limit, which records lastSeen in the same write; pong 1
  ping: () => ({ dynamo: { UpdateItem: RATE_LIMIT_UPDATES }, connections: { PostToConnection: 1 } }),
  // $default parses the frame and answers bad_request: no table access
  default: () => ({ dynamo: {}, connections: { PostToConnection: 1 } }),
};

const logDir = join(import.meta.dirname, '..', '..', '.local', 'logs');
let stack: LocalStack;
let primary: string;
const pool = clientPool(() => stack);
/** Delivery jobs the primary's worker received, by SQS message id (a retried message once). */
const jobs = new Map<string, DeliveryJob>();

const SMALL = 'cb-small';
const BIG = 'cb-big';
const SEEDED_MEMBERS = 998;
const BIG_MESSAGES = 2_000;
let alice: TestClient;
let bob: TestClient;

const seedMessages = (room: string, count: number): MessageItem[] => {
  const base = Date.now() - count;
  return Array.from({ length: count }, (_, i) => ({
    room,
    id: `seed-${i + 1}`,
    origin: primary,
    seq: i + 1,
    from: 'seeder',
    body: JSON.stringify({ n: i + 1 }),
    ts: base + i,
    region: primary,
  }));
};

beforeAll(async () => {
  stack = await startTestStack({
    meterCapacity: true,
    // No health checks while frames are counted: each is a GetItem of the region's health handler.
    healthIntervalMs: 3_600_000,
    handlerEnvironment: {
      FANOUT_INLINE_MAX: String(INLINE_MAX),
      MAX_REPLAY: String(MAX_REPLAY),
      // Seeded members are heard from once, when seeded; the liveness rule reads them all the same.
      PRESENCE_TIMEOUT_SECONDS: '600',
    },
  });
  primary = stack.regions[0]?.name as string;
  stack.setFault(primary, 'delivery', (event) => {
    for (const record of (event as SQSEvent).Records) {
      jobs.set(record.messageId, JSON.parse(record.body) as DeliveryJob);
    }
    throw new Error('injected: no delivery to seeded connections, which have no socket');
  });
  const now = Date.now();
  const seeded = Array.from({ length: SEEDED_MEMBERS }, (_, i) => ({
    room: BIG,
    user: `u${String(i + 1).padStart(4, '0')}`,
    connectionId: `cb-seed-${i + 1}=`,
    region: primary,
    now,
  }));
  const db = dbOf(stack, primary);
  await putConnections(db, seeded);
  await putMemberships(db, seeded);
  await putMessages(db, [...seedMessages(SMALL, 5), ...seedMessages(BIG, BIG_MESSAGES)], 1);
  alice = await pool.open(primary, 'alice');
  bob = await pool.open(primary, 'bob');
  // Each join runs to its end (the big room's announcement too) before any frame is counted.
  await runToEnd(stack, primary, bob, 'join', { action: 'join', room: SMALL });
  await runToEnd(stack, primary, bob, 'join', { action: 'join', room: BIG });
});

afterAll(async () => {
  await pool.closeAll();
  await stack?.stop();
});

const shapeOf = async (room: string): Promise<Shape> => {
  const prefixed = (prefix: string) => ({
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
    ExpressionAttributeValues: { ':pk': partitions.room(room), ':prefix': prefix },
  });
  return {
    memberPages: await queryPages(stack, primary, prefixed(prefixes.member(primary))),
    presentPages: await queryPages(stack, primary, {
      ...prefixed(prefixes.present),
      Select: 'COUNT',
      Limit: MEMBER_COUNT_MAX,
    }),
  };
};

/**
 * Counts what one frame of alice's route invocation did, from the meters' reset to the end of the
 * invocation, and the delivery jobs of its broadcast (`broadcast` picks its frame; `targets`
 * connections are expected in them).
 */
const measure = async (
  handler: string,
  frame: Record<string, unknown>,
  broadcast?: { frame: (f: Frame) => boolean; targets: number },
): Promise<Cost & { reply: Frame }> => {
  stack.resetConsumedCapacity();
  stack.resetConnectionsCalls();
  const { reply, others } = await runToEnd(stack, primary, alice, handler, frame);
  const dynamo = Object.fromEntries(
    Object.entries(stack.consumedCapacity()[primary]?.byOperation ?? {}).map(([op, c]) => [op, c.calls]),
  );
  const connections = { ...(stack.connectionsCalls()[primary]?.byOperation ?? {}) };
  // Nothing else ran in the region but the fan-out, which ignores the region's own writes (no
  // calls), and the failed delivery worker (no calls).
  expect([...others].filter((name) => name !== 'fanout' && name !== 'delivery')).toEqual([]);
  let queued = 0;
  if (broadcast) {
    const mine = () => [...jobs.values()].filter((job) => broadcast.frame(job.frame as unknown as Frame));
    await eventually(async () => mine().flatMap((job) => job.connectionIds).length >= broadcast.targets);
    for (const job of mine()) expect(job.connectionIds.length).toBeLessThanOrEqual(DELIVERY_BATCH_IDS);
    expect(new Set(mine().flatMap((job) => job.connectionIds)).size).toBe(broadcast.targets);
    queued = mine().length;
  }
  return { reply, dynamo, connections, jobs: queued };
};

/** Every count within the bound, and no operation outside it. */
const expectWithin = (cost: Cost, bound: Bound): void => {
  for (const [op, calls] of Object.entries(cost.dynamo)) {
    expect({ op, calls }).toEqual({ op, calls: Math.min(calls, bound.dynamo[op] ?? 0) });
  }
  for (const [op, calls] of Object.entries(cost.connections)) {
    expect({ op, calls }).toEqual({ op, calls: Math.min(calls, bound.connections[op] ?? 0) });
  }
};

/** One route at both sizes: the small frame goes to the small room's context, the large to the large's. */
interface RouteCase {
  route: string;
  handler: string;
  frame: (size: Size) => Record<string, unknown>;
  reply: string;
  /** The frame's broadcast, and its targets given the room's local members before the frame. */
  broadcast?: { frame: (f: Frame) => boolean; targets: (members: number) => number };
}

type Size = 'small' | 'large';
const roomOf = (size: Size): string => (size === 'small' ? SMALL : BIG);

/** `since` with `primary` and, large, 15 more well-formed origins the room has no messages from. */
const sinceOf = (size: Size): Record<string, number> =>
  Object.fromEntries([
    [primary, 0],
    ...(size === 'small'
      ? []
      : Array.from({ length: MAX_CURSOR_KEYS - 1 }, (_, i) => [`zz-bound-${i + 1}`, 0])),
  ]);

const presenceOf = (event: string) => (f: Frame) =>
  f.type === 'presence' && f.room === BIG && f.user === 'alice' && f.event === event;

// In this order, on alice's one connection: a first join of each room, the other routes, the leave last.
const CASES: RouteCase[] = [
  {
    route: 'join',
    handler: 'join',
    frame: (size) => ({ action: 'join', room: roomOf(size), since: sinceOf(size) }),
    reply: 'joined',
    broadcast: { frame: presenceOf('join'), targets: (members) => members },
  },
  {
    route: 'ping',
    handler: 'ping',
    // A ping reads nothing of its frame: large, it carries 16 KiB the schema strips.
    frame: (size) => ({ action: 'ping', ...(size === 'small' ? {} : { pad: 'x'.repeat(16 * 1024) }) }),
    reply: 'pong',
  },
  {
    route: 'send',
    handler: 'send',
    // 10 bytes, and the 16 KiB limit (16,382 characters and their quotes).
    frame: (size) => ({
      action: 'send',
      room: roomOf(size),
      id: `cb-${size}`,
      body: size === 'small' ? 'ten bytes' : 'x'.repeat(16_382),
    }),
    reply: 'ack',
    broadcast: { frame: (f) => f.type === 'message' && f.id === 'cb-large', targets: (members) => members },
  },
  {
    route: 'history',
    handler: 'history',
    frame: (size) => ({ action: 'history', room: roomOf(size), limit: 100 }),
    reply: 'history',
  },
  {
    route: 'presence',
    handler: 'presence',
    frame: (size) => ({ action: 'presence', room: roomOf(size) }),
    reply: 'presence',
  },
  {
    route: '$default',
    handler: 'default',
    frame: (size) => ({ action: 'nope', ...(size === 'small' ? {} : { pad: 'x'.repeat(16 * 1024) }) }),
    reply: 'error',
  },
  {
    route: 'leave',
    handler: 'leave',
    frame: (size) => ({ action: 'leave', room: roomOf(size) }),
    reply: 'left',
    broadcast: { frame: presenceOf('leave'), targets: (members) => members - 1 },
  },
];

/** What was measured, for `.local/logs/call-bounds.json`: route, size, counts. */
const measured: {
  route: string;
  size: Size;
  dynamo: Record<string, number>;
  connections: Record<string, number>;
  sqsJobs: number;
}[] = [];

afterAll(() => {
  mkdirSync(logDir, { recursive: true });
  writeFileSync(join(logDir, 'call-bounds.json'), `${JSON.stringify(measured, null, 2)}\n`);
});

describe('Call bounds: one frame per route, small and large', () => {
  it.each(CASES)(
    '$route: the calls of one frame stay within one bound, in a small and a large room',
    async (c) => {
      for (const size of ['small', 'large'] as const) {
        // Prepare
        const room = roomOf(size);
        const shape = await shapeOf(room);
        const targets =
          c.broadcast?.targets(
            (await itemsOf(stack, primary, partitions.room(room), prefixes.member(primary))).length,
          ) ?? 0;
        const queued = c.broadcast !== undefined && targets > INLINE_MAX;

        // Act
        const cost = await measure(
          c.handler,
          c.frame(size),
          queued ? { frame: c.broadcast?.frame as (f: Frame) => boolean, targets } : undefined,
        );
        measured.push({
          route: c.route,
          size,
          dynamo: cost.dynamo,
          connections: cost.connections,
          sqsJobs: cost.jobs,
        });

        // Assess
        expect(cost.reply.type).toBe(c.reply);
        expectWithin(cost, (BOUNDS[c.handler] as (room: Shape) => Bound)(shape));
        // The broadcast: inline to at most INLINE_MAX local members, else one job per 100 of them.
        expect(cost.jobs).toBe(queued ? Math.ceil(targets / DELIVERY_BATCH_IDS) : 0);
      }
    },
  );
});
