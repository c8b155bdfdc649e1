/**
 * The ordering and dedup state of one joined room: the cursor (`{origin: seq}`, the highest seq
 * delivered per origin), a buffer of messages that arrived ahead of a gap, and the ids seen lately.
 *
 * Delivery rules (PROTOCOL.md, "Ordering, idempotency and resume"):
 * - per origin, messages are delivered in seq order; one that arrives ahead of a gap waits in the
 *   buffer until the gap is filled (by live traffic or by the next resume), and is never dropped;
 * - a message whose `(origin, seq)` was already delivered or buffered is a duplicate;
 * - a message whose `(room, id)` was already delivered under another `(origin, seq)` (a retried
 *   send stored in two regions before replication, in eventual mode) advances the cursor of its
 *   origin, so the sequence stays gap-free, but is not delivered a second time;
 * - a message the client could not read ({@link RoomStream.skip}) takes its place in the sequence
 *   like any other, so the cursor moves past it, but is never delivered.
 */
import type { Cursor, MessageFrame } from '../protocol/index.js';

/** How many recent message ids a room remembers for dedup by `(room, id)`. */
export const DEFAULT_SEEN_IDS = 10_000;

/** A place in an origin's sequence: the message to deliver there, or null for one skipped. */
type Slot = MessageFrame | null;

/** Per-room cursor, reorder buffer and id dedup. */
export class RoomStream {
  /** Highest seq delivered per origin: what `join.since` sends after a reconnect. */
  readonly #cursor = new Map<string, number>();
  /** Messages ahead of a gap, per origin, by seq. */
  readonly #buffer = new Map<string, Map<number, Slot>>();
  /** Messages that arrived before the first `joined` of this room told us where to start. */
  #early: Array<{ origin: string; seq: number; slot: Slot }> = [];
  /** Ids delivered lately, oldest first (a Map keeps insertion order). */
  readonly #seenIds = new Map<string, true>();
  #initialized = false;

  public constructor(private readonly maxSeenIds: number = DEFAULT_SEEN_IDS) {}

  /** True once the room's starting cursor is known (after its first `joined`). */
  public get initialized(): boolean {
    return this.#initialized;
  }

  /** A copy of the cursor: the highest seq delivered per origin. */
  public cursor(): Cursor {
    return Object.fromEntries(this.#cursor);
  }

  /** Number of messages waiting for a gap to be filled. */
  public get buffered(): number {
    let count = this.#early.length;
    for (const perOrigin of this.#buffer.values()) count += perOrigin.size;
    return count;
  }

  /**
   * Starts the stream at the room's cursor from its first `joined`: what was stored before the
   * join is history, not traffic. Returns the early messages that now turn out to be deliverable.
   */
  public initialize(start: Cursor): MessageFrame[] {
    for (const [origin, seq] of Object.entries(start)) this.#cursor.set(origin, seq);
    this.#initialized = true;
    const early = this.#early;
    this.#early = [];
    return early.flatMap(({ origin, seq, slot }) => this.#take(origin, seq, slot));
  }

  /**
   * Starts the stream again at `start`, the cursor of a fresh join (one without `since`, made
   * because the server refused the resume): what was stored up to it is history now. Per origin
   * the cursor never moves back (a lagging region's cursor would deliver messages again); origins
   * `start` does not name are forgotten, so that a cursor the server refused is not sent again.
   * Returns the buffered messages that are now in order.
   */
  public restart(start: Cursor): MessageFrame[] {
    const waiting = [...this.#buffer].flatMap(([origin, slots]) =>
      [...slots].map(([seq, slot]) => ({ origin, seq, slot })),
    );
    const previous = new Map(this.#cursor);
    this.#cursor.clear();
    this.#buffer.clear();
    for (const [origin, seq] of Object.entries(start)) {
      this.#cursor.set(origin, Math.max(seq, previous.get(origin) ?? 0));
    }
    waiting.sort((a, b) => a.seq - b.seq);
    return waiting.flatMap(({ origin, seq, slot }) => this.#take(origin, seq, slot));
  }

  /** Takes one incoming message; returns those that can now be delivered, in order (maybe none). */
  public accept(message: MessageFrame): MessageFrame[] {
    return this.#take(message.origin, message.seq, message);
  }

  /**
   * Takes the place of a message the client could not read (a body nested too deep, a field out
   * of bounds): the cursor moves past it in its turn, as if it had been delivered, so no resume
   * asks for it again. Returns the messages that can now be delivered, in order (maybe none).
   *
   * @example
   * ```ts
   * stream.skip('us-east-1', 5); // us-east-1:6, if it was waiting behind 5, is returned
   * ```
   */
  public skip(origin: string, seq: number): MessageFrame[] {
    return this.#take(origin, seq, null);
  }

  #take(origin: string, seq: number, slot: Slot): MessageFrame[] {
    if (!this.#initialized) {
      this.#early.push({ origin, seq, slot });
      return [];
    }
    const expected = (this.#cursor.get(origin) ?? 0) + 1;
    if (seq < expected) return [];
    let pending = this.#buffer.get(origin);
    if (seq > expected) {
      if (pending === undefined) {
        pending = new Map();
        this.#buffer.set(origin, pending);
      }
      if (!pending.has(seq)) pending.set(seq, slot);
      return [];
    }
    const ready: MessageFrame[] = [];
    let at = seq;
    let next: Slot | undefined = slot;
    while (next !== undefined) {
      this.#cursor.set(origin, at);
      if (next !== null && !this.#seenIds.has(next.id)) {
        this.#remember(next.id);
        ready.push(next);
      }
      at += 1;
      next = pending?.get(at);
      pending?.delete(at);
    }
    if (pending !== undefined && pending.size === 0) this.#buffer.delete(origin);
    return ready;
  }

  /** True when every origin has been delivered at least up to `target`. */
  public reached(target: Cursor): boolean {
    return Object.entries(target).every(([origin, seq]) => (this.#cursor.get(origin) ?? 0) >= seq);
  }

  #remember(id: string): void {
    this.#seenIds.set(id, true);
    if (this.#seenIds.size > this.maxSeenIds) {
      const oldest = this.#seenIds.keys().next();
      if (oldest.done !== true) this.#seenIds.delete(oldest.value);
    }
  }
}
