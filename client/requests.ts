/**
 * Request correlation: every client frame that expects an answer carries a `ref`, and the server
 * echoes it. {@link RefTable} hands out the refs of the current connection and remembers what each
 * stands for; {@link Requests} keeps the leave, history and presence requests waiting for their
 * reply, bounds them by `requestTimeoutMs` and sends them again on a new connection (a ref does
 * not outlive its connection: the server answers on the socket that asked).
 *
 * @example
 * ```ts
 * const refs = new RefTable();
 * const requests = new Requests({ link, refs, ready, timers, requestTimeoutMs: 15_000 });
 * const reply = await requests.request('presence', 'lobby', { action: 'presence', room: 'lobby' });
 * ```
 */
import {
  type ClientFrameOf,
  type ErrorFrame,
  ROOM_RULE,
  roomSchema,
  type ServerFrame,
} from '../protocol/index.js';
import type { ParleyError } from './errors.js';
import { BadRequestError, ConnectionClosedError, errorFromFrame, RequestTimeoutError } from './errors.js';
import type { Link, RoomFilter } from './link.js';
import type { Timers } from './types.js';

/** A leave, history or presence request waiting for its reply; resent on a new connection. */
export interface PendingRequest {
  action: 'leave' | 'history' | 'presence';
  room: string;
  frame: ClientFrameOf<'leave' | 'history' | 'presence'>;
  resolve: (frame: ServerFrame) => void;
  reject: (error: ParleyError) => void;
  timer: unknown;
  /** The connection generation it was last transmitted on (resent on a newer one). */
  sentOn: number;
}

/** What a ref in flight on the current connection stands for. */
export type Inflight =
  | { kind: 'send'; key: string }
  | { kind: 'request'; request: PendingRequest }
  | { kind: 'join'; room: string }
  | { kind: 'ping' };

/** How a module that sends frames asks for refs: the part of {@link RefTable} it needs. */
export interface Refs {
  /** A new ref for a frame about to go, remembered as standing for `what` until it is answered. */
  issue(what: Inflight): string;
  /** Forgets a ref whose answer no longer matters (a superseded join, a dropped room). */
  forget(ref: string): void;
}

/** The refs of the current connection and what each stands for. */
export class RefTable implements Refs {
  readonly #inflight = new Map<string, Inflight>();
  #counter = 0;

  /** {@inheritDoc Refs.issue} */
  public issue(what: Inflight): string {
    this.#counter += 1;
    const ref = `r${this.#counter}`;
    this.#inflight.set(ref, what);
    return ref;
  }

  /** {@inheritDoc Refs.forget} */
  public forget(ref: string): void {
    this.#inflight.delete(ref);
  }

  /** What a ref stands for, without forgetting it. */
  public peek(ref: string | undefined): Inflight | undefined {
    return ref === undefined ? undefined : this.#inflight.get(ref);
  }

  /** What an answer's ref stood for, forgotten at once: each ref is answered once. */
  public take(ref: string | undefined): Inflight | undefined {
    if (ref === undefined) return undefined;
    const inflight = this.#inflight.get(ref);
    this.#inflight.delete(ref);
    return inflight;
  }

  /** Forgets every ref: the connection they were sent on is gone. */
  public clear(): void {
    this.#inflight.clear();
  }
}

/** What {@link Requests} needs. */
export interface RequestsOptions {
  link: Link;
  refs: Refs;
  /** Whether a request for a room may go now (the room is joined on this connection, or not joined at all). */
  ready: RoomFilter;
  timers: Timers;
  requestTimeoutMs: number;
}

/** The leave, history and presence requests waiting for their reply. */
export class Requests {
  readonly #pending = new Set<PendingRequest>();
  readonly #options: RequestsOptions;

  public constructor(options: RequestsOptions) {
    this.#options = options;
  }

  /**
   * Sends a request and resolves with its reply, or rejects with the server's typed error, or with
   * `RequestTimeoutError` after `requestTimeoutMs` (across reconnects: it is sent again on each).
   */
  public request(
    action: PendingRequest['action'],
    room: string,
    frame: PendingRequest['frame'],
  ): Promise<ServerFrame> {
    const { link, timers, requestTimeoutMs, ready } = this.#options;
    if (link.closed) {
      return Promise.reject(new ConnectionClosedError('the client was closed', { room, action }));
    }
    if (!roomSchema.safeParse(room).success) {
      return Promise.reject(new BadRequestError(ROOM_RULE, { room, action }));
    }
    return new Promise<ServerFrame>((resolve, reject) => {
      const request: PendingRequest = {
        action,
        room,
        frame,
        resolve,
        reject,
        timer: undefined,
        sentOn: 0,
      };
      request.timer = timers.setTimeout(() => {
        this.#pending.delete(request);
        reject(new RequestTimeoutError(`${action} for ${room} was not answered`, { room, action }));
      }, requestTimeoutMs);
      this.#pending.add(request);
      // A leave needs no joined room: it is what ends the membership.
      if (action === 'leave' ? link.isOpen() : ready(room)) this.#transmit(request);
    });
  }

  /** Resolves a request with its reply (once: a late second reply is ignored). */
  public settle(request: PendingRequest, frame: ServerFrame): void {
    if (!this.#pending.delete(request)) return;
    this.#options.timers.clearTimeout(request.timer);
    request.resolve(frame);
  }

  /** Rejects a request with the typed error of the server's `error` frame. */
  public refused(request: PendingRequest, frame: ErrorFrame): void {
    this.failed(request, errorFromFrame(frame, { room: request.room }));
  }

  /** Rejects a request with `error` (once: a late second answer is ignored). */
  public failed(request: PendingRequest, error: ParleyError): void {
    if (!this.#pending.delete(request)) return;
    this.#options.timers.clearTimeout(request.timer);
    request.reject(error);
  }

  /** Sends again, on the current connection, the requests not sent on it yet for the rooms `which` admits. */
  public resend(which: RoomFilter): void {
    const generation = this.#options.link.generation;
    for (const request of this.#pending) {
      if (request.sentOn !== generation && which(request.room)) this.#transmit(request);
    }
  }

  /** The connection was lost: a leave in flight is done, since the server removes a closed connection's memberships. */
  public settleLeaves(): void {
    for (const request of [...this.#pending]) {
      if (request.action === 'leave') this.settle(request, { type: 'left', room: request.room });
    }
  }

  /** The client was closed: every request rejects with `ConnectionClosedError`. */
  public closeAll(reason: string): void {
    for (const request of this.#pending) {
      this.#options.timers.clearTimeout(request.timer);
      request.reject(new ConnectionClosedError(reason, { room: request.room, action: request.action }));
    }
    this.#pending.clear();
  }

  #transmit(request: PendingRequest): void {
    const { link, refs } = this.#options;
    request.sentOn = link.generation;
    const ref = refs.issue({ kind: 'request', request });
    link.transmit({ ...request.frame, ref });
  }
}
