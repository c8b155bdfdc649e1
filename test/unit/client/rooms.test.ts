import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BadRequestError,
  ForbiddenError,
  ParleyError,
  PayloadTooLargeError,
  PROTOCOL_ERROR_CLASSES,
  ProtocolViolationError,
  RequestTimeoutError,
  SendTimeoutError,
} from '../../../client/errors.js';
import { ERROR_CODES } from '../../../protocol/index.js';
import type { FakeWebSocket } from './fake-web-socket.js';
import { createHarness, delivered, type Harness, joinRoom, message, openNext } from './harness.js';

describe('Client: rooms, sends and delivery', () => {
  let harness: Harness;
  let socket: FakeWebSocket;

  beforeEach(async () => {
    vi.useFakeTimers();
    harness = createHarness({ pingIntervalMs: 3_600_000, gapTimeoutMs: 3_000, sendTimeoutMs: 20_000 });
    socket = await openNext();
  });

  afterEach(() => {
    harness.client.close();
    vi.useRealTimers();
  });

  /** Drops the connection and opens the next one (after the 250 ms backoff of random 0.5). */
  const reconnect = async (): Promise<FakeWebSocket> => {
    socket.drop();
    await vi.advanceTimersByTimeAsync(250);
    socket = await openNext();
    return socket;
  };

  describe('join', () => {
    it('sends join without since the first time and resolves with the cursor and members', async () => {
      // Act
      const joined = harness.client.join('lobby');
      const frame = socket.take('join');
      socket.reply({
        type: 'joined',
        ref: frame.ref,
        room: 'lobby',
        cursor: { 'us-east-1': 7 },
        members: [{ user: 'bob', region: 'us-east-1' }],
        region: 'us-east-1',
      });

      // Assess
      expect(frame).toEqual({ action: 'join', room: 'lobby', ref: expect.any(String) });
      await expect(joined).resolves.toEqual({
        room: 'lobby',
        cursor: { 'us-east-1': 7 },
        members: [{ user: 'bob', region: 'us-east-1' }],
      });
      expect(harness.joined).toEqual([
        {
          room: 'lobby',
          cursor: { 'us-east-1': 7 },
          members: [{ user: 'bob', region: 'us-east-1' }],
          resumed: false,
          region: 'us-east-1',
        },
      ]);
      expect(harness.client.connection.region).toBe('us-east-1');
      expect(harness.client.rooms()).toEqual(['lobby']);
    });

    it('treats messages stored before the join as history: live traffic starts after joined.cursor', async () => {
      // Prepare
      await joinRoom(harness, socket, 'lobby', { 'us-east-1': 7 });

      // Act
      socket.reply(message('lobby', 'us-east-1', 7));
      socket.reply(message('lobby', 'us-east-1', 8));

      // Assess
      expect(delivered(harness)).toEqual(['us-east-1:8']);
    });

    it('holds messages that arrive before the first joined until it says where the room starts', async () => {
      // Act
      const joined = harness.client.join('lobby');
      const frame = socket.take('join');
      socket.reply(message('lobby', 'us-east-1', 3));
      socket.reply(message('lobby', 'us-east-1', 4));
      const beforeJoined = delivered(harness);
      socket.reply({
        type: 'joined',
        ref: frame.ref,
        room: 'lobby',
        cursor: { 'us-east-1': 3 },
        members: [],
      });
      await joined;

      // Assess
      expect(beforeJoined).toEqual([]);
      expect(delivered(harness)).toEqual(['us-east-1:4']);
    });

    it('rejects a join the server refuses, and forgets the room', async () => {
      // Act
      const joined = harness.client.join('secret');
      const frame = socket.take('join');
      socket.reply({ type: 'error', code: 'forbidden', message: 'no', ref: frame.ref, action: 'join' });

      // Assess
      await expect(joined).rejects.toBeInstanceOf(ForbiddenError);
      expect(harness.client.rooms()).toEqual([]);
    });

    it('rejects an invalid room name without sending anything', async () => {
      // Act
      const joined = harness.client.join('no spaces allowed');

      // Assess
      await expect(joined).rejects.toBeInstanceOf(BadRequestError);
      expect(socket.framesOf('join')).toEqual([]);
    });

    it('rejects a join that is never answered with RequestTimeoutError', async () => {
      // Prepare
      const joined = harness.client.join('lobby').catch((error: unknown) => error);

      // Act
      await vi.advanceTimersByTimeAsync(15_000);

      // Assess
      expect(await joined).toBeInstanceOf(RequestTimeoutError);
      expect(harness.client.rooms()).toEqual([]);
    });
  });

  describe('send', () => {
    it('sends with a generated id and resolves with the ack matched by ref', async () => {
      // Prepare
      harness.client.close();
      harness = createHarness({ pingIntervalMs: 3_600_000, generateId: () => 'generated-1' });
      socket = await openNext();
      await joinRoom(harness, socket, 'lobby');

      // Act
      const sent = harness.client.send('lobby', { text: 'hi' });
      const frame = socket.take('send');
      socket.reply({
        type: 'ack',
        ref: frame.ref,
        room: 'lobby',
        id: 'generated-1',
        origin: 'us-east-1',
        seq: 1,
        ts: 5,
      });

      // Assess
      expect(frame).toEqual({
        action: 'send',
        room: 'lobby',
        id: 'generated-1',
        body: { text: 'hi' },
        ref: expect.any(String),
      });
      await expect(sent).resolves.toEqual({
        room: 'lobby',
        id: 'generated-1',
        origin: 'us-east-1',
        seq: 1,
        ts: 5,
      });
    });

    it('generates a UUID by default and keeps a caller-chosen id', async () => {
      // Prepare
      await joinRoom(harness, socket, 'lobby');

      // Act
      // Never acked here: close() in afterEach rejects them, which this test does not examine.
      harness.client.send('lobby', 'a').catch(() => undefined);
      harness.client.send('lobby', 'b', { id: 'mine-1' }).catch(() => undefined);

      // Assess
      const [first, second] = socket.framesOf('send');
      expect(first?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(second?.id).toBe('mine-1');
    });

    it('waits for the room to be joined on the connection before sending to it', async () => {
      // Act
      const joined = harness.client.join('lobby');
      const sent = harness.client.send('lobby', 'early', { id: 'e1' });
      const sendsBeforeJoined = socket.framesOf('send').length;
      const join = socket.take('join');
      socket.reply({ type: 'joined', ref: join.ref, room: 'lobby', cursor: {}, members: [] });
      await joined;
      const frame = socket.take('send');
      socket.reply({
        type: 'ack',
        ref: frame.ref,
        room: 'lobby',
        id: 'e1',
        origin: 'us-east-1',
        seq: 1,
        ts: 1,
      });

      // Assess
      expect(sendsBeforeJoined).toBe(0);
      await expect(sent).resolves.toMatchObject({ id: 'e1', seq: 1 });
    });

    it('resends an unacknowledged send with the same id after a reconnect, and settles it once', async () => {
      // Prepare
      await joinRoom(harness, socket, 'lobby', { 'us-east-1': 1 });
      const onAck = vi.fn();
      const sent = harness.client.send('lobby', 'hello', { id: 'm1' }).then(onAck);
      const firstFrame = socket.take('send');

      // Act: the connection drops before the ack; the client reconnects and rejoins
      const second = await reconnect();
      const sendsBeforeRejoin = second.framesOf('send').length;
      const rejoin = second.take('join');
      second.reply({
        type: 'joined',
        ref: rejoin.ref,
        room: 'lobby',
        cursor: { 'us-east-1': 2 },
        members: [],
      });
      const resent = second.take('send');
      const ack = { type: 'ack', room: 'lobby', id: 'm1', origin: 'us-east-1', seq: 2, ts: 9 };
      second.reply({ ...ack, ref: resent.ref });
      // A duplicate ack (say, of the first attempt) changes nothing.
      second.reply({ ...ack, ref: firstFrame.ref });
      second.reply(ack);
      await sent;

      // Assess
      expect(sendsBeforeRejoin).toBe(0);
      expect(resent).toMatchObject({ room: 'lobby', id: 'm1', body: 'hello' });
      expect(onAck).toHaveBeenCalledTimes(1);
      expect(onAck).toHaveBeenCalledWith({ room: 'lobby', id: 'm1', origin: 'us-east-1', seq: 2, ts: 9 });
    });

    it('returns the same pending promise when the same (room, id) is sent twice', async () => {
      // Prepare
      await joinRoom(harness, socket, 'lobby');

      // Act
      const first = harness.client.send('lobby', 'x', { id: 'same' });
      const second = harness.client.send('lobby', 'x', { id: 'same' });

      first.catch(() => undefined);

      // Assess
      expect(second).toBe(first);
      expect(socket.framesOf('send')).toHaveLength(1);
    });

    it('rejects with SendTimeoutError when no ack comes within sendTimeoutMs, and stops resending', async () => {
      // Prepare
      await joinRoom(harness, socket, 'lobby');
      const sent = harness.client.send('lobby', 'lost', { id: 'm-timeout' }).catch((error: unknown) => error);

      // Act
      await vi.advanceTimersByTimeAsync(20_000);
      const error = await sent;
      const next = await reconnect();
      const rejoin = next.take('join');
      next.reply({ type: 'joined', ref: rejoin.ref, room: 'lobby', cursor: {}, members: [] });

      // Assess
      expect(error).toBeInstanceOf(SendTimeoutError);
      expect(error).toMatchObject({ code: 'send_timeout', room: 'lobby', id: 'm-timeout' });
      expect(next.framesOf('send')).toEqual([]);
    });

    it('rejects locally what the server would refuse: a bad id, an oversized body', async () => {
      // Act
      const badId = harness.client.send('lobby', 'x', { id: 'has space' });
      const tooLarge = harness.client.send('lobby', 'x'.repeat(16_385));

      // Assess
      await expect(badId).rejects.toBeInstanceOf(BadRequestError);
      await expect(tooLarge).rejects.toBeInstanceOf(PayloadTooLargeError);
      expect(socket.framesOf('send')).toEqual([]);
    });
  });

  describe('errors', () => {
    it.each(ERROR_CODES)('maps the %s error code to its typed error', async (code) => {
      // Prepare
      harness.client.close();
      harness = createHarness({ pingIntervalMs: 3_600_000, retryTransientSends: false });
      socket = await openNext();
      await joinRoom(harness, socket, 'lobby');
      const sent = harness.client.send('lobby', 'x', { id: 'e' });
      const frame = socket.take('send');

      // Act
      socket.reply({ type: 'error', code, message: `server says ${code}`, ref: frame.ref, action: 'send' });

      // Assess
      const error = await sent.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PROTOCOL_ERROR_CLASSES[code]);
      expect(error).toBeInstanceOf(ParleyError);
      expect(error).toMatchObject({
        code,
        message: `server says ${code}`,
        ref: frame.ref,
        action: 'send',
        room: 'lobby',
        id: 'e',
      });
    });

    it.each(['rate_limited', 'internal'] as const)(
      'retries a send answered %s with the same id after a backoff, and settles it once',
      async (code) => {
        // Prepare
        await joinRoom(harness, socket, 'lobby');
        const sent = harness.client.send('lobby', 'x', { id: 'busy' });
        const first = socket.take('send');

        // Act
        socket.reply({
          type: 'error',
          code,
          message: 'try again',
          ref: first.ref,
          action: 'send',
        });
        await vi.advanceTimersByTimeAsync(299);
        expect(socket.framesOf('send')).toHaveLength(1);
        // 100 ms floor + full jitter of 400 ms with random 0.5.
        await vi.advanceTimersByTimeAsync(1);
        const retry = socket.take('send');
        socket.reply({ type: 'ack', room: 'lobby', id: 'busy', origin: 'a', seq: 1, ts: 1, ref: retry.ref });

        // Assess
        expect(retry).toMatchObject({ action: 'send', room: 'lobby', id: 'busy', body: 'x' });
        expect(retry.ref).not.toBe(first.ref);
        await expect(sent).resolves.toEqual({ room: 'lobby', id: 'busy', origin: 'a', seq: 1, ts: 1 });
        await vi.advanceTimersByTimeAsync(10_000);
        expect(socket.framesOf('send')).toHaveLength(2);
      },
    );

    it('sends an unanswered send again on the same connection, with the same id', async () => {
      // Prepare
      await joinRoom(harness, socket, 'lobby');
      const sent = harness.client.send('lobby', 'x', { id: 'lost' });
      const first = socket.take('send');

      // Act: no reply for the resend interval (10 s by default).
      await vi.advanceTimersByTimeAsync(9_999);
      expect(socket.framesOf('send')).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      const again = socket.take('send');
      socket.reply({ type: 'ack', room: 'lobby', id: 'lost', origin: 'a', seq: 4, ts: 1, ref: again.ref });

      // Assess
      expect(again).toMatchObject({ room: 'lobby', id: 'lost', body: 'x' });
      expect(again.ref).not.toBe(first.ref);
      await expect(sent).resolves.toMatchObject({ id: 'lost', seq: 4 });
    });

    it('emits an error without a ref as an error event', () => {
      // Act
      socket.reply({ type: 'error', code: 'rate_limited', message: 'slow down' });

      // Assess
      expect(harness.errors).toHaveLength(1);
      expect(harness.errors[0]).toMatchObject({ code: 'rate_limited', message: 'slow down' });
    });

    it('reports frames that break the protocol, and ignores frame types it does not know', () => {
      // Act
      socket.replyRaw('not json');
      socket.reply({ type: 'ack', room: 'lobby' });
      socket.reply({ type: 'a-future-frame', anything: 1 });

      // Assess
      expect(harness.errors.map((e) => e.constructor)).toEqual([
        ProtocolViolationError,
        ProtocolViolationError,
      ]);
      expect(harness.client.state).toBe('open');
    });
  });

  describe('delivery', () => {
    it('drops a message whose (origin, seq) was already delivered', async () => {
      // Prepare
      await joinRoom(harness, socket, 'lobby');

      // Act
      socket.reply(message('lobby', 'us-east-1', 1));
      socket.reply(message('lobby', 'us-east-1', 1));
      socket.reply(message('lobby', 'us-east-1', 2));
      socket.reply(message('lobby', 'us-east-1', 1));

      // Assess
      expect(delivered(harness)).toEqual(['us-east-1:1', 'us-east-1:2']);
    });

    it('drops a message whose (room, id) was already delivered from another origin, keeping both sequences moving', async () => {
      // Prepare
      await joinRoom(harness, socket, 'lobby');

      // Act: a retried send stored in two regions (eventual mode), then later traffic from both
      socket.reply(message('lobby', 'us-east-1', 1, { id: 'retried' }));
      socket.reply(message('lobby', 'eu-west-1', 1, { id: 'retried' }));
      socket.reply(message('lobby', 'eu-west-1', 2));
      socket.reply(message('lobby', 'us-east-1', 2));

      // Assess
      expect(harness.messages.map((m) => m.id)).toEqual(['retried', 'eu-west-1-2', 'us-east-1-2']);
      expect(harness.client.cursor('lobby')).toEqual({ 'us-east-1': 2, 'eu-west-1': 2 });
    });

    it('delivers each origin in seq order, buffering what arrives early, independently of other origins', async () => {
      // Prepare
      await joinRoom(harness, socket, 'lobby');

      // Act
      socket.reply(message('lobby', 'us-east-1', 3));
      socket.reply(message('lobby', 'eu-west-1', 1));
      socket.reply(message('lobby', 'us-east-1', 2));
      const beforeGapFilled = delivered(harness);
      socket.reply(message('lobby', 'us-east-1', 1));

      // Assess
      expect(beforeGapFilled).toEqual(['eu-west-1:1']);
      expect(delivered(harness)).toEqual(['eu-west-1:1', 'us-east-1:1', 'us-east-1:2', 'us-east-1:3']);
    });

    it('fills a gap on a live connection by resuming the room after gapTimeoutMs', async () => {
      // Prepare
      await joinRoom(harness, socket, 'lobby');
      socket.reply(message('lobby', 'us-east-1', 1));
      socket.reply(message('lobby', 'us-east-1', 3));

      // Act
      await vi.advanceTimersByTimeAsync(2_999);
      const joinsBeforeTimeout = socket.framesOf('join').length;
      await vi.advanceTimersByTimeAsync(1);
      const resume = socket.take('join');
      socket.reply({
        type: 'joined',
        ref: resume.ref,
        room: 'lobby',
        cursor: { 'us-east-1': 3 },
        members: [],
      });
      socket.reply(message('lobby', 'us-east-1', 2));
      socket.reply(message('lobby', 'us-east-1', 3));

      // Assess
      expect(joinsBeforeTimeout).toBe(1);
      expect(resume).toMatchObject({ room: 'lobby', since: { 'us-east-1': 1 } });
      expect(delivered(harness)).toEqual(['us-east-1:1', 'us-east-1:2', 'us-east-1:3']);
      expect(harness.caughtUp).toEqual([{ room: 'lobby', count: 2, reason: 'gap' }]);
    });

    it('resumes every room with since = its cursor after a drop, and reports how many messages it caught up', async () => {
      // Prepare
      await joinRoom(harness, socket, 'lobby', { 'us-east-1': 2 });
      socket.reply(message('lobby', 'us-east-1', 3));
      socket.reply(message('lobby', 'us-east-1', 4));

      // Act
      const next = await reconnect();
      const rejoin = next.take('join');
      next.reply({
        type: 'joined',
        ref: rejoin.ref,
        room: 'lobby',
        cursor: { 'us-east-1': 6, 'eu-west-1': 1 },
        members: [],
      });
      const caughtUpBeforeReplay = harness.caughtUp.length;
      next.reply(message('lobby', 'us-east-1', 4));
      next.reply(message('lobby', 'us-east-1', 5));
      next.reply(message('lobby', 'eu-west-1', 1));
      next.reply(message('lobby', 'us-east-1', 6));
      next.reply(message('lobby', 'us-east-1', 7));

      // Assess
      expect(rejoin).toMatchObject({ room: 'lobby', since: { 'us-east-1': 4 } });
      expect(caughtUpBeforeReplay).toBe(0);
      expect(delivered(harness)).toEqual([
        'us-east-1:3',
        'us-east-1:4',
        'us-east-1:5',
        'eu-west-1:1',
        'us-east-1:6',
        'us-east-1:7',
      ]);
      expect(harness.caughtUp).toEqual([{ room: 'lobby', count: 3, reason: 'reconnect' }]);
      expect(harness.joined.at(-1)).toMatchObject({ room: 'lobby', resumed: true });
    });

    it('reports caught up with zero at once when nothing was missed', async () => {
      // Prepare
      await joinRoom(harness, socket, 'lobby', { 'us-east-1': 2 });

      // Act
      const next = await reconnect();
      const rejoin = next.take('join');
      next.reply({ type: 'joined', ref: rejoin.ref, room: 'lobby', cursor: { 'us-east-1': 2 }, members: [] });

      // Assess
      expect(harness.caughtUp).toEqual([{ room: 'lobby', count: 0, reason: 'reconnect' }]);
    });

    it('stops delivering a room after leave, and does not rejoin it', async () => {
      // Prepare
      await joinRoom(harness, socket, 'lobby');

      // Act
      const left = harness.client.leave('lobby');
      const frame = socket.take('leave');
      socket.reply({ type: 'left', ref: frame.ref, room: 'lobby' });
      await left;
      socket.reply(message('lobby', 'us-east-1', 1));
      const next = await reconnect();

      // Assess
      expect(frame).toMatchObject({ action: 'leave', room: 'lobby' });
      expect(harness.messages).toEqual([]);
      expect(next.framesOf('join')).toEqual([]);
      expect(harness.client.rooms()).toEqual([]);
    });
  });

  describe('history and presence', () => {
    it('pages history backwards with nextBefore', async () => {
      // Prepare
      await joinRoom(harness, socket, 'lobby');

      // Act
      const firstPage = harness.client.history('lobby', { limit: 2 });
      const first = socket.take('history');
      socket.reply({
        type: 'history',
        ref: first.ref,
        room: 'lobby',
        messages: [message('lobby', 'us-east-1', 4), message('lobby', 'us-east-1', 5)],
      });
      const page1 = await firstPage;
      const secondPage = harness.client.history('lobby', { limit: 2, before: page1.nextBefore });
      const second = socket.take('history');
      socket.reply({
        type: 'history',
        ref: second.ref,
        room: 'lobby',
        messages: [message('lobby', 'us-east-1', 3)],
      });
      const page2 = await secondPage;
      const thirdPage = harness.client.history('lobby', { limit: 2, before: page2.nextBefore });
      const third = socket.take('history');
      socket.reply({ type: 'history', ref: third.ref, room: 'lobby', messages: [] });
      const page3 = await thirdPage;

      // Assess
      expect(first).toEqual({ action: 'history', room: 'lobby', limit: 2, ref: expect.any(String) });
      expect(page1.messages.map((m) => m.seq)).toEqual([4, 5]);
      expect(page1.nextBefore).toBe(1_004);
      expect(second).toMatchObject({ limit: 2, before: 1_004 });
      expect(page2.messages.map((m) => m.seq)).toEqual([3]);
      // A short page is not the end (the server may have cut it at a ts boundary); an empty one is.
      expect(page2.nextBefore).toBe(1_003);
      expect(third).toMatchObject({ limit: 2, before: 1_003 });
      expect(page3).toEqual({ room: 'lobby', messages: [], nextBefore: undefined });
      // History does not count as live traffic.
      expect(harness.messages).toEqual([]);
    });

    it('rejects a history request with the typed error the server answers', async () => {
      // Act
      const page = harness.client.history('not-joined');
      const frame = socket.take('history');
      socket.reply({
        type: 'error',
        code: 'forbidden',
        message: 'join first',
        ref: frame.ref,
        action: 'history',
      });

      // Assess
      await expect(page).rejects.toBeInstanceOf(ForbiddenError);
    });

    it('re-asks a request that was in flight when the connection dropped', async () => {
      // Prepare
      await joinRoom(harness, socket, 'lobby');
      const members = harness.client.presence('lobby');
      socket.take('presence');

      // Act
      const next = await reconnect();
      const rejoin = next.take('join');
      next.reply({ type: 'joined', ref: rejoin.ref, room: 'lobby', cursor: {}, members: [] });
      const again = next.take('presence');
      next.reply({
        type: 'presence',
        ref: again.ref,
        room: 'lobby',
        members: [{ user: 'amy', region: 'eu-west-1' }],
      });

      // Assess
      await expect(members).resolves.toEqual([{ user: 'amy', region: 'eu-west-1' }]);
    });

    it('answers presence() with the members and keeps the member list current from presence events', async () => {
      // Prepare
      await joinRoom(harness, socket, 'lobby', {}, [{ user: 'me', region: 'us-east-1' }]);

      // Act
      const asked = harness.client.presence('lobby');
      const frame = socket.take('presence');
      socket.reply({
        type: 'presence',
        ref: frame.ref,
        room: 'lobby',
        members: [
          { user: 'me', region: 'us-east-1' },
          { user: 'bob', region: 'eu-west-1' },
        ],
      });
      const members = await asked;
      socket.reply({ type: 'presence', room: 'lobby', event: 'join', user: 'amy', region: 'us-east-1' });
      // amy resumes the room on the same connection: announced again, listed once.
      socket.reply({ type: 'presence', room: 'lobby', event: 'join', user: 'amy', region: 'us-east-1' });
      socket.reply({ type: 'presence', room: 'lobby', event: 'leave', user: 'bob', region: 'eu-west-1' });

      // Assess
      expect(frame).toEqual({ action: 'presence', room: 'lobby', ref: expect.any(String) });
      expect(members).toHaveLength(2);
      expect(harness.presence.map((p) => `${p.event}:${p.user}`)).toEqual([
        'join:amy',
        'join:amy',
        'leave:bob',
      ]);
      expect(harness.presence.at(-1)?.members).toEqual([
        { user: 'me', region: 'us-east-1' },
        { user: 'amy', region: 'us-east-1' },
      ]);
      expect(harness.client.members('lobby')).toEqual(harness.presence.at(-1)?.members);
    });
  });
});
