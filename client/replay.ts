/**
 * The replay of one resume: what a `join` with `since` brings back, across as many joins as the
 * server asks for with `more` (PROTOCOL.md, "Limits", "Replay"), until `caughtUp`.
 *
 * A join replays at most `maxReplay` messages; `joined.more` says more were missed, and the client
 * joins again from its advanced cursor. The replayed messages follow `joined` with nothing to mark
 * their end, and live ones may come between them, so the end of one join's replay is a quiet
 * period: no replayed message (one at or below `joined.cursor` for its origin, delivered,
 * duplicate or skipped alike) for `quietMs`. Live messages never extend the wait, so a busy room
 * cannot hold it open. Joining again too early costs only duplicates, which the room's stream
 * drops; the next join always asks from the cursor as it is then.
 *
 * A resume follows `more` for at most {@link MAX_REPLAY_JOINS} joins in a row, and only while
 * each join's replay moved the cursor towards that join's `cursor`: a server that keeps saying
 * `more` without replaying anything cannot keep the client joining.
 *
 * @example
 * ```ts
 * const replay = new Replay('reconnect', { timers, quietMs: 1_000 });
 * replay.joined(since, joined.cursor, joined.more === true, () => joinAgain());
 * replay.heard(message); // for every message of the room
 * if (replay.complete(stream)) emitCaughtUp(replay.count);
 * ```
 */
import type { Cursor } from '../protocol/index.js';
import type { RoomStream } from './room-stream.js';
import type { Timers } from './types.js';

/** Why a join carries `since`: a new connection, or a gap on the live one. */
export type ResumeReason = 'reconnect' | 'gap';

/**
 * The most joins in a row one resume makes to follow `more`: half a million messages at the
 * server's default `maxReplay` of 500. Joins are bounded by the missed total over `maxReplay`
 * anyway; this bounds a server that misbehaves.
 */
export const MAX_REPLAY_JOINS = 1_000;

/** The default quiet period that ends one join's replay when `more` follows. */
export const DEFAULT_REPLAY_QUIET_MS = 1_000;

/** Why a resume stopped following `more`. */
export type ReplayStop = 'no-progress' | 'too-many-joins';

/** What {@link Replay} needs. */
export interface ReplayOptions {
  timers: Timers;
  quietMs: number;
}

/** One resume's replay, over one or more joins. */
export class Replay {
  /** Why the resume began. */
  public readonly reason: ResumeReason;
  /** Messages the replay delivered, over all its joins (duplicates and skips excluded). */
  public count = 0;
  readonly #options: ReplayOptions;
  /** The room's cursor at the latest join: a message at or below it is replayed, above it live. */
  #target: Cursor = {};
  /** What the latest join asked from (its `since`). */
  #since: Cursor = {};
  /** The latest join said `more`: the resume joins again once its replay goes quiet. */
  #more = false;
  #joins = 0;
  #quietTimer: unknown;
  #onQuiet: (() => void) | undefined;

  public constructor(reason: ResumeReason, options: ReplayOptions) {
    this.reason = reason;
    this.#options = options;
  }

  /** Joins of this resume answered so far. */
  public get joins(): number {
    return this.#joins;
  }

  /**
   * A join of this resume was answered: it asked from `since`, and the room stood at `cursor`.
   * With `more`, `onQuiet` is called once that join's replay has gone quiet.
   */
  public joined(since: Cursor, cursor: Cursor, more: boolean, onQuiet: () => void): void {
    this.#joins += 1;
    this.#since = { ...since };
    this.#target = { ...cursor };
    this.#more = more;
    this.#onQuiet = more ? onQuiet : undefined;
    this.#restartQuiet();
  }

  /** Whether a message is replayed (not live): at or below the latest join's cursor for its origin. */
  public replays(message: { origin: string; seq: number }): boolean {
    return message.seq <= (this.#target[message.origin] ?? 0);
  }

  /** A message of the room arrived (or was skipped): a replayed one extends the quiet wait. */
  public heard(message: { origin: string; seq: number }): void {
    if (this.#onQuiet !== undefined && this.replays(message)) this.#restartQuiet();
  }

  /** True once no `more` is due and everything up to the latest join's cursor was delivered. */
  public complete(stream: RoomStream): boolean {
    return !this.#more && stream.reached(this.#target);
  }

  /**
   * After the quiet wait: undefined when the resume should join again from `cursor` (the cursor
   * as it is now), else why it stops following `more`.
   */
  public stop(cursor: Cursor): ReplayStop | undefined {
    if (this.#joins >= MAX_REPLAY_JOINS) return 'too-many-joins';
    const progressed = Object.entries(this.#target).some(
      ([origin, seq]) => Math.min(cursor[origin] ?? 0, seq) > (this.#since[origin] ?? 0),
    );
    return progressed ? undefined : 'no-progress';
  }

  /** Stops waiting: the resume ended, or its connection did. */
  public cancel(): void {
    this.#options.timers.clearTimeout(this.#quietTimer);
    this.#quietTimer = undefined;
    this.#onQuiet = undefined;
  }

  #restartQuiet(): void {
    const { timers, quietMs } = this.#options;
    timers.clearTimeout(this.#quietTimer);
    this.#quietTimer = undefined;
    const onQuiet = this.#onQuiet;
    if (onQuiet === undefined) return;
    this.#quietTimer = timers.setTimeout(() => {
      this.#quietTimer = undefined;
      this.#onQuiet = undefined;
      onQuiet();
    }, quietMs);
  }
}
