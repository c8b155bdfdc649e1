/**
 * The send outbox: every send waits here, across reconnects, until it is acknowledged, refused or
 * times out. It is always (re)sent with the same id, so the server stores it at most once and
 * answers a repeat with the first ack: resending is always safe, and each promise settles once.
 *
 * @example
 * ```ts
 * const outbox = new Outbox({ link, refs, ready, timers, random: Math.random, ...limits });
 * const ack = await outbox.send('lobby', 'hello');
 * ```
 */
import {
  type AckFrame,
  type ErrorFrame,
  type JsonValue,
  MESSAGE_ID_RULE,
  messageIdSchema,
  ROOM_RULE,
  roomSchema,
  utf8Length,
} from '../protocol/index.js';
import { transientRetryDelay } from './backoff.js';
import {
  BadRequestError,
  ConnectionClosedError,
  errorFromFrame,
  isTransientCode,
  type ParleyError,
  PayloadTooLargeError,
  SendTimeoutError,
} from './errors.js';
import type { Link, RoomFilter } from './link.js';
import type { Refs } from './requests.js';
import type { SendAck, SendOptions, Timers } from './types.js';

/** A send waiting for its ack; it outlives connections until acked, rejected or timed out. */
interface PendingSend {
  room: string;
  id: string;
  body: JsonValue;
  promise: Promise<SendAck>;
  resolve: (ack: SendAck) => void;
  reject: (error: ParleyError) => void;
  timer: unknown;
  /** The connection generation it was last transmitted on (resent on a newer one). */
  sentOn: number;
  /** Times the server answered `rate_limited` or `internal`; each retry waits longer. */
  rateLimited: number;
  /** The pending retry after such an answer, or the resend of an unanswered one. */
  retryTimer: unknown;
}

/** What {@link Outbox} needs. */
export interface OutboxOptions {
  link: Link;
  refs: Refs;
  /** Whether a send to a room may go now (the room is joined on this connection, or not joined at all). */
  ready: RoomFilter;
  timers: Timers;
  random: () => number;
  generateId: () => string;
  sendTimeoutMs: number;
  resendAfterMs: number;
  retryTransientSends: boolean;
  maxBodyBytes: number;
}

/** The key of a send: ids are unique per room, not across rooms. */
export const sendKey = (room: string, id: string): string => `${room}\u0000${id}`;

/** The sends waiting for their ack. */
export class Outbox {
  readonly #sends = new Map<string, PendingSend>();
  readonly #options: OutboxOptions;

  public constructor(options: OutboxOptions) {
    this.#options = options;
  }

  /** Queues a send (see `ParleyClient.send`): it goes now if it may, else when its room is joined. */
  public send(room: string, body: JsonValue, options: SendOptions = {}): Promise<SendAck> {
    const { link, timers, sendTimeoutMs, maxBodyBytes } = this.#options;
    const id = options.id ?? this.#options.generateId();
    const context = { room, id, action: 'send' };
    if (link.closed) return Promise.reject(new ConnectionClosedError('the client was closed', context));
    if (!roomSchema.safeParse(room).success) {
      return Promise.reject(new BadRequestError(ROOM_RULE, context));
    }
    if (!messageIdSchema.safeParse(id).success) {
      return Promise.reject(new BadRequestError(MESSAGE_ID_RULE, context));
    }
    const serialized = JSON.stringify(body) as string | undefined;
    if (serialized === undefined) {
      return Promise.reject(new BadRequestError('body must be a JSON value', context));
    }
    const size = utf8Length(serialized);
    if (size > maxBodyBytes) {
      return Promise.reject(
        new PayloadTooLargeError(`body is ${size} bytes; the limit is ${maxBodyBytes}`, context),
      );
    }
    const key = sendKey(room, id);
    const existing = this.#sends.get(key);
    if (existing !== undefined) return existing.promise;

    let resolve!: (ack: SendAck) => void;
    let reject!: (error: ParleyError) => void;
    const promise = new Promise<SendAck>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const pending: PendingSend = {
      room,
      id,
      body,
      promise,
      resolve,
      reject,
      timer: undefined,
      sentOn: 0,
      rateLimited: 0,
      retryTimer: undefined,
    };
    pending.timer = timers.setTimeout(() => {
      this.#sends.delete(key);
      timers.clearTimeout(pending.retryTimer);
      reject(
        new SendTimeoutError(
          `send ${id} to ${room} was not acknowledged within ${sendTimeoutMs} ms`,
          context,
        ),
      );
    }, sendTimeoutMs);
    this.#sends.set(key, pending);
    if (this.#options.ready(room)) this.#transmit(pending);
    return promise;
  }

  /**
   * Settles a send with its ack. `key` is what the ack's ref was issued for; an ack without a
   * known ref (an answer to an earlier transmission) is matched by its room and id.
   */
  public acked(frame: AckFrame, key: string | undefined): void {
    const pending = this.#finish(key ?? sendKey(frame.room, frame.id));
    pending?.resolve({ room: frame.room, id: frame.id, origin: frame.origin, seq: frame.seq, ts: frame.ts });
  }

  /** A send the server answered with an error: retried later if transient, else rejected. */
  public refused(key: string, frame: ErrorFrame): void {
    const pending = this.#sends.get(key);
    if (pending === undefined) return;
    // Both are transient, and a retry with the same id is safe (stored at most once).
    if (isTransientCode(frame.code) && this.#options.retryTransientSends) {
      this.#retryLater(pending);
      return;
    }
    this.#finish(key);
    pending.reject(errorFromFrame(frame, { room: pending.room, id: pending.id }));
  }

  /** Sends again, on the current connection, the sends not sent on it yet for the rooms `which` admits. */
  public resend(which: RoomFilter): void {
    const generation = this.#options.link.generation;
    for (const pending of this.#sends.values()) {
      if (pending.sentOn !== generation && which(pending.room)) this.#transmit(pending);
    }
  }

  /** The client was closed: every send rejects with `ConnectionClosedError`. */
  public closeAll(reason: string): void {
    const { timers } = this.#options;
    for (const pending of this.#sends.values()) {
      timers.clearTimeout(pending.timer);
      timers.clearTimeout(pending.retryTimer);
      pending.reject(
        new ConnectionClosedError(reason, { room: pending.room, id: pending.id, action: 'send' }),
      );
    }
    this.#sends.clear();
  }

  /** Removes a send that is settled now, and stops its timers. */
  #finish(key: string): PendingSend | undefined {
    const pending = this.#sends.get(key);
    if (pending === undefined) return undefined;
    this.#sends.delete(key);
    this.#options.timers.clearTimeout(pending.timer);
    this.#options.timers.clearTimeout(pending.retryTimer);
    return pending;
  }

  /** Whether `pending` is still waiting and was last handled on the current connection. */
  #stillDue(pending: PendingSend, generation: number): boolean {
    return (
      this.#sends.get(sendKey(pending.room, pending.id)) === pending &&
      this.#options.link.generation === generation
    );
  }

  #transmit(pending: PendingSend): void {
    const { link, refs, timers, resendAfterMs, ready } = this.#options;
    pending.sentOn = link.generation;
    const ref = refs.issue({ kind: 'send', key: sendKey(pending.room, pending.id) });
    link.transmit({ action: 'send', room: pending.room, id: pending.id, body: pending.body, ref });
    // A send can go unanswered on a live connection (API Gateway answers a Lambda timeout with a
    // frame that carries no ref): send it again, with the same id, rather than wait for a reconnect.
    const generation = link.generation;
    timers.clearTimeout(pending.retryTimer);
    pending.retryTimer = timers.setTimeout(() => {
      pending.retryTimer = undefined;
      if (this.#stillDue(pending, generation) && ready(pending.room)) this.#transmit(pending);
    }, resendAfterMs);
  }

  /**
   * Sends a send answered `rate_limited` or `internal` again after a backoff with full jitter.
   * Safe: the retry carries the same id, so the server stores it at most once and answers a
   * repeat with the first ack. A reconnect before the timer fires resends it anyway.
   */
  #retryLater(pending: PendingSend): void {
    const { link, timers, random, ready } = this.#options;
    const generation = link.generation;
    const delay = transientRetryDelay(pending.rateLimited, random);
    pending.rateLimited += 1;
    timers.clearTimeout(pending.retryTimer);
    pending.retryTimer = timers.setTimeout(() => {
      pending.retryTimer = undefined;
      if (this.#stillDue(pending, generation) && ready(pending.room)) this.#transmit(pending);
    }, delay);
  }
}
