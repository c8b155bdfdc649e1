/**
 * What one joined room hands to the application: its messages, through the room's
 * {@link RoomStream} (order, dedup, skips); the replay of each resume until `caughtUp`, following
 * `more` from join to join ({@link Replay}); and the watch on gaps, which resumes the room on the
 * live connection when a message waits too long behind one.
 *
 * The feed never sends anything itself: it asks its room to resume, and the room joins again
 * with `since` if it may (joined on this connection, no join in flight).
 *
 * @example
 * ```ts
 * const feed = new RoomFeed({ room: 'lobby', timers, emit, resume, gapTimeoutMs: 3_000, replayQuietMs: 1_000 });
 * feed.joined(joined, since, 'reconnect');
 * feed.take(message, (stream) => stream.accept(message));
 * ```
 */
import type { Cursor, JoinedFrame, MessageFrame } from '../protocol/index.js';
import type { Emit } from './emitter.js';
import { ProtocolViolationError } from './errors.js';
import type { MessagePlace } from './frames.js';
import { Replay, type ResumeReason } from './replay.js';
import { RoomStream } from './room-stream.js';
import type { ParleyClientEvents, Timers } from './types.js';

/** What {@link RoomFeed} needs. */
export interface RoomFeedOptions {
  room: string;
  timers: Timers;
  gapTimeoutMs: number;
  replayQuietMs: number;
  emit: Emit<ParleyClientEvents, 'message' | 'caughtUp' | 'error'>;
  /** Resume the room (join again with `since`), if it may be now. */
  resume(reason: ResumeReason): void;
}

/** One room's delivery, replay and gap watch. */
export class RoomFeed {
  /** The room's cursor, reorder buffer and dedup. */
  public readonly stream = new RoomStream();
  readonly #options: RoomFeedOptions;
  /** The replay of a resume in progress, over one or more joins. */
  #replay: Replay | undefined;
  #gapTimer: unknown;

  public constructor(options: RoomFeedOptions) {
    this.#options = options;
  }

  /**
   * A `joined` for the room. `since` is what its join asked from, for a resume (`reason`); a
   * first join starts the stream at `joined.cursor`, and so does a fresh join of a room whose
   * resume the server refused (the replay, if one was under way, ends without `caughtUp`).
   */
  public joined(frame: JoinedFrame, since: Cursor | undefined, reason: ResumeReason | undefined): void {
    if (!this.stream.initialized) {
      this.#deliver(this.stream.initialize(frame.cursor));
    } else if (reason === undefined) {
      this.#replay?.cancel();
      this.#replay = undefined;
      this.#deliver(this.stream.restart(frame.cursor));
    } else {
      // A join of a resume under way (following `more`, or a gap's resume meanwhile) carries on
      // its replay, and its count; any other begins one.
      const { timers, replayQuietMs } = this.#options;
      const replay = this.#replay ?? new Replay(reason, { timers, quietMs: replayQuietMs });
      this.#replay = replay;
      replay.joined(since ?? {}, frame.cursor, frame.more === true, () => this.#followMore(replay));
      this.#checkCaughtUp();
    }
    this.#watchGap();
  }

  /** One message of the room (or its place, skipped): `step` hands it to the stream. */
  public take(place: MessagePlace, step: (stream: RoomStream) => MessageFrame[]): void {
    this.#replay?.heard(place);
    this.#deliver(step(this.stream));
    this.#checkCaughtUp();
    this.#watchGap();
  }

  /** The connection is gone, or the room: no replay or gap watch goes on (the cursor stays). */
  public stop(): void {
    this.#replay?.cancel();
    this.#replay = undefined;
    this.#options.timers.clearTimeout(this.#gapTimer);
    this.#gapTimer = undefined;
  }

  #deliver(messages: MessageFrame[]): void {
    for (const message of messages) {
      const replay = this.#replay;
      if (replay?.replays(message)) replay.count += 1;
      this.#options.emit('message', message);
    }
  }

  #checkCaughtUp(): void {
    const replay = this.#replay;
    if (replay === undefined || !replay.complete(this.stream)) return;
    replay.cancel();
    this.#replay = undefined;
    this.#options.emit('caughtUp', { room: this.#options.room, count: replay.count, reason: replay.reason });
  }

  /**
   * The replay of a join answered `more` went quiet: join again from the cursor as it is now,
   * unless the resume must stop following `more` (see {@link Replay.stop}).
   */
  #followMore(replay: Replay): void {
    if (this.#replay !== replay) return;
    const stop = replay.stop(this.stream.cursor());
    if (stop === undefined) {
      this.#options.resume(replay.reason);
      return;
    }
    this.#replay = undefined;
    const { room, emit } = this.#options;
    const why =
      stop === 'no-progress'
        ? 'its last replay brought nothing new'
        : `it already joined ${replay.joins} times in a row`;
    emit(
      'error',
      new ProtocolViolationError(
        `the resume of ${room} stopped following more: ${why}; what was not replayed comes with a later resume`,
        { room, action: 'join' },
      ),
    );
  }

  /**
   * A message waiting behind a gap on a live connection (a delivery that failed, or arrived late)
   * waits `gapTimeoutMs`; then the room is resumed on the same connection, which replays the gap.
   */
  #watchGap(): void {
    const { timers, gapTimeoutMs } = this.#options;
    if (!this.stream.initialized || this.stream.buffered === 0) {
      timers.clearTimeout(this.#gapTimer);
      this.#gapTimer = undefined;
      return;
    }
    if (this.#gapTimer !== undefined) return;
    this.#gapTimer = timers.setTimeout(() => {
      this.#gapTimer = undefined;
      if (this.stream.buffered > 0) this.#options.resume('gap');
    }, gapTimeoutMs);
  }
}
