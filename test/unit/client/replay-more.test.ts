/**
 * A resume that missed more than one join replays (PROTOCOL.md, "Limits", "Replay"): `joined`
 * says `more`, and the client joins again from its advanced cursor once the replay has gone quiet,
 * until `joined` comes without `more`; only then is the room caught up.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProtocolViolationError } from '../../../client/errors.js';
import { MAX_REPLAY_JOINS } from '../../../client/replay.js';
import type { FakeWebSocket } from './fake-web-socket.js';
import { createHarness, delivered, type Harness, joinRoom, message, openNext } from './harness.js';

const QUIET_MS = 1_000;

describe('Client: following more', () => {
  let harness: Harness;
  let socket: FakeWebSocket;

  beforeEach(async () => {
    vi.useFakeTimers();
    // No gap resume in these tests: a live message may wait behind the replay for a while.
    harness = createHarness({ pingIntervalMs: 3_600_000, gapTimeoutMs: 3_600_000, replayQuietMs: QUIET_MS });
    socket = await openNext();
    await joinRoom(harness, socket, 'lobby', { 'us-east-1': 2 });
    socket.drop();
    await vi.advanceTimersByTimeAsync(250);
    socket = await openNext();
  });

  afterEach(() => {
    harness.client.close();
    vi.useRealTimers();
  });

  /** Answers the next join with `joined`, and returns that join. */
  const answerJoin = (cursor: Record<string, number>, more?: boolean) => {
    const join = socket.take('join');
    socket.reply({
      type: 'joined',
      ref: join.ref,
      room: 'lobby',
      cursor,
      members: [],
      ...(more === undefined ? {} : { more }),
    });
    return join;
  };

  const replay = (...seqs: number[]): void => {
    for (const seq of seqs) socket.reply(message('lobby', 'us-east-1', seq));
  };

  it.each([
    ['absent', undefined],
    ['false', false],
  ])(
    'joins again from the advanced cursor while joined says more, until more is %s, then reports caughtUp once',
    async (_, last) => {
      // Act: the first join replays 3-5 of 3-9; a live message (10) comes meanwhile
      const first = answerJoin({ 'us-east-1': 9 }, true);
      replay(3, 4, 5);
      await vi.advanceTimersByTimeAsync(500);
      socket.reply(message('lobby', 'us-east-1', 10));
      await vi.advanceTimersByTimeAsync(QUIET_MS - 501);
      const joinsBeforeQuiet = socket.framesOf('join').length;
      await vi.advanceTimersByTimeAsync(1);
      // The second replays 6-8, slowly: each replayed message extends the wait
      const second = answerJoin({ 'us-east-1': 10 }, true);
      replay(6);
      await vi.advanceTimersByTimeAsync(600);
      replay(7);
      await vi.advanceTimersByTimeAsync(600);
      replay(8);
      await vi.advanceTimersByTimeAsync(QUIET_MS - 1);
      const joinsWhileReplaying = socket.framesOf('join').length;
      await vi.advanceTimersByTimeAsync(1);
      const caughtUpBeforeLast = [...harness.caughtUp];
      // The third replays the rest, 10 again among it
      const third = answerJoin({ 'us-east-1': 10 }, last);
      replay(9, 10);
      await vi.advanceTimersByTimeAsync(10 * QUIET_MS);

      // Assess
      expect(first).toMatchObject({ since: { 'us-east-1': 2 } });
      expect(joinsBeforeQuiet).toBe(1);
      expect(second).toMatchObject({ since: { 'us-east-1': 5 } });
      expect(joinsWhileReplaying).toBe(2);
      expect(third).toMatchObject({ since: { 'us-east-1': 8 } });
      expect(socket.framesOf('join')).toHaveLength(3);
      expect(caughtUpBeforeLast).toEqual([]);
      expect(harness.caughtUp).toEqual([{ room: 'lobby', count: 8, reason: 'reconnect' }]);
      expect(delivered(harness)).toEqual([3, 4, 5, 6, 7, 8, 9, 10].map((seq) => `us-east-1:${seq}`));
      expect(harness.joined.map((j) => j.resumed)).toEqual([false, true, true, true]);
      expect(harness.errors).toEqual([]);
    },
  );

  it('stops following more when a join replays nothing new, with an error and no caughtUp', async () => {
    // Act
    answerJoin({ 'us-east-1': 9 }, true);
    replay(3, 4);
    await vi.advanceTimersByTimeAsync(QUIET_MS);
    const again = answerJoin({ 'us-east-1': 9 }, true);
    // Only what was delivered already, and a live message: no progress towards 9
    replay(3, 4);
    socket.reply(message('lobby', 'us-east-1', 12));
    await vi.advanceTimersByTimeAsync(10 * QUIET_MS);

    // Assess
    expect(again).toMatchObject({ since: { 'us-east-1': 4 } });
    expect(socket.framesOf('join')).toHaveLength(2);
    expect(harness.caughtUp).toEqual([]);
    expect(harness.errors).toHaveLength(1);
    expect(harness.errors[0]).toBeInstanceOf(ProtocolViolationError);
    expect(harness.errors[0]?.message).toBe(
      'the resume of lobby stopped following more: its last replay brought nothing new; what was not replayed comes with a later resume',
    );
    expect(delivered(harness)).toEqual(['us-east-1:3', 'us-east-1:4']);
  });

  it(`stops following more after ${MAX_REPLAY_JOINS} joins in a row`, async () => {
    // Act: every join replays one message and says more
    for (let join = 1; join <= MAX_REPLAY_JOINS; join += 1) {
      answerJoin({ 'us-east-1': 1_000_000 }, true);
      replay(2 + join);
      await vi.advanceTimersByTimeAsync(QUIET_MS);
    }

    // Assess
    expect(socket.framesOf('join')).toHaveLength(MAX_REPLAY_JOINS);
    expect(harness.client.cursor('lobby')).toEqual({ 'us-east-1': 2 + MAX_REPLAY_JOINS });
    expect(harness.caughtUp).toEqual([]);
    expect(harness.errors.map((e) => e.message)).toEqual([
      `the resume of lobby stopped following more: it already joined ${MAX_REPLAY_JOINS} times in a row; what was not replayed comes with a later resume`,
    ]);
  });

  it('starts over from the cursor on a new connection when one drops while following more', async () => {
    // Act
    answerJoin({ 'us-east-1': 9 }, true);
    replay(3, 4);
    socket.drop();
    await vi.advanceTimersByTimeAsync(250);
    socket = await openNext();
    const resumed = answerJoin({ 'us-east-1': 9 });
    replay(5, 6, 7, 8, 9);
    await vi.advanceTimersByTimeAsync(10 * QUIET_MS);

    // Assess
    expect(resumed).toMatchObject({ since: { 'us-east-1': 4 } });
    expect(socket.framesOf('join')).toHaveLength(1);
    expect(harness.caughtUp).toEqual([{ room: 'lobby', count: 5, reason: 'reconnect' }]);
    expect(delivered(harness)).toEqual([3, 4, 5, 6, 7, 8, 9].map((seq) => `us-east-1:${seq}`));
  });
});
