/**
 * The rooms a client has joined: their joins (and rejoins after every reconnect, resumed from the
 * room's cursor with `since`), the refusals of those joins, and the member lists kept current by
 * presence events. What each room delivers (order, dedup, replay, `caughtUp`, gaps) is its
 * {@link RoomFeed}'s.
 *
 * @example
 * ```ts
 * const rooms = new Rooms({ link, refs, timers, random: Math.random, emit, onJoined, onRegion, ...limits });
 * const { cursor, members } = await rooms.join('lobby');
 * ```
 */
import type { Cursor, ErrorFrame, JoinedFrame, MessageFrame, PresenceReplyFrame } from '../protocol/index.js';
import { ROOM_RULE, roomSchema } from '../protocol/index.js';
import { transientRetryDelay } from './backoff.js';
import type { Emit } from './emitter.js';
import {
  BadRequestError,
  ConnectionClosedError,
  errorFromFrame,
  isTransientCode,
  type ParleyError,
  RequestTimeoutError,
  UnknownServerError,
} from './errors.js';
import type { MessagePlace } from './frames.js';
import type { Link } from './link.js';
import { MemberList } from './member-list.js';
import type { ResumeReason } from './replay.js';
import type { Inflight, Refs } from './requests.js';
import { RoomFeed } from './room-feed.js';
import type { JoinResult, ParleyClientEvents, Timers } from './types.js';

/** A joined (or joining) room. */
interface RoomEntry {
  room: string;
  feed: RoomFeed;
  members: MemberList;
  /** True once `joined` arrived on the current connection. */
  joinedOnConnection: boolean;
  /** The ref of the join in flight on the current connection. */
  joinRef: string | undefined;
  /** Why the join in flight carries `since`, if it does. */
  resumeReason: ResumeReason | undefined;
  /** The `since` of the join in flight, if it carries one. */
  joinSince: Cursor | undefined;
  /** Callers of `join` still waiting for the first `joined`. */
  waiters: Array<{ resolve: (result: JoinResult) => void; reject: (error: ParleyError) => void }>;
  joinTimer: unknown;
  /**
   * A resume was refused on this connection with a code this SDK does not know: the room is not
   * resumed again on it (that would be a retry), only on the next connection.
   */
  stalled: boolean;
  /** Joins answered `internal` or `rate_limited` in a row; each retry waits longer. */
  joinRetries: number;
  /** The pending retry of such a join, or the resend of an unanswered one. */
  joinRetryTimer: unknown;
}

/** The events the rooms emit through the client. */
export type RoomEvent = 'message' | 'presence' | 'caughtUp' | 'joined' | 'error';

/** What {@link Rooms} needs. */
export interface RoomsOptions {
  link: Link;
  refs: Refs;
  timers: Timers;
  random: () => number;
  requestTimeoutMs: number;
  gapTimeoutMs: number;
  resendAfterMs: number;
  /** How long no replayed message must come before a join answered `more` is followed by the next. */
  replayQuietMs: number;
  emit: Emit<ParleyClientEvents, RoomEvent>;
  /** A room was joined on the current connection: the sends and requests that waited for it may go. */
  onJoined(room: string): void;
  /** The server named the region that accepted the connection (in `joined`). */
  onRegion(region: string): void;
}

/** The joined rooms. */
export class Rooms {
  readonly #rooms = new Map<string, RoomEntry>();
  readonly #options: RoomsOptions;

  public constructor(options: RoomsOptions) {
    this.#options = options;
  }

  /** The rooms joined (or being joined). */
  public names(): string[] {
    return [...this.#rooms.keys()];
  }

  /** A room's cursor: the highest seq delivered per origin. */
  public cursor(room: string): Record<string, number> | undefined {
    return this.#rooms.get(room)?.feed.stream.cursor();
  }

  /** A joined room's members (its list and count), if the room is joined. */
  public members(room: string): MemberList | undefined {
    return this.#rooms.get(room)?.members;
  }

  /** A frame for `room` may go now: the connection is open and the room is joined on it (if joined at all). */
  public ready(room: string): boolean {
    if (!this.#options.link.isOpen()) return false;
    const entry = this.#rooms.get(room);
    return entry === undefined || entry.joinedOnConnection;
  }

  /** Joins a room (see `ParleyClient.join`); it is rejoined after every reconnect until left. */
  public join(room: string): Promise<JoinResult> {
    if (this.#options.link.closed) {
      return Promise.reject(new ConnectionClosedError('the client was closed', { room }));
    }
    if (!roomSchema.safeParse(room).success) {
      return Promise.reject(new BadRequestError(ROOM_RULE, { room, action: 'join' }));
    }
    const existing = this.#rooms.get(room);
    if (existing?.feed.stream.initialized === true && existing.joinedOnConnection) {
      return Promise.resolve(this.#joinResult(existing));
    }
    return new Promise<JoinResult>((resolve, reject) => {
      if (existing !== undefined) {
        existing.waiters.push({ resolve, reject });
        this.#armJoinTimer(existing);
        return;
      }
      const { timers, gapTimeoutMs, replayQuietMs, emit } = this.#options;
      const entry: RoomEntry = {
        room,
        feed: new RoomFeed({
          room,
          timers,
          gapTimeoutMs,
          replayQuietMs,
          emit,
          resume: (reason) => this.#resume(entry, reason),
        }),
        members: new MemberList(),
        joinedOnConnection: false,
        joinRef: undefined,
        resumeReason: undefined,
        joinSince: undefined,
        waiters: [{ resolve, reject }],
        joinTimer: undefined,
        stalled: false,
        joinRetries: 0,
        joinRetryTimer: undefined,
      };
      this.#rooms.set(room, entry);
      this.#armJoinTimer(entry);
      if (this.#options.link.isOpen()) this.#sendJoin(entry, undefined);
    });
  }

  /** Forgets a room (left, or refused), rejecting the callers still waiting for its join with `error`. */
  public drop(room: string, error: ParleyError): void {
    const entry = this.#rooms.get(room);
    if (entry !== undefined) this.#drop(entry, error);
  }

  /** The client was closed: every room is forgotten, and its join's callers reject with `ConnectionClosedError`. */
  public closeAll(reason: string): void {
    for (const entry of [...this.#rooms.values()]) {
      this.#drop(entry, new ConnectionClosedError(reason, { room: entry.room, action: 'join' }));
    }
  }

  /** A new connection is open: join every room again, resuming from its cursor where it has one. */
  public rejoinAll(): void {
    for (const entry of this.#rooms.values()) {
      this.#sendJoin(entry, entry.feed.stream.initialized ? 'reconnect' : undefined);
    }
  }

  /** The connection is gone: no room is joined on it any more, and no join or replay is in progress. */
  public connectionEnded(): void {
    for (const entry of this.#rooms.values()) {
      entry.joinedOnConnection = false;
      entry.joinRef = undefined;
      entry.resumeReason = undefined;
      entry.joinSince = undefined;
      entry.stalled = false;
      entry.feed.stop();
    }
  }

  /** A `joined` frame; `inflight` is what its ref was issued for, if the ref was known. */
  public onJoined(frame: JoinedFrame, inflight: Inflight | undefined): void {
    const { timers, emit } = this.#options;
    const entry = this.#rooms.get(frame.room);
    if (entry === undefined) return;
    // A joined for an older join of this room (superseded by a resume) is ignored.
    if (inflight !== undefined && (inflight.kind !== 'join' || frame.ref !== entry.joinRef)) return;
    entry.joinRef = undefined;
    entry.joinedOnConnection = true;
    entry.joinRetries = 0;
    timers.clearTimeout(entry.joinRetryTimer);
    entry.joinRetryTimer = undefined;
    entry.members.reset(frame.members, frame.memberCount);
    const region = frame.region;
    if (region !== undefined) this.#options.onRegion(region);
    const { resumeReason, joinSince } = entry;
    const resumed = resumeReason !== undefined && entry.feed.stream.initialized;
    entry.resumeReason = undefined;
    entry.joinSince = undefined;
    emit('joined', {
      room: frame.room,
      cursor: { ...frame.cursor },
      members: [...frame.members],
      ...(frame.memberCount !== undefined ? { memberCount: frame.memberCount } : {}),
      resumed,
      ...(region !== undefined ? { region } : {}),
    });
    entry.feed.joined(frame, joinSince, resumeReason);
    timers.clearTimeout(entry.joinTimer);
    entry.joinTimer = undefined;
    const waiters = entry.waiters;
    entry.waiters = [];
    for (const waiter of waiters) waiter.resolve(this.#joinResult(entry));
    // Now that the room is joined on this connection, what waited for it can go.
    this.#options.onJoined(entry.room);
  }

  /**
   * A join the server answered with an error: joined again later if transient; a refused resume
   * keeps the room (see below); else the room is dropped.
   */
  public refused(room: string, frame: ErrorFrame): void {
    const entry = this.#rooms.get(room);
    if (entry === undefined || frame.ref !== entry.joinRef) return;
    const error = errorFromFrame(frame, { room });
    // A transient refusal must not lose the room (and, on a resume, its cursor and the sends
    // waiting for it): join again after a backoff. Callers of join() are still bounded by
    // requestTimeoutMs.
    if (isTransientCode(frame.code)) {
      this.#rejoinLater(entry);
      return;
    }
    if (entry.resumeReason !== undefined && frame.code === 'bad_request') {
      // The server will not take the cursor (PROTOCOL.md, "Limits", "Cursors"). That must not cost
      // the room: join it afresh, so live traffic flows again, and say what was given up.
      const why = `the server refused to resume ${room} from its cursor (${frame.message}); joined it again without since, so what was missed meanwhile is not replayed`;
      this.#options.emit('error', errorFromFrame({ ...frame, message: why }, { room }));
      this.#sendJoin(entry, undefined);
      return;
    }
    if (error instanceof UnknownServerError && entry.feed.stream.initialized) {
      // Not retried (PROTOCOL.md, "Unknown codes"), but no reason to forget a room that was
      // joined, with its cursor and the sends waiting for it: it waits for the next connection.
      this.#options.emit('error', error);
      this.#rejectWaiters(entry, error);
      this.#options.timers.clearTimeout(entry.joinRetryTimer);
      entry.joinRef = undefined;
      entry.stalled = true;
      entry.feed.stop();
      return;
    }
    if (entry.waiters.length === 0) this.#options.emit('error', error);
    this.#drop(entry, error);
  }

  /** A live or replayed message. */
  public onMessage(frame: MessageFrame): void {
    this.#rooms.get(frame.room)?.feed.take(frame, (stream) => stream.accept(frame));
  }

  /**
   * A message the client could not read, at a place in its room's sequence it could: the cursor
   * moves past it, undelivered, so that no resume asks for it again.
   */
  public onSkipped(place: MessagePlace): void {
    this.#rooms.get(place.room)?.feed.take(place, (stream) => stream.skip(place.origin, place.seq));
  }

  /** A presence frame that answers no request: a member joined or left, or a fresh member list. */
  public onPresence(frame: PresenceReplyFrame): void {
    const event = this.#rooms.get(frame.room)?.members.onPresence(frame);
    if (event !== undefined) this.#options.emit('presence', event);
  }

  /** Bounds a join that callers wait for, across reconnects, like every other request. */
  #armJoinTimer(entry: RoomEntry): void {
    if (entry.joinTimer !== undefined) return;
    entry.joinTimer = this.#options.timers.setTimeout(() => {
      entry.joinTimer = undefined;
      if (entry.waiters.length === 0) return;
      const { room } = entry;
      const error = new RequestTimeoutError(`join of ${room} was not answered`, { room, action: 'join' });
      if (!entry.feed.stream.initialized) {
        this.#drop(entry, error);
        return;
      }
      // The room was joined before and is being resumed: keep it (and its cursor), only answer the callers.
      this.#rejectWaiters(entry, error);
    }, this.#options.requestTimeoutMs);
  }

  #sendJoin(entry: RoomEntry, resume: ResumeReason | undefined): void {
    const { link, refs, timers, resendAfterMs } = this.#options;
    if (entry.joinRef !== undefined) refs.forget(entry.joinRef);
    const ref = refs.issue({ kind: 'join', room: entry.room });
    const since = resume === undefined ? undefined : entry.feed.stream.cursor();
    entry.joinRef = ref;
    entry.resumeReason = resume;
    entry.joinSince = since;
    link.transmit({ action: 'join', room: entry.room, ref, ...(since === undefined ? {} : { since }) });
    // Like a send, a join can go unanswered on a live connection: without its `joined` the room's
    // sends would wait for the next reconnect, so it is sent again.
    const generation = link.generation;
    timers.clearTimeout(entry.joinRetryTimer);
    entry.joinRetryTimer = timers.setTimeout(() => {
      entry.joinRetryTimer = undefined;
      if (!this.#isCurrent(entry, generation)) return;
      if (entry.joinRef === ref && link.isOpen()) this.#sendJoin(entry, resume);
    }, resendAfterMs);
  }

  /** Joins a room again after a backoff with full jitter, on the same connection only. */
  #rejoinLater(entry: RoomEntry): void {
    const { link, timers, random } = this.#options;
    const generation = link.generation;
    const resume = entry.resumeReason;
    entry.joinRef = undefined;
    const delay = transientRetryDelay(entry.joinRetries, random);
    entry.joinRetries += 1;
    timers.clearTimeout(entry.joinRetryTimer);
    entry.joinRetryTimer = timers.setTimeout(() => {
      entry.joinRetryTimer = undefined;
      // A new connection rejoins every room itself.
      if (!this.#isCurrent(entry, generation) || !link.isOpen()) return;
      // The same kind of join again: a first, a fresh (after a refused resume) or a resume.
      this.#sendJoin(entry, resume);
    }, delay);
  }

  /** Whether `entry` is still the joined room and the connection is the one `generation` names. */
  #isCurrent(entry: RoomEntry, generation: number): boolean {
    return this.#rooms.get(entry.room) === entry && this.#options.link.generation === generation;
  }

  /** Joins a room again with `since` on the live connection, if nothing stands in the way. */
  #resume(entry: RoomEntry, reason: ResumeReason): void {
    if (this.#rooms.get(entry.room) !== entry || entry.stalled || !this.#options.link.isOpen()) return;
    // Not joined yet on this connection: its join is on the way. A join in flight (a resend, the
    // resume of a gap) resumes the room already.
    if (entry.joinedOnConnection && entry.joinRef === undefined) this.#sendJoin(entry, reason);
  }

  #joinResult({ room, feed, members }: RoomEntry): JoinResult {
    const memberCount = members.reportedCount;
    return {
      room,
      cursor: feed.stream.cursor(),
      members: members.list(),
      ...(memberCount !== undefined ? { memberCount } : {}),
    };
  }

  /** Forgets a room: rejects its join waiters and stops its timers. */
  #drop(entry: RoomEntry, error: ParleyError): void {
    const { refs, timers } = this.#options;
    if (this.#rooms.get(entry.room) === entry) this.#rooms.delete(entry.room);
    if (entry.joinRef !== undefined) refs.forget(entry.joinRef);
    timers.clearTimeout(entry.joinTimer);
    timers.clearTimeout(entry.joinRetryTimer);
    entry.feed.stop();
    this.#rejectWaiters(entry, error);
  }

  #rejectWaiters(entry: RoomEntry, error: ParleyError): void {
    const waiters = entry.waiters;
    entry.waiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }
}
