/**
 * A scripted WebSocket for the SDK's unit tests: the client under test drives it through the
 * `WebSocketLike` interface, and the test plays the server (`open`, `reply`, `drop`, `refuse`) and
 * reads what the client sent.
 */
import type { WebSocketLike } from '../../../client/types.js';

/** A client frame as the fake server received it. */
export type SentFrame = Record<string, unknown> & { action: string; ref?: string };

export class FakeWebSocket implements WebSocketLike {
  /** Every socket created, oldest first. */
  public static instances: FakeWebSocket[] = [];

  public static reset(): void {
    FakeWebSocket.instances = [];
  }

  /** The most recently created socket. */
  public static last(): FakeWebSocket {
    const socket = FakeWebSocket.instances.at(-1);
    if (socket === undefined) throw new Error('no socket was created');
    return socket;
  }

  public readyState = 0;
  public onopen: ((event: unknown) => void) | null = null;
  public onmessage: ((event: { data: unknown }) => void) | null = null;
  public onclose: ((event: { code: number; reason: string }) => void) | null = null;
  public onerror: ((event: unknown) => void) | null = null;
  /** Raw frames the client sent, in order. */
  public readonly sent: string[] = [];
  /** How the client closed this socket, if it did. */
  public closedWith: { code: number | undefined; reason: string | undefined } | undefined;
  /** Indexes of the frames already consumed by `take`. */
  readonly #taken = new Set<number>();

  public constructor(public readonly url: string) {
    FakeWebSocket.instances.push(this);
  }

  public send(data: string): void {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    this.sent.push(data);
  }

  public close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    this.readyState = 3;
  }

  // ---- the server's side ----

  /** The handshake succeeds. */
  public open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  /** The server sends a frame. */
  public reply(frame: Record<string, unknown>): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  /** The server sends raw text. */
  public replyRaw(text: string): void {
    this.onmessage?.({ data: text });
  }

  /** The socket delivers `data` as it is (not text, say, or an object whose toString throws). */
  public replyData(data: unknown): void {
    this.onmessage?.({ data });
  }

  /** The connection drops (after it was open). */
  public drop(code = 1006, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  /** The handshake is refused (e.g. the region is down). */
  public refuse(): void {
    this.readyState = 3;
    this.onerror?.({});
    this.onclose?.({ code: 1006, reason: '' });
  }

  /** The handshake fails with `error` and no `close` (what Node 22's WebSocket does on a refused connection). */
  public failWithoutClose(): void {
    this.onerror?.({});
  }

  /** Every frame the client sent, parsed. */
  public frames(): SentFrame[] {
    return this.sent.map((text) => JSON.parse(text) as SentFrame);
  }

  /** Frames with the given action, parsed. */
  public framesOf(action: string): SentFrame[] {
    return this.frames().filter((frame) => frame.action === action);
  }

  /** The next frame not yet taken with the given action (skipping others); throws if none. */
  public take(action: string): SentFrame {
    const frames = this.frames();
    for (const [index, frame] of frames.entries()) {
      if (frame.action === action && !this.#taken.has(index)) {
        this.#taken.add(index);
        return frame;
      }
    }
    throw new Error(`the client sent no further ${action} frame; it sent ${this.sent.join(' ')}`);
  }

  /** Answers every ping sent so far with a pong. */
  public pong(ts = 1): void {
    for (const frame of this.framesOf('ping')) {
      if (!this.#ponged.has(frame.ref ?? '')) {
        this.#ponged.add(frame.ref ?? '');
        this.reply({ type: 'pong', ref: frame.ref, ts });
      }
    }
  }
  readonly #ponged = new Set<string>();

  /** The `token` query parameter of the URL the client connected to. */
  public get token(): string | null {
    return new URL(this.url).searchParams.get('token');
  }
}
