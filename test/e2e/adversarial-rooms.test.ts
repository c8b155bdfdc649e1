/**
 * Hostile use of rooms against the local stack, over real sockets: a resume past the replay
 * limit, re-joins, a room of 1,900 members, 500 joins at once on one connection and 100
 * `$connect`s at once of one user. Each is answered within the protocol's bounds (`docs/protocol.md`,
 * "Limits (v1.1)"), leaves the table as it should, and leaves the connections served. Frames and
 * tokens: `adversarial-frames.test.ts`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys, type MessageItem, partitions, prefixes } from '../../lambdas/shared/store/keys.js';
import { putConnections, putMemberships, putMessages } from '../../lambdas/shared/store/seeding.js';
import type { LocalStack } from '../../local/stack.js';
import type { Member, MessageFrame } from '../../protocol/index.js';
import {
  clientPool,
  connectionIdOf,
  connectionIdsOf,
  dbOf,
  expectStillServed,
  itemsOf,
  MAX_REPLY_BYTES,
  rawFrames,
  rawReply,
  runToEnd,
} from './adversarial-helpers.js';
import {
  connect,
  eventually,
  type Frame,
  HandshakeRefused,
  isType,
  startTestStack,
  type TestClient,
  urlFor,
} from './helpers.js';

/** The replay limit of this file's stack, small so that a resume needs several joins. */
const MAX_REPLAY = 50;

let stack: LocalStack;
let primary: string;
let secondary: string;
const pool = clientPool(() => stack);

beforeAll(async () => {
  stack = await startTestStack({
    handlerEnvironment: {
      MAX_REPLAY: String(MAX_REPLAY),
      // 500 joins at once must meet the rooms limit, not the join rate limit (burst 100 by default).
      JOIN_BURST: '1000',
      // Seeded members are heard from once, when seeded; the liveness rule still reads them, but
      // must not drop them while this file runs on a slow machine.
      PRESENCE_TIMEOUT_SECONDS: '600',
    },
  });
  primary = stack.regions[0]?.name as string;
  secondary = stack.regions[1]?.name as string;
});

afterAll(async () => {
  await pool.closeAll();
  await stack?.stop();
});

const messagesOf = (client: TestClient, room: string, from = 0): MessageFrame[] =>
  client.frames.slice(from).filter(isType('message', (f) => f.room === room)) as unknown as MessageFrame[];

describe('Adversarial rooms: replay', () => {
  it('replays at most maxReplay messages per join with more: true, and re-joins with the cursor until more is absent yield each once, in order', async () => {
    // Prepare
    const room = 'adv-replay';
    const total = 4 * MAX_REPLAY + 30;
    const base = Date.now() - total;
    const seeded: MessageItem[] = Array.from({ length: total }, (_, i) => ({
      room,
      id: `m-${i + 1}`,
      origin: primary,
      seq: i + 1,
      from: 'seeder',
      body: JSON.stringify({ n: i + 1 }),
      ts: base + i,
      region: primary,
    }));
    await putMessages(dbOf(stack, primary), seeded, 1);
    const resumer = await pool.open(primary, 'rhea');
    const member = await pool.open(primary, 'rex');
    await member.request({ action: 'join', room });

    // Act
    const rounds: { joined: Frame; replayed: MessageFrame[] }[] = [];
    let since: Record<string, number> = { [primary]: 0 };
    for (let round = 1; round <= 10; round++) {
      const ref = `replay-${round}`;
      resumer.send({ action: 'join', room, since, ref });
      const joined = await resumer.next((f) => f.ref === ref);
      const at = resumer.frames.indexOf(joined);
      const cursor = (joined.cursor as Record<string, number>)[primary] ?? 0;
      const expected = Math.min(MAX_REPLAY, cursor - (since[primary] ?? 0));
      const replayed = await eventually(async () => {
        const got = messagesOf(resumer, room, at);
        return got.length >= expected && got;
      });
      rounds.push({ joined, replayed });
      since = { [primary]: replayed.at(-1)?.seq ?? since[primary] ?? 0 };
      if (joined.more !== true) break;
    }
    // A marker sent after the last round arrives after anything that round could still replay.
    const marker = await expectStillServed(resumer, room, member, resumer);

    // Assess
    expect(rounds.map((r) => r.joined.more)).toEqual([true, true, true, true, undefined]);
    expect(rounds.map((r) => r.replayed.length)).toEqual([50, 50, 50, 50, 30]);
    for (const { joined } of rounds) expect(joined.cursor).toEqual({ [primary]: total });
    const all = messagesOf(resumer, room).filter((message) => message.id !== marker);
    expect(all.map((message) => message.seq)).toEqual(seeded.map((message) => message.seq));
    expect(all.map((message) => message.body)).toEqual(seeded.map((message) => JSON.parse(message.body)));
    const resumerId = await connectionIdOf(stack, primary, 'rhea');
    const memberships = await itemsOf(
      stack,
      primary,
      partitions.connection(resumerId),
      prefixes.connectionRoom,
    );
    expect(memberships.map((item) => item.sk)).toEqual([keys.connectionRoom(resumerId, room).sk]);
  });
});

describe('Adversarial rooms: re-join', () => {
  it('announces nothing to the room for a re-join of a joined room', async () => {
    // Prepare
    const room = 'adv-rejoin';
    const watcher = await pool.open(primary, 'wanda');
    const rejoiner = await pool.open(primary, 'rory');
    await watcher.request({ action: 'join', room });
    await rejoiner.request({ action: 'join', room });
    await watcher.next(isType('presence', (f) => f.user === 'rory' && f.event === 'join'));

    // Act
    // Once the re-join's invocation has ended, any announcement it made was posted before the marker is sent.
    const { reply: joined } = await runToEnd(stack, primary, rejoiner, 'join', { action: 'join', room });
    const marker = await expectStillServed(rejoiner, room, rejoiner, watcher);

    // Assess
    expect(joined).toMatchObject({ type: 'joined', room, memberCount: 2 });
    const upToMarker = watcher.frames.slice(
      0,
      watcher.frames.findIndex((f) => f.type === 'message' && f.id === marker),
    );
    expect(upToMarker.filter(isType('presence', (f) => f.user === 'rory'))).toHaveLength(1);
    const rejoinerId = await connectionIdOf(stack, primary, 'rory');
    const present = await itemsOf(stack, primary, partitions.room(room), prefixes.present);
    expect(present.map((item) => [item.user, [...(item.connections as Set<string>)]])).toEqual([
      ['rory', [rejoinerId]],
      ['wanda', [await connectionIdOf(stack, primary, 'wanda')]],
    ]);
  });
});

describe('Adversarial rooms: 1,900 members', () => {
  it('lists at most 100 members with the whole count, and presence pages list every member once, by user', async () => {
    // Prepare
    const room = 'adv-crowd';
    const seededCount = 1_900;
    // The seeded members are connections of the secondary region without sockets: its delivery
    // worker would find them gone (410) and remove them while the test reads them.
    stack.setFault(secondary, 'delivery', () => {
      throw new Error('injected: the secondary region delivers to no seeded member in this file');
    });
    const now = Date.now();
    const seeded = Array.from({ length: seededCount }, (_, i) => ({
      room,
      user: `m${String(i + 1).padStart(4, '0')}`,
      connectionId: `seed${i + 1}=`,
      region: secondary,
      now,
    }));
    // Written straight into the primary's replica, as replication from the secondary would leave
    // it (replicating 7,600 items one by one would take most of this file's time). The primary's
    // fan-out then announces each seeded member to the room's members there: the real members
    // may get some of those presence events, which nothing below reads (replies match by ref).
    await putConnections(dbOf(stack, primary), seeded);
    await putMemberships(dbOf(stack, primary), seeded);
    const member = await pool.open(primary, 'zelda');
    await member.request({ action: 'join', room });
    const joiner = await pool.open(primary, 'jo');
    const raw = rawFrames(joiner);

    // Act
    joiner.send({ action: 'join', room, ref: 'crowd-join' });
    const joined = await joiner.next((f) => f.ref === 'crowd-join');
    const pages: Frame[] = [];
    let after: string | undefined;
    for (let page = 1; page <= 30; page++) {
      const ref = `crowd-page-${page}`;
      joiner.send({ action: 'presence', room, ref, ...(after === undefined ? {} : { after }) });
      const reply = await joiner.next((f) => f.ref === ref);
      pages.push(reply);
      after = reply.next as string | undefined;
      if (after === undefined) break;
    }

    // Assess
    const total = seededCount + 2;
    expect((joined.members as Member[]).length).toBeLessThanOrEqual(100);
    expect(joined.memberCount).toBe(total);
    const listed = pages.flatMap((page) => page.members as Member[]);
    for (const page of pages) {
      expect((page.members as Member[]).length).toBeLessThanOrEqual(100);
      expect(page.memberCount).toBe(total);
    }
    expect(pages.at(-1)?.next).toBeUndefined();
    const users = listed.map((m) => m.user);
    expect(users).toEqual([...users].sort());
    expect(new Set(listed.map((m) => `${m.user}@${m.region}`)).size).toBe(total);
    expect(listed).toHaveLength(total);
    expect(listed.filter((m) => m.region === secondary).map((m) => m.user)).toEqual(
      seeded.map((s) => s.user),
    );
    for (const ref of ['crowd-join', ...pages.map((_, i) => `crowd-page-${i + 1}`)]) {
      expect(Buffer.byteLength(rawReply(raw, ref) ?? '')).toBeLessThanOrEqual(MAX_REPLY_BYTES);
    }
    await expectStillServed(joiner, room, joiner, member);
  });
});

describe('Adversarial rooms: many joins at once', () => {
  it('admits exactly maxRoomsPerConnection (50) of 500 concurrent joins of different rooms, and forbids the rest', async () => {
    // Prepare
    const greedy = await pool.open(primary, 'greta');
    const refs = Array.from({ length: 500 }, (_, i) => `many-${i}`);

    // Act
    for (const [i, ref] of refs.entries()) greedy.send({ action: 'join', room: `adv-many-${i}`, ref });
    const replies = await Promise.all(refs.map((ref) => greedy.next((f) => f.ref === ref, 60_000)));

    // Assess
    const joined = replies.filter(isType('joined'));
    const forbidden = replies.filter(isType('error', (f) => f.code === 'forbidden'));
    expect(joined).toHaveLength(50);
    expect(forbidden).toHaveLength(450);
    const greedyId = await connectionIdOf(stack, primary, 'greta');
    const rooms = await itemsOf(stack, primary, partitions.connection(greedyId), prefixes.connectionRoom);
    expect(rooms.map((item) => item.room).sort()).toEqual(joined.map((f) => f.room).sort());
    const room = joined[0]?.room as string;
    const member = await pool.open(primary, 'gus');
    await member.request({ action: 'join', room });
    await expectStillServed(greedy, room, greedy, member);
  });
});

describe('Adversarial rooms: many connections at once', () => {
  it('opens exactly maxConnectionsPerUser (10) of 100 concurrent $connects of one user and refuses 90 with HTTP 429', async () => {
    // Prepare
    const url = await urlFor(stack, stack.endpoints.regions[primary] as string, 'crowd');

    // Act
    const outcomes = await Promise.allSettled(Array.from({ length: 100 }, () => connect(url)));

    // Assess
    const open = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
    try {
      expect(open).toHaveLength(10);
      expect(refused).toHaveLength(90);
      for (const reason of refused) {
        expect(reason).toBeInstanceOf(HandshakeRefused);
        expect((reason as HandshakeRefused).status).toBe(429);
      }
      expect((await connectionIdsOf(stack, primary, 'crowd')).length).toBe(10);
      const [first, second] = open as [TestClient, TestClient];
      await first.request({ action: 'join', room: 'adv-crowd-of-one' });
      await second.request({ action: 'join', room: 'adv-crowd-of-one' });
      await expectStillServed(first, 'adv-crowd-of-one', first, second);
    } finally {
      await Promise.all(open.map((client) => client.close()));
    }
  });
});
