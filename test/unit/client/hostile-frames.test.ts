/**
 * Frames the client cannot read (PROTOCOL.md, "Limits", "Nesting"): each becomes an `error` event,
 * the connection goes on, and an unreadable `message` still moves its room's cursor, so that no
 * resume asks for it again.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProtocolViolationError } from '../../../client/errors.js';
import { decodeServerFrame, MAX_FRAME_DEPTH } from '../../../client/frames.js';
import type { Timers } from '../../../client/types.js';
import { MAX_BODY_DEPTH } from '../../../protocol/index.js';
import type { FakeWebSocket } from './fake-web-socket.js';
import { createHarness, delivered, type Harness, joinRoom, message, openNext } from './harness.js';

/** An array body nested `depth` deep (`[]` has depth 1), as text: JSON.stringify would recurse. */
const nestedBody = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** A `message` frame whose body is nested `depth` deep, as the server would send it. */
const deepMessage = (seq: number, depth: number): string => {
  const { body: _, ...frame } = message('lobby', 'us-east-1', seq);
  return `${JSON.stringify(frame).slice(0, -1)},"body":${nestedBody(depth)}}`;
};

describe('Client: frames it cannot read', () => {
  let harness: Harness;
  let socket: FakeWebSocket;

  beforeEach(async () => {
    vi.useFakeTimers();
    harness = createHarness({ pingIntervalMs: 3_600_000 });
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

  it.each([2_000, 5_000])(
    'reports a message nested %i deep, delivers the next, and never asks for it again',
    async (depth) => {
      // Prepare
      await joinRoom(harness, socket, 'lobby', { 'us-east-1': 1 });

      // Act
      socket.replyRaw(deepMessage(2, depth));
      socket.reply(message('lobby', 'us-east-1', 3));
      const stateAfterwards = harness.client.state;
      const closedAfterwards = socket.closedWith;
      const next = await reconnect();
      const rejoin = next.take('join');

      // Assess
      expect(harness.errors).toHaveLength(1);
      expect(harness.errors[0]).toBeInstanceOf(ProtocolViolationError);
      expect(harness.errors[0]).toMatchObject({ room: 'lobby' });
      expect(harness.errors[0]?.message).toContain('skipped message us-east-1:2 of lobby');
      expect(harness.errors[0]?.message).toContain(`nested deeper than ${MAX_BODY_DEPTH}`);
      expect(stateAfterwards).toBe('open');
      expect(closedAfterwards).toBeUndefined();
      expect(delivered(harness)).toEqual(['us-east-1:3']);
      expect(rejoin).toMatchObject({ room: 'lobby', since: { 'us-east-1': 3 } });
    },
  );

  it('delivers a body nested exactly 32 deep, and skips one nested 33 deep', async () => {
    // Prepare
    await joinRoom(harness, socket, 'lobby');

    // Act
    socket.replyRaw(deepMessage(1, MAX_BODY_DEPTH));
    socket.replyRaw(deepMessage(2, MAX_BODY_DEPTH + 1));

    // Assess
    expect(delivered(harness)).toEqual(['us-east-1:1']);
    expect(harness.errors.map((e) => e.message)).toEqual([
      expect.stringContaining('skipped message us-east-1:2 of lobby'),
    ]);
    expect(harness.client.cursor('lobby')).toEqual({ 'us-east-1': 2 });
  });

  it('skips an unreadable message that arrives ahead of a gap in its turn, once the gap is filled', async () => {
    // Prepare
    await joinRoom(harness, socket, 'lobby');

    // Act: 2 cannot be read and comes before 1; 3 follows
    socket.replyRaw(deepMessage(2, 2_000));
    socket.reply(message('lobby', 'us-east-1', 1));
    socket.reply(message('lobby', 'us-east-1', 3));

    // Assess
    expect(delivered(harness)).toEqual(['us-east-1:1', 'us-east-1:3']);
    expect(harness.client.cursor('lobby')).toEqual({ 'us-east-1': 3 });
  });

  it('skips a message whose other fields break the schema, as long as its room, origin and seq are readable', async () => {
    // Prepare
    await joinRoom(harness, socket, 'lobby');

    // Act
    socket.reply({ ...message('lobby', 'us-east-1', 1), from: '' });
    socket.reply({ ...message('lobby', 'us-east-1', 2), seq: 'two' });
    socket.reply(message('lobby', 'us-east-1', 2));

    // Assess
    expect(harness.errors.map((e) => e.message)).toEqual([
      expect.stringContaining('skipped message us-east-1:1 of lobby'),
      expect.stringMatching(/^invalid message frame: seq/),
    ]);
    expect(delivered(harness)).toEqual(['us-east-1:2']);
  });

  it('reports a frame that is not JSON, and one whose toString throws, and delivers the next frame', async () => {
    // Prepare
    await joinRoom(harness, socket, 'lobby');
    const hostile = {
      toString(): string {
        throw new RangeError('no text here');
      },
    };

    // Act
    socket.replyRaw('{"type":"message",');
    socket.replyData(hostile);
    socket.reply(message('lobby', 'us-east-1', 1));

    // Assess
    expect(harness.errors.map((e) => e.constructor)).toEqual([
      ProtocolViolationError,
      ProtocolViolationError,
    ]);
    expect(harness.errors.map((e) => e.message)).toEqual([
      'the server sent a frame that is not JSON',
      'the server sent a frame that is not text: no text here',
    ]);
    expect(harness.client.state).toBe('open');
    expect(delivered(harness)).toEqual(['us-east-1:1']);
  });

  it('reads frames that come as UTF-8 bytes', async () => {
    // Prepare
    await joinRoom(harness, socket, 'lobby');
    const bytes = new TextEncoder().encode(
      JSON.stringify(message('lobby', 'us-east-1', 1, { body: 'héllo' })),
    );

    // Act
    socket.replyData(bytes);
    socket.replyData(bytes.buffer);

    // Assess
    expect(harness.messages.map((m) => m.body)).toEqual(['héllo']);
    expect(harness.errors).toEqual([]);
  });

  it('fails the request an unreadable reply answers at once, instead of at its timeout', async () => {
    // Prepare
    await joinRoom(harness, socket, 'lobby');
    const page = harness.client.history('lobby').catch((error: unknown) => error);
    const frame = socket.take('history');
    const deep = deepMessage(1, 2_000);

    // Act
    socket.replyRaw(`{"type":"history","ref":"${frame.ref}","room":"lobby","messages":[${deep}]}`);

    // Assess
    const error = await page;
    expect(error).toBeInstanceOf(ProtocolViolationError);
    expect(error).toMatchObject({ ref: frame.ref });
    expect((error as Error).message).toBe(`invalid history frame: nested deeper than ${MAX_FRAME_DEPTH}`);
    expect(harness.errors).toEqual([error]);
    expect(harness.client.state).toBe('open');
  });

  it('turns an exception thrown while handling a frame into an error event, and goes on', async () => {
    // Prepare: a timer that fails to arm, the gap watcher's (the only 4,321 ms timer)
    harness.client.close();
    const failing: Timers = {
      setTimeout: (callback, ms) => {
        if (ms === 4_321) throw new Error('no timer for you');
        return globalThis.setTimeout(callback, ms);
      },
      clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
    };
    harness = createHarness({ pingIntervalMs: 3_600_000, gapTimeoutMs: 4_321, timers: failing });
    socket = await openNext();
    await joinRoom(harness, socket, 'lobby');

    // Act: a message ahead of a gap arms the gap watcher, which throws; then the gap is filled
    socket.reply(message('lobby', 'us-east-1', 2));
    socket.reply(message('lobby', 'us-east-1', 1));

    // Assess
    expect(harness.errors.map((e) => e.message)).toEqual(['a frame could not be handled: no timer for you']);
    expect(harness.client.state).toBe('open');
    expect(delivered(harness)).toEqual(['us-east-1:1', 'us-east-1:2']);
  });
});

describe('decodeServerFrame', () => {
  it('never throws, whatever it is given', () => {
    // Prepare
    const inputs: unknown[] = [
      undefined,
      null,
      42,
      Symbol('s'),
      'null',
      '[]',
      '"text"',
      nestedBody(100_000),
      `{"type":"joined","room":"r","cursor":{},"members":${nestedBody(10_000)}}`,
      { toString: () => ({}) },
    ];

    // Act
    const decode = (): unknown[] => inputs.map((input) => decodeServerFrame(input));

    // Assess
    expect(decode).not.toThrow();
  });
});
