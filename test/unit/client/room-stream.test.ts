import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fullJitterDelay } from '../../../client/backoff.js';
import { errorFromFrame, ParleyError, PROTOCOL_ERROR_CLASSES } from '../../../client/errors.js';
import { RoomStream } from '../../../client/room-stream.js';
import { ERROR_CODES } from '../../../protocol/index.js';
import { message } from './harness.js';

describe('RoomStream', () => {
  it('delivers every message exactly once, in seq order per origin, whatever the arrival order and duplicates', () => {
    // Arbitrary: per origin a count of messages; arrivals are a shuffled multiset with repeats.
    const arrivals = fc
      .record({ a: fc.integer({ min: 0, max: 12 }), b: fc.integer({ min: 0, max: 12 }) })
      .chain(({ a, b }) => {
        const all = [
          ...Array.from({ length: a }, (_, i) => message('r', 'origin-a', i + 1)),
          ...Array.from({ length: b }, (_, i) => message('r', 'origin-b', i + 1)),
        ];
        return fc.tuple(
          fc.constant({ a, b }),
          fc.shuffledSubarray([...all, ...all], { minLength: all.length * 2, maxLength: all.length * 2 }),
        );
      });
    fc.assert(
      fc.property(arrivals, ([counts, frames]) => {
        // Prepare
        const stream = new RoomStream();
        stream.initialize({});

        // Act
        const out = frames.flatMap((frame) => stream.accept(frame));

        // Assess
        const seqsOf = (origin: string) => out.filter((m) => m.origin === origin).map((m) => m.seq);
        expect(seqsOf('origin-a')).toEqual(Array.from({ length: counts.a }, (_, i) => i + 1));
        expect(seqsOf('origin-b')).toEqual(Array.from({ length: counts.b }, (_, i) => i + 1));
        expect(stream.buffered).toBe(0);
        expect(stream.cursor()).toEqual({
          ...(counts.a > 0 ? { 'origin-a': counts.a } : {}),
          ...(counts.b > 0 ? { 'origin-b': counts.b } : {}),
        });
      }),
    );
  });

  it('keeps a message ahead of a gap buffered, never dropping it, until the gap is filled', () => {
    // Prepare
    const stream = new RoomStream();
    stream.initialize({ o: 1 });

    // Act
    const ahead = stream.accept(message('r', 'o', 4));
    const stillAhead = stream.accept(message('r', 'o', 3));
    const filled = stream.accept(message('r', 'o', 2));

    // Assess
    expect(ahead).toEqual([]);
    expect(stillAhead).toEqual([]);
    expect(filled.map((m) => m.seq)).toEqual([2, 3, 4]);
    expect(stream.reached({ o: 4 })).toBe(true);
  });

  it('moves the cursor past a skipped message in its turn, delivering what waited behind it', () => {
    // Prepare
    const stream = new RoomStream();
    stream.initialize({ o: 1 });

    // Act: 4 arrives, then 3 cannot be read, then 2 fills the gap
    const ahead = stream.accept(message('r', 'o', 4));
    const skippedAhead = stream.skip('o', 3);
    const filled = stream.accept(message('r', 'o', 2));
    const skippedNext = stream.skip('o', 5);
    const after = stream.accept(message('r', 'o', 6));

    // Assess
    expect(ahead).toEqual([]);
    expect(skippedAhead).toEqual([]);
    expect(filled.map((m) => m.seq)).toEqual([2, 4]);
    expect(skippedNext).toEqual([]);
    expect(after.map((m) => m.seq)).toEqual([6]);
    expect(stream.cursor()).toEqual({ o: 6 });
    expect(stream.buffered).toBe(0);
  });

  it('holds a skip that comes before the first joined, like a message, until it says where to start', () => {
    // Prepare
    const stream = new RoomStream();

    // Act
    stream.skip('o', 3);
    stream.accept(message('r', 'o', 4));
    const started = stream.initialize({ o: 2 });

    // Assess
    expect(started.map((m) => m.seq)).toEqual([4]);
    expect(stream.cursor()).toEqual({ o: 4 });
  });

  it('restarts at a fresh cursor: never moving back, forgetting origins it does not name, delivering what is now in order', () => {
    // Prepare
    const stream = new RoomStream();
    stream.initialize({ a: 5, b: 3, bad: 9 });
    stream.accept(message('r', 'a', 8));
    stream.accept(message('r', 'a', 11));
    stream.accept(message('r', 'b', 5));

    // Act: the fresh join stands at a:10 (8 is history now) and b:2 (behind what was delivered)
    const ready = stream.restart({ a: 10, b: 2 });
    const next = stream.accept(message('r', 'b', 4));

    // Assess
    expect(ready.map((m) => `${m.origin}:${m.seq}`)).toEqual(['a:11']);
    expect(next.map((m) => `${m.origin}:${m.seq}`)).toEqual(['b:4', 'b:5']);
    expect(stream.cursor()).toEqual({ a: 11, b: 5 });
    expect(stream.buffered).toBe(0);
  });

  it('forgets the oldest ids beyond its capacity', () => {
    // Prepare
    const stream = new RoomStream(2);
    stream.initialize({});
    stream.accept(message('r', 'o', 1, { id: 'x' }));
    stream.accept(message('r', 'o', 2, { id: 'y' }));
    stream.accept(message('r', 'o', 3, { id: 'z' }));

    // Act: 'x' was forgotten, 'z' was not
    const again = stream.accept(message('r', 'p', 1, { id: 'x' }));
    const duplicate = stream.accept(message('r', 'p', 2, { id: 'z' }));

    // Assess
    expect(again.map((m) => m.id)).toEqual(['x']);
    expect(duplicate).toEqual([]);
  });
});

describe('fullJitterDelay', () => {
  it('is random * min(max, initial * 2^attempt)', () => {
    expect(fullJitterDelay(0, { initialMs: 500, maxMs: 30_000 }, () => 1)).toBe(500);
    expect(fullJitterDelay(3, { initialMs: 500, maxMs: 30_000 }, () => 0.5)).toBe(2_000);
    expect(fullJitterDelay(10, { initialMs: 500, maxMs: 30_000 }, () => 0.5)).toBe(15_000);
    expect(fullJitterDelay(5_000, { initialMs: 500, maxMs: 30_000 }, () => 0.999)).toBe(29_970);
    expect(fullJitterDelay(2, {}, () => 0)).toBe(0);
  });
});

describe('errorFromFrame', () => {
  it.each(ERROR_CODES)('builds the %s class with the frame’s code, message, ref and action', (code) => {
    // Act
    const error = errorFromFrame({ code, message: 'why', ref: 'r9', action: 'send' }, { room: 'lobby' });

    // Assess
    expect(error).toBeInstanceOf(PROTOCOL_ERROR_CLASSES[code]);
    expect(error).toBeInstanceOf(ParleyError);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ code, message: 'why', ref: 'r9', action: 'send', room: 'lobby' });
    expect(error.name).toBe(PROTOCOL_ERROR_CLASSES[code].name);
  });
});
