/**
 * API Gateway's WebSocket frame limit, which the `ws` library cannot enforce: its `maxPayload`
 * bounds a whole message (every frame of it), and it has no hook per frame. This module reads the
 * headers of the frames a client sends (RFC 6455, section 5.2), skips their payloads, and reports
 * the first frame whose payload is over the limit. It never throws: whatever the bytes, it reads
 * a length from them or waits for more, and leaves telling malformed frames apart to `ws`.
 *
 * @example
 * ```ts
 * const monitor = new FrameSizeMonitor(API_GATEWAY_MAX_FRAME_BYTES);
 * socket.on('data', (chunk) => {
 *   if (monitor.write(chunk)) closeWith1009();
 * });
 * ```
 */

/** The longest frame header: 2 bytes, a 64-bit extended length and a 4-byte masking key. */
const MAX_HEADER_BYTES = 14;

/** Reads a client's frame headers as the bytes arrive and reports a frame over the limit. */
export class FrameSizeMonitor {
  /** The payload length of the first frame over the limit, once one has been seen. */
  oversizedFrameBytes: number | undefined;
  private readonly header = new Uint8Array(MAX_HEADER_BYTES);
  private headerLength = 0;
  /** Payload bytes of the current frame not yet seen (0 while a header is being read). */
  private payloadLeft = 0;

  /** @param maxFrameBytes the largest payload a frame may carry */
  constructor(readonly maxFrameBytes: number) {}

  /** Whether a frame over the limit has been seen (it stays so). */
  get exceeded(): boolean {
    return this.oversizedFrameBytes !== undefined;
  }

  /**
   * Feeds the next bytes the client sent, in order (a header may be split across chunks).
   * Returns true once a frame over the limit has been seen; its length is known from its header,
   * before its payload arrives. Bytes after that are not read.
   */
  write(chunk: Uint8Array): boolean {
    let offset = 0;
    while (offset < chunk.length && !this.exceeded) {
      if (this.payloadLeft > 0) {
        const skipped = Math.min(this.payloadLeft, chunk.length - offset);
        this.payloadLeft -= skipped;
        offset += skipped;
        continue;
      }
      this.header[this.headerLength++] = chunk[offset++] as number;
      if (this.headerLength < 2) continue;
      const lengthCode = (this.header[1] as number) & 0x7f;
      const extended = lengthCode === 126 ? 2 : lengthCode === 127 ? 8 : 0;
      const masked = ((this.header[1] as number) & 0x80) !== 0;
      // The length is known once its bytes are in: report an oversized frame without waiting for
      // the masking key.
      if (this.headerLength === 2 + extended) {
        const length = this.payloadLength(lengthCode);
        if (length > this.maxFrameBytes) {
          this.oversizedFrameBytes = length;
          break;
        }
      }
      if (this.headerLength === 2 + extended + (masked ? 4 : 0)) {
        this.payloadLeft = this.payloadLength(lengthCode);
        this.headerLength = 0;
      }
    }
    return this.exceeded;
  }

  private payloadLength(lengthCode: number): number {
    const view = new DataView(this.header.buffer);
    if (lengthCode === 126) return view.getUint16(2);
    // A 64-bit length (RFC 6455 forbids the top bit; any value this large is over the limit anyway).
    if (lengthCode === 127) return view.getUint32(2) * 2 ** 32 + view.getUint32(6);
    return lengthCode;
  }
}
