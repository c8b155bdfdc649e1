/**
 * The frame-size monitor on hand-built client frames (RFC 6455, section 5.2): the three length
 * encodings, the limit itself, headers split across chunks, fragmented messages, and bytes that
 * are no frames at all.
 */
import { describe, expect, it } from 'vitest';
import { FrameSizeMonitor } from '../../../local/frame-limits.js';
import { API_GATEWAY_MAX_FRAME_BYTES } from '../../../protocol/index.js';

const LIMIT = API_GATEWAY_MAX_FRAME_BYTES;

/** The header of a client frame: FIN/opcode byte, MASK bit and length, masking key if masked. */
const header = (length: number, options: { opcode?: number; fin?: boolean; masked?: boolean } = {}) => {
  const { opcode = 0x1, fin = true, masked = true } = options;
  const first = (fin ? 0x80 : 0) | opcode;
  const mask = masked ? 0x80 : 0;
  const key = masked ? [0x12, 0x34, 0x56, 0x78] : [];
  if (length < 126) return Buffer.from([first, mask | length, ...key]);
  if (length <= 0xffff) return Buffer.from([first, mask | 126, length >> 8, length & 0xff, ...key]);
  const extended = Buffer.alloc(8);
  extended.writeBigUInt64BE(BigInt(length));
  return Buffer.concat([Buffer.from([first, mask | 127]), extended, Buffer.from(key)]);
};

/** A whole frame: its header and a payload of that length. */
const frame = (length: number, options: Parameters<typeof header>[1] = {}) =>
  Buffer.concat([header(length, options), Buffer.alloc(length, 0x61)]);

/** A 64-bit length header with any 8 length bytes (lengths no encoder would write). */
const header64 = (lengthBytes: number[]) => Buffer.from([0x82, 0x80 | 127, ...lengthBytes, 1, 2, 3, 4]);

describe('FrameSizeMonitor', () => {
  it('passes frames up to the limit in each length encoding, several to a chunk', () => {
    const monitor = new FrameSizeMonitor(LIMIT);
    const chunk = Buffer.concat([frame(0), frame(125), frame(126), frame(LIMIT)]);
    expect(monitor.write(chunk)).toBe(false);
    expect(monitor.exceeded).toBe(false);
    // A frame at the limit written with the 64-bit encoding (legal, if unusual) passes too.
    const long = Buffer.concat([header64([0, 0, 0, 0, 0, 0, LIMIT >> 8, LIMIT & 0xff]), Buffer.alloc(LIMIT)]);
    expect(monitor.write(long)).toBe(false);
    expect(monitor.oversizedFrameBytes).toBeUndefined();
  });

  it('reports a frame one byte over the limit from its header, before its payload', () => {
    const monitor = new FrameSizeMonitor(LIMIT);
    expect(monitor.write(frame(LIMIT))).toBe(false);
    expect(monitor.write(header(LIMIT + 1))).toBe(true);
    expect(monitor.oversizedFrameBytes).toBe(LIMIT + 1);
    // It stays reported, whatever comes next.
    expect(monitor.write(frame(1))).toBe(true);
    expect(monitor.oversizedFrameBytes).toBe(LIMIT + 1);
  });

  it('reports it as soon as the length bytes are in, without waiting for the masking key', () => {
    const monitor = new FrameSizeMonitor(LIMIT);
    const oversized = header(40 * 1024); // 16-bit length: 2 + 2 bytes, then the key
    expect(monitor.write(oversized.subarray(0, 3))).toBe(false);
    expect(monitor.write(oversized.subarray(3, 4))).toBe(true);
    expect(monitor.oversizedFrameBytes).toBe(40 * 1024);
  });

  it('reads headers split across chunks at every byte, in each encoding', () => {
    const stream = Buffer.concat([
      frame(5),
      frame(300, { fin: false }),
      frame(LIMIT, { opcode: 0x0 }),
      header64([0, 0, 0, 0, 0, 0, 0, 9]),
      Buffer.alloc(9),
      header(LIMIT + 100),
    ]);
    // Byte by byte: nothing until the last length byte of the oversized frame's header.
    const monitor = new FrameSizeMonitor(LIMIT);
    const lastLengthByte = stream.length - 4 - 1; // the masking key follows the length
    for (let i = 0; i < stream.length; i++) {
      expect(monitor.write(stream.subarray(i, i + 1)), `byte ${i}`).toBe(i >= lastLengthByte);
    }
    expect(monitor.oversizedFrameBytes).toBe(LIMIT + 100);
    // Every split into two chunks gives the same answer as one chunk.
    for (let split = 1; split < stream.length; split += 997) {
      const two = new FrameSizeMonitor(LIMIT);
      two.write(stream.subarray(0, split));
      two.write(stream.subarray(split));
      expect(two.oversizedFrameBytes, `split at ${split}`).toBe(LIMIT + 100);
    }
  });

  it('bounds each frame, not the message: a 40 KiB message in two 20 KiB frames passes', () => {
    const monitor = new FrameSizeMonitor(LIMIT);
    const message = Buffer.concat([
      frame(20 * 1024, { fin: false, opcode: 0x1 }),
      frame(4, { opcode: 0x9 }), // a ping between the fragments, as RFC 6455 allows
      frame(20 * 1024, { fin: true, opcode: 0x0 }),
    ]);
    expect(monitor.write(message)).toBe(false);
  });

  it('reads unmasked frames too (it leaves refusing them to ws)', () => {
    const monitor = new FrameSizeMonitor(LIMIT);
    expect(monitor.write(frame(200, { masked: false }))).toBe(false);
    expect(monitor.write(header(LIMIT + 1, { masked: false }))).toBe(true);
  });

  it('takes a 64-bit length beyond 2^53 as over the limit, without throwing', () => {
    const monitor = new FrameSizeMonitor(LIMIT);
    expect(monitor.write(header64([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))).toBe(true);
    expect(monitor.oversizedFrameBytes).toBeGreaterThan(Number.MAX_SAFE_INTEGER);
  });

  it('never throws on bytes that are no frames, and answers the same however they are chunked', () => {
    // A fixed pseudo-random sequence (xorshift), so a failure reproduces.
    let state = 0x9e3779b9;
    const random = () => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return (state >>> 0) & 0xff;
    };
    for (let run = 0; run < 50; run++) {
      const bytes = Buffer.from(Array.from({ length: 2_000 }, random));
      const whole = new FrameSizeMonitor(LIMIT);
      const wholeAnswer = whole.write(bytes);
      const pieces = new FrameSizeMonitor(LIMIT);
      let piecesAnswer = false;
      for (let i = 0; i < bytes.length; i += 7) piecesAnswer = pieces.write(bytes.subarray(i, i + 7));
      expect(piecesAnswer).toBe(wholeAnswer);
      expect(pieces.oversizedFrameBytes).toBe(whole.oversizedFrameBytes);
    }
  });
});
