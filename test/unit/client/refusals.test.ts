/**
 * What the SDK does when the server refuses something it cannot simply retry: a resume whose
 * cursor the server will not take (`bad_request`), and any error code the SDK does not know
 * (PROTOCOL.md, "Limits", "Cursors" and "Unknown codes").
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BadRequestError, UnknownServerError } from '../../../client/errors.js';
import type { FakeWebSocket } from './fake-web-socket.js';
import { createHarness, delivered, type Harness, joinRoom, message, openNext } from './harness.js';

/** Long enough for every retry, resend and gap timer of these tests to have fired. */
const EVERY_TIMER_MS = 60_000;

describe('Client: refusals', () => {
  let harness: Harness;
  let socket: FakeWebSocket;

  beforeEach(async () => {
    vi.useFakeTimers();
    harness = createHarness({ pingIntervalMs: 3_600_000, sendTimeoutMs: 3_600_000 });
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

  /** Answers `frame` with an error of `code`. */
  const refuse = (frame: { ref?: string }, code: string, action: string): void => {
    socket.reply({ type: 'error', code, message: `server says ${code}`, ref: frame.ref, action });
  };

  describe('a resume answered bad_request', () => {
    it('keeps the room, reports the refusal, and joins afresh without since, so live traffic flows', async () => {
      // Prepare
      await joinRoom(harness, socket, 'lobby', { 'us-east-1': 2 });
      socket.reply(message('lobby', 'us-east-1', 3));
      const sent = harness.client.send('lobby', 'waiting', { id: 'w1' });
      await reconnect();

      // Act
      const resume = socket.take('join');
      refuse(resume, 'bad_request', 'join');
      const fresh = socket.take('join');
      const sendsBeforeJoined = socket.framesOf('send').length;
      socket.reply({
        type: 'joined',
        ref: fresh.ref,
        room: 'lobby',
        cursor: { 'us-east-1': 7 },
        members: [],
      });
      const resent = socket.take('send');
      socket.reply({
        type: 'ack',
        ref: resent.ref,
        room: 'lobby',
        id: 'w1',
        origin: 'us-east-1',
        seq: 8,
        ts: 8,
      });
      socket.reply(message('lobby', 'us-east-1', 8));
      await vi.advanceTimersByTimeAsync(EVERY_TIMER_MS);
      const joinsOnThisConnection = socket.framesOf('join').length;
      const next = await reconnect();

      // Assess
      expect(resume).toMatchObject({ room: 'lobby', since: { 'us-east-1': 3 } });
      expect(fresh).toEqual({ action: 'join', room: 'lobby', ref: expect.any(String) });
      expect(harness.errors).toHaveLength(1);
      expect(harness.errors[0]).toBeInstanceOf(BadRequestError);
      expect(harness.errors[0]).toMatchObject({ room: 'lobby', action: 'join', ref: resume.ref });
      expect(harness.errors[0]?.message).toBe(
        'the server refused to resume lobby from its cursor (server says bad_request); joined it again without since, so what was missed meanwhile is not replayed',
      );
      expect(harness.client.rooms()).toEqual(['lobby']);
      expect(sendsBeforeJoined).toBe(0);
      await expect(sent).resolves.toMatchObject({ id: 'w1', seq: 8 });
      expect(delivered(harness)).toEqual(['us-east-1:3', 'us-east-1:8']);
      expect(harness.joined.at(-1)).toMatchObject({ resumed: false, cursor: { 'us-east-1': 7 } });
      expect(harness.caughtUp).toEqual([]);
      expect(joinsOnThisConnection).toBe(2);
      expect(next.take('join')).toMatchObject({ since: { 'us-east-1': 8 } });
    });

    it('drops a room whose first join, without since, is answered bad_request', async () => {
      // Act
      const joined = harness.client.join('lobby');
      refuse(socket.take('join'), 'bad_request', 'join');

      // Assess
      await expect(joined).rejects.toBeInstanceOf(BadRequestError);
      expect(harness.client.rooms()).toEqual([]);
      expect(socket.framesOf('join')).toHaveLength(1);
    });
  });

  describe('an error code the SDK does not know', () => {
    it('rejects a send with UnknownServerError and never sends it again', async () => {
      // Prepare
      await joinRoom(harness, socket, 'lobby');
      const sent = harness.client.send('lobby', 'x', { id: 'u1' }).catch((error: unknown) => error);

      // Act
      refuse(socket.take('send'), 'shiny_new_code', 'send');
      await vi.advanceTimersByTimeAsync(EVERY_TIMER_MS);
      await reconnect();
      const rejoin = socket.take('join');
      socket.reply({ type: 'joined', ref: rejoin.ref, room: 'lobby', cursor: {}, members: [] });
      await vi.advanceTimersByTimeAsync(EVERY_TIMER_MS);

      // Assess
      const error = await sent;
      expect(error).toBeInstanceOf(UnknownServerError);
      expect(error).toMatchObject({ code: 'shiny_new_code', room: 'lobby', id: 'u1', action: 'send' });
      expect(socket.framesOf('send')).toEqual([]);
    });

    it('rejects a request with UnknownServerError and never sends it again', async () => {
      // Prepare
      await joinRoom(harness, socket, 'lobby');
      const page = harness.client.history('lobby').catch((error: unknown) => error);

      // Act
      refuse(socket.take('history'), 'shiny_new_code', 'history');
      await vi.advanceTimersByTimeAsync(EVERY_TIMER_MS);

      // Assess
      expect(await page).toBeInstanceOf(UnknownServerError);
      expect(socket.framesOf('history')).toHaveLength(1);
    });

    it('rejects a first join and forgets the room, without joining again', async () => {
      // Act
      const joined = harness.client.join('lobby').catch((error: unknown) => error);
      refuse(socket.take('join'), 'shiny_new_code', 'join');
      await vi.advanceTimersByTimeAsync(EVERY_TIMER_MS);

      // Assess
      expect(await joined).toBeInstanceOf(UnknownServerError);
      expect(harness.client.rooms()).toEqual([]);
      expect(socket.framesOf('join')).toHaveLength(1);
    });

    it('keeps a room whose resume it answers, with its cursor, and resumes it only on the next connection', async () => {
      // Prepare
      await joinRoom(harness, socket, 'lobby', { 'us-east-1': 2 });
      await reconnect();

      // Act: the resume is refused; a live message then waits behind a gap, which would resume the room
      refuse(socket.take('join'), 'shiny_new_code', 'join');
      socket.reply(message('lobby', 'us-east-1', 5));
      await vi.advanceTimersByTimeAsync(EVERY_TIMER_MS);
      const joinsOnThisConnection = socket.framesOf('join').length;
      const next = await reconnect();

      // Assess
      expect(joinsOnThisConnection).toBe(1);
      expect(harness.errors).toHaveLength(1);
      expect(harness.errors[0]).toBeInstanceOf(UnknownServerError);
      expect(harness.errors[0]).toMatchObject({ code: 'shiny_new_code', room: 'lobby' });
      expect(harness.client.rooms()).toEqual(['lobby']);
      expect(harness.client.cursor('lobby')).toEqual({ 'us-east-1': 2 });
      expect(next.take('join')).toMatchObject({ room: 'lobby', since: { 'us-east-1': 2 } });
    });

    it('does not resume a room again on the live connection once it refused the resume of a gap', async () => {
      // Prepare: a gap on the live connection, resumed after gapTimeoutMs
      await joinRoom(harness, socket, 'lobby');
      socket.reply(message('lobby', 'us-east-1', 1));
      socket.reply(message('lobby', 'us-east-1', 3));
      await vi.advanceTimersByTimeAsync(3_000);
      const gapResume = socket.take('join');

      // Act
      refuse(gapResume, 'shiny_new_code', 'join');
      socket.reply(message('lobby', 'us-east-1', 4));
      await vi.advanceTimersByTimeAsync(EVERY_TIMER_MS);
      harness.client.send('lobby', 'still joined', { id: 's1' }).catch(() => undefined);

      // Assess
      expect(gapResume).toMatchObject({ since: { 'us-east-1': 1 } });
      expect(socket.framesOf('join')).toHaveLength(2);
      expect(harness.client.rooms()).toEqual(['lobby']);
      // The room is still joined on this connection (a refused frame changes nothing): sends go.
      expect(socket.framesOf('send')).toHaveLength(1);
    });

    it('reports an unknown code without a ref as an error event, and changes nothing else', async () => {
      // Prepare
      await joinRoom(harness, socket, 'lobby');

      // Act
      socket.reply({ type: 'error', code: 'shiny_new_code', message: 'news' });
      await vi.advanceTimersByTimeAsync(EVERY_TIMER_MS);

      // Assess
      expect(harness.errors.map((e) => [e.constructor, e.code])).toEqual([
        [UnknownServerError, 'shiny_new_code'],
      ]);
      expect(harness.client.rooms()).toEqual(['lobby']);
      expect(harness.client.state).toBe('open');
      expect(socket.framesOf('join')).toHaveLength(1);
    });
  });
});
