/**
 * Hostile frames and tokens against the local stack, over real sockets: each is answered with a
 * clear error (or refused at the handshake) or a bounded reply, leaves nothing in the table that
 * it should not, and leaves the offending connection and the room's other members served.
 * `since` too large, bodies nested thousands deep, history of large messages, tokens the v1.1
 * rules refuse, an id another sender stored, a backtracking-prone room pattern, and the
 * per-connection rate limits (one row per action that has one). Rooms and the replay limit:
 * `adversarial-rooms.test.ts`.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyClient } from '../../client/index.js';
import { keys, partitions, prefixes } from '../../lambdas/shared/store/keys.js';
import type { LocalStack } from '../../local/stack.js';
import type { MessageFrame } from '../../protocol/index.js';
import {
  clientPool,
  connectionIdOf,
  expectStillServed,
  itemsOf,
  MAX_REPLY_BYTES,
  nowSeconds,
  rawFrames,
  rawReply,
  sendInFrames,
  signToken,
} from './adversarial-helpers.js';
import { eventually, type Frame, isType, refusedStatus, startTestStack } from './helpers.js';

/** A per-connection rate limit: one row per action that has one. */
interface RateLimitRow {
  action: string;
  /** The handler settings that make the limit small enough to pass in a test. */
  settings: Record<string, string>;
  /** Frames admitted at once, and refilled per second, under `settings`. */
  burst: number;
  ratePerSecond: number;
  /** Tokens the offender spent before the flood (joining the room). */
  spent: number;
  /** The `n`th frame of the flood, to `room` (which the offender has joined). */
  frame: (room: string, n: number) => Record<string, unknown>;
  /** The reply type of an admitted frame. */
  admittedType: string;
  /**
   * For an action that writes: what the flood left in the table, one key per admitted frame,
   * compared with `keyOf` of the admitted replies: nothing may be there for a refused frame.
   */
  stored?: (stack: LocalStack, region: string, room: string, offender: string) => Promise<string[]>;
  keyOf?: (reply: Frame) => string;
}

/** Every action's limit, small (burst 5 or 10, one a second) so that a flood of 20 passes it. */
const RATE_LIMITS: RateLimitRow[] = [
  {
    action: 'send',
    settings: { SEND_BURST: '10', SEND_RATE_PER_SECOND: '1' },
    burst: 10,
    ratePerSecond: 1,
    spent: 0,
    frame: (room, n) => ({ action: 'send', room, id: `flood-${n}`, body: n }),
    admittedType: 'ack',
    stored: async (stack, region, room) =>
      (await itemsOf(stack, region, partitions.room(room), prefixes.messages)).map((item) => String(item.id)),
    keyOf: (reply) => String(reply.id),
  },
  {
    action: 'join',
    settings: { JOIN_BURST: '10', JOIN_RATE_PER_SECOND: '1' },
    burst: 10,
    ratePerSecond: 1,
    spent: 1,
    frame: (room, n) => ({ action: 'join', room: `${room}-${n}` }),
    admittedType: 'joined',
    // The rooms the offender's connection holds, but the one it joined first.
    stored: async (stack, region, room, offender) =>
      (
        await itemsOf(
          stack,
          region,
          partitions.connection(await connectionIdOf(stack, region, offender)),
          prefixes.connectionRoom,
        )
      )
        .map((item) => String(item.room))
        .filter((joined) => joined !== room),
    keyOf: (reply) => String(reply.room),
  },
  {
    action: 'leave',
    settings: { LEAVE_BURST: '10', LEAVE_RATE_PER_SECOND: '1' },
    burst: 10,
    ratePerSecond: 1,
    spent: 0,
    // Rooms it is not in: answered `left`, idempotently, while the burst lasts.
    frame: (room, n) => ({ action: 'leave', room: `${room}-never-${n}` }),
    admittedType: 'left',
  },
  {
    action: 'history',
    settings: { HISTORY_BURST: '5', HISTORY_RATE_PER_SECOND: '1' },
    burst: 5,
    ratePerSecond: 1,
    spent: 0,
    frame: (room) => ({ action: 'history', room }),
    admittedType: 'history',
  },
  {
    action: 'presence',
    settings: { PRESENCE_BURST: '5', PRESENCE_RATE_PER_SECOND: '1' },
    burst: 5,
    ratePerSecond: 1,
    spent: 0,
    frame: (room) => ({ action: 'presence', room }),
    admittedType: 'presence',
  },
  {
    action: 'ping',
    settings: { PING_BURST: '5', PING_RATE_PER_SECOND: '1' },
    burst: 5,
    ratePerSecond: 1,
    spent: 0,
    frame: () => ({ action: 'ping' }),
    admittedType: 'pong',
  },
];

const jwtSecret = randomBytes(32).toString('hex');
let stack: LocalStack;
let region: string;
const pool = clientPool(() => stack);
const sdkClients: ParleyClient[] = [];

beforeAll(async () => {
  stack = await startTestStack({
    jwtSecret,
    handlerEnvironment: Object.assign({}, ...RATE_LIMITS.map((row) => row.settings)),
  });
  region = stack.regions[0]?.name as string;
});

afterAll(async () => {
  for (const client of sdkClients) client.close();
  await pool.closeAll();
  await stack?.stop();
});

/** Opens `offender` and `member` of `room`, both joined. */
const pair = async (room: string, offender: string, member: string) => {
  const bad = await pool.open(region, offender);
  const good = await pool.open(region, member);
  await bad.request({ action: 'join', room });
  await good.request({ action: 'join', room });
  return { bad, good };
};

const roomItems = (room: string, prefix = '') => itemsOf(stack, region, partitions.room(room), prefix);

describe('Adversarial frames: join.since', () => {
  it('answers bad_request to 12,000 made-up origins in one ~104 KB message of several frames, and to 17 origins', async () => {
    // Prepare
    const room = 'adv-since';
    const { bad, good } = await pair('adv-since-witness', 'sam', 'sue');
    const origins = Object.fromEntries(Array.from({ length: 12_000 }, (_, i) => [`k${i.toString(36)}`, 0]));
    const huge = JSON.stringify({ action: 'join', room, ref: 'huge-since', since: origins });
    const seventeen = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`xx-adv-${i + 1}`, 0]));

    // Act
    const frames = sendInFrames(bad, huge, 32 * 1024);
    const hugeReply = await bad.next((f) => f.ref === 'huge-since');
    const seventeenReply = await bad.request({ action: 'join', room, since: seventeen });

    // Assess
    expect(huge.length).toBeGreaterThan(100_000);
    expect(huge.length).toBeLessThan(MAX_REPLY_BYTES);
    expect(frames).toBeGreaterThanOrEqual(4);
    expect(hugeReply).toMatchObject({ type: 'error', code: 'bad_request', action: 'join' });
    expect(seventeenReply).toMatchObject({ type: 'error', code: 'bad_request', action: 'join' });
    const badId = await connectionIdOf(stack, region, 'sam');
    expect(await roomItems(room)).toEqual([]);
    const badRooms = await itemsOf(stack, region, partitions.connection(badId), prefixes.connectionRoom);
    expect(badRooms.map((item) => item.sk)).toEqual([keys.connectionRoom(badId, 'adv-since-witness').sk]);
    await expectStillServed(bad, 'adv-since-witness', bad, good);
  });
});

describe('Adversarial frames: deep bodies', () => {
  it('answers bad_request to bodies nested 2,000 and 4,000 deep, stores nothing, and an SDK member reads on', async () => {
    // Prepare
    const room = 'adv-deep';
    const bad = await pool.open(region, 'dora');
    await bad.request({ action: 'join', room });
    const sdk = new ParleyClient({
      endpoints: [{ url: stack.endpoints.regions[region] as string, region }],
      token: () => stack.token('dmitri'),
    });
    sdkClients.push(sdk);
    const received: MessageFrame[] = [];
    const errors: unknown[] = [];
    sdk.on('message', (message) => received.push(message));
    sdk.on('error', (error) => errors.push(error));
    await sdk.join(room);
    const arrays = `${'['.repeat(2_000)}${']'.repeat(2_000)}`;
    const objects = `${'{"a":'.repeat(4_000)}1${'}'.repeat(4_000)}`;

    // Act
    bad.ws.send(`{"action":"send","room":"${room}","id":"deep-2000","ref":"deep-2000","body":${arrays}}`);
    bad.ws.send(`{"action":"send","room":"${room}","id":"deep-4000","ref":"deep-4000","body":${objects}}`);
    const replies = [
      await bad.next((f) => f.ref === 'deep-2000'),
      await bad.next((f) => f.ref === 'deep-4000'),
    ];
    const next = await bad.request({ action: 'send', room, id: 'shallow', body: [[['fine']]] });

    // Assess
    for (const reply of replies)
      expect(reply).toMatchObject({ type: 'error', code: 'bad_request', action: 'send' });
    expect(next).toMatchObject({ type: 'ack', id: 'shallow', seq: 1 });
    await eventually(async () => received.some((message) => message.id === 'shallow'));
    expect(received.map((message) => message.id)).toEqual(['shallow']);
    expect(errors).toEqual([]);
    const stored = await roomItems(room, prefixes.messages);
    expect(stored.map((item) => item.id)).toEqual(['shallow']);
    expect(await roomItems(room, 'ID#deep')).toEqual([]);
    expect(await bad.request({ action: 'ping' })).toMatchObject({ type: 'pong' });
  });
});

describe('Adversarial frames: history of large messages', () => {
  it('answers a page of at most 128 KiB with fewer than nine 16 KiB messages, and paging on returns each once', async () => {
    // Prepare
    const room = 'adv-history';
    const { bad, good } = await pair(room, 'hal', 'hana');
    const raw = rawFrames(bad);
    const writer = await pool.open(region, 'hugo');
    await writer.request({ action: 'join', room });
    const body = 'x'.repeat(16_382); // 16,384 bytes serialized: the body limit
    for (let n = 1; n <= 9; n++) {
      expect(await writer.request({ action: 'send', room, id: `big-${n}`, body })).toMatchObject({
        type: 'ack',
      });
    }

    // Act
    const pages: Frame[] = [];
    const sizes: number[] = [];
    let before: number | undefined;
    for (let page = 1; page <= 9; page++) {
      const ref = `history-page-${page}`;
      bad.send({ action: 'history', room, ref, ...(before === undefined ? {} : { before }) });
      const reply = await bad.next((f) => f.ref === ref);
      const text = await eventually(async () => rawReply(raw, ref));
      sizes.push(Buffer.byteLength(text));
      const messages = reply.messages as MessageFrame[];
      if (messages.length === 0) break;
      pages.push(reply);
      before = messages[0]?.ts;
    }

    // Assess
    const ids = pages.flatMap((page) => (page.messages as MessageFrame[]).map((message) => message.id));
    expect(pages.length).toBeGreaterThanOrEqual(2);
    expect((pages[0]?.messages as MessageFrame[] | undefined)?.length ?? 0).toBeLessThan(9);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(MAX_REPLY_BYTES);
    expect(ids.toSorted()).toEqual(Array.from({ length: 9 }, (_, i) => `big-${i + 1}`).toSorted());
    expect(new Set(ids).size).toBe(9);
    expect(await roomItems(room, prefixes.messages)).toHaveLength(9);
    await expectStillServed(bad, room, good, bad);
  });
});

describe('Adversarial frames: tokens', () => {
  it('refuses at the handshake a token without exp, one expiring in 2100, and a sub with U+202E or U+0000', async () => {
    // Prepare
    const now = nowSeconds();
    const year2100 = Date.UTC(2100, 0, 1) / 1000;
    const refused = {
      'no-exp': await signToken(jwtSecret, { sub: 'tok-no-exp', iat: now }),
      'exp-2100': await signToken(jwtSecret, { sub: 'tok-2100', iat: now, exp: year2100 }),
      bidi: await signToken(jwtSecret, { sub: 'tok-\u202egnp.exe', iat: now, exp: now + 600 }),
      nul: await signToken(jwtSecret, { sub: 'tok-\u0000root', iat: now, exp: now + 600 }),
    };
    const endpoint = stack.endpoints.regions[region] as string;

    // Act
    const statuses = Object.fromEntries(
      await Promise.all(
        Object.entries(refused).map(async ([name, token]) => [
          name,
          await refusedStatus(`${endpoint}?token=${token}`),
        ]),
      ),
    );
    // The same signing with acceptable claims opens a connection: the refusals are the claims'.
    const control = await pool.open(
      region,
      'tok-ok',
      await signToken(jwtSecret, { sub: 'tok-ok', iat: now, exp: now + 600 }),
    );

    // Assess
    for (const status of Object.values(statuses)) expect([401, 403]).toContain(status);
    for (const sub of ['tok-no-exp', 'tok-2100', 'tok-\u202egnp.exe', 'tok-\u0000root']) {
      expect(await itemsOf(stack, region, partitions.user(sub))).toEqual([]);
    }
    const member = await pool.open(region, 'tok-member');
    await control.request({ action: 'join', room: 'adv-tokens' });
    await member.request({ action: 'join', room: 'adv-tokens' });
    await expectStillServed(control, 'adv-tokens', control, member);
  });
});

describe('Adversarial frames: another sender’s id', () => {
  it('answers conflict to a send of a (room, id) another user stored, and the stored message is unchanged', async () => {
    // Prepare
    const room = 'adv-conflict';
    const { bad, good } = await pair(room, 'mallory', 'alice');
    const first = await good.request({ action: 'send', room, id: 'taken', body: 'the original' });
    const before = await roomItems(room);

    // Act
    const reply = await bad.request({ action: 'send', room, id: 'taken', body: 'a forgery' });

    // Assess
    expect(first).toMatchObject({ type: 'ack', seq: 1 });
    expect(reply).toMatchObject({ type: 'error', code: 'conflict', action: 'send' });
    expect(await roomItems(room)).toEqual(before);
    const [message] = await roomItems(room, prefixes.messages);
    expect(message).toMatchObject({
      id: 'taken',
      from: 'alice',
      body: JSON.stringify('the original'),
      seq: 1,
    });
    await expectStillServed(bad, room, bad, good);
  });
});

describe('Adversarial frames: room patterns', () => {
  it('answers forbidden to a room the pattern *a (12 times) does not match, in linear time', async () => {
    // Prepare
    const pattern = '*a'.repeat(12);
    const room = `${'a'.repeat(120)}b`;
    const allowed = 'a'.repeat(12);
    const now = nowSeconds();
    const token = await signToken(jwtSecret, { sub: 'pat', iat: now, exp: now + 600, rooms: [pattern] });
    const bad = await pool.open(region, 'pat', token);
    const member = await pool.open(region, 'pam');
    await member.request({ action: 'join', room: allowed });

    // Act
    const reply = await bad.request({ action: 'join', room });

    // Assess
    expect(reply).toMatchObject({ type: 'error', code: 'forbidden', action: 'join' });
    const badId = await connectionIdOf(stack, region, 'pat');
    expect(await roomItems(room)).toEqual([]);
    expect(await itemsOf(stack, region, partitions.connection(badId), prefixes.connectionRoom)).toEqual([]);
    expect(await bad.request({ action: 'join', room: allowed })).toMatchObject({ type: 'joined' });
    await expectStillServed(bad, allowed, bad, member);
  });
});

describe('Adversarial frames: per-connection rate limits', () => {
  it.each(RATE_LIMITS)(
    'answers rate_limited to $action frames past the burst, and the excess changes nothing',
    async (row) => {
      // Prepare
      const room = `adv-rate-${row.action}`;
      const { bad, good } = await pair(room, `flood-${row.action}`, `calm-${row.action}`);
      const count = row.burst + 10;
      const refs = Array.from({ length: count }, (_, n) => `flood-${row.action}-${n}`);

      // Act
      const started = Date.now();
      for (const [n, ref] of refs.entries()) bad.send({ ...row.frame(room, n), ref });
      const replies = await Promise.all(refs.map((ref) => bad.next((f) => f.ref === ref)));
      const elapsedMs = Date.now() - started;

      // Assess
      const admitted = replies.filter((reply) => reply.type === row.admittedType);
      const limited = replies.filter(isType('error', (f) => f.code === 'rate_limited'));
      expect(admitted.length + limited.length).toBe(count);
      // A full bucket admits the whole burst at once; beyond it only what the rate refilled meanwhile.
      expect(admitted.length).toBeGreaterThanOrEqual(row.burst - row.spent);
      expect(admitted.length).toBeLessThanOrEqual(
        row.burst + Math.floor((elapsedMs * row.ratePerSecond) / 1000),
      );
      expect(limited.length).toBeGreaterThan(0);
      if (row.stored !== undefined && row.keyOf !== undefined) {
        const stored = await row.stored(stack, region, room, `flood-${row.action}`);
        expect(stored.toSorted()).toEqual(admitted.map(row.keyOf).toSorted());
      }
      await expectStillServed(bad, room, good, bad);
    },
  );
});
