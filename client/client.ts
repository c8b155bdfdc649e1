/**
 * The Parley client: one WebSocket connection at a time, kept alive and moved between endpoints,
 * with rooms that survive reconnects (resume by cursor), dedup, in-order delivery per origin, and
 * sends that are resent with the same id until acknowledged.
 *
 * It uses only what browsers and Node 22 share (the WHATWG `WebSocket`, `URL`, `crypto.randomUUID`,
 * timers), so the same code runs in the web page, the terminal chat and the tests.
 *
 * {@link ParleyClient} is a facade over the parts that do the work, each behind a small interface:
 * the {@link Transport} (socket, heartbeat, endpoints and failover), the {@link RefTable} and
 * {@link Requests} (request correlation), the {@link Outbox} (sends) and the {@link Rooms} (joins,
 * resume, delivery, presence). The client routes each server frame to the part it answers.
 *
 * @example
 * ```ts
 * const client = new ParleyClient({
 *   endpoints: ['wss://chat.example.com/prod', 'wss://eu.chat.example.com/prod'],
 *   token: () => fetchToken(),
 * });
 * client.on('message', (m) => console.log(`${m.from}: ${JSON.stringify(m.body)}`));
 * await client.join('lobby');
 * const ack = await client.send('lobby', 'hello');
 * ```
 */
import {
  DEFAULT_MAX_BODY_BYTES,
  type ErrorFrame,
  HISTORY_LIMIT_MAX,
  type HistoryFrame,
  type JsonValue,
  MAX_PAGE_TOKEN_LENGTH,
  type Member,
  type PongFrame,
  type PresenceFrame,
  presenceFrameSchema,
  type ServerFrame,
} from '../protocol/index.js';
import { TypedEmitter } from './emitter.js';
import { Endpoints } from './endpoints.js';
import { BadRequestError, ConnectionClosedError, errorFromFrame } from './errors.js';
import type { Unreadable } from './frames.js';
import type { Link } from './link.js';
import { Outbox } from './outbox.js';
import { DEFAULT_REPLAY_QUIET_MS } from './replay.js';
import { RefTable, Requests } from './requests.js';
import { Rooms } from './rooms.js';
import { Transport } from './transport.js';
import type {
  ConnectionState,
  HistoryOptions,
  HistoryPage,
  JoinResult,
  ParleyClientEvents,
  ParleyClientOptions,
  PresencePage,
  PresencePageOptions,
  SendAck,
  SendOptions,
  Timers,
  WebSocketConstructor,
} from './types.js';

export { endpointUrl } from './endpoints.js';

const defaultTimers: Timers = {
  // Looked up at call time, so fake timers installed after the client was created still apply.
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * A Parley client. See the module documentation for an example; `on(...)` subscribes to
 * `message`, `presence`, `state`, `error`, `caughtUp` and `joined`.
 */
export class ParleyClient extends TypedEmitter<ParleyClientEvents> {
  readonly #transport: Transport;
  readonly #refs = new RefTable();
  readonly #requests: Requests;
  readonly #outbox: Outbox;
  readonly #rooms: Rooms;

  public constructor(options: ParleyClientOptions) {
    super();
    const random = options.random ?? Math.random;
    const endpoints = new Endpoints(options.endpoints, {
      failoverAfter: Math.max(1, options.failoverAfter ?? 2),
      backoff: options.backoff,
      random,
    });
    const WebSocket =
      options.WebSocket ?? (globalThis.WebSocket as unknown as WebSocketConstructor | undefined);
    if (WebSocket === undefined) {
      throw new TypeError('no WebSocket implementation: pass options.WebSocket (e.g. the ws package)');
    }
    const timers = options.timers ?? defaultTimers;
    const requestTimeoutMs = options.requestTimeoutMs ?? 15_000;
    const resendAfterMs = options.resendAfterMs ?? 10_000;
    const refs = this.#refs;
    const ready = (room: string): boolean => this.#rooms.ready(room);
    this.#transport = new Transport({
      endpoints,
      token: options.token,
      WebSocket,
      timers,
      refs,
      pingIntervalMs: options.pingIntervalMs ?? 30_000,
      pongTimeoutMs: options.pongTimeoutMs ?? 10_000,
      maxConnectionMs: options.maxConnectionMs ?? 110 * 60_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      preferredRetryMs: options.preferredRetryMs ?? 60_000,
      events: {
        state: (event) => this.emit('state', event),
        error: (error) => this.emit('error', error),
        frame: (frame) => this.#route(frame),
        unreadable: (unreadable) => this.#onUnreadable(unreadable),
        opened: () => {
          this.#rooms.rejoinAll();
          // Sends and requests for rooms this client has not joined go now; the server decides.
          this.#outbox.resend(ready);
          this.#requests.resend(ready);
        },
        ended: () => {
          refs.clear();
          this.#rooms.connectionEnded();
        },
        lost: () => this.#requests.settleLeaves(),
      },
    });
    // The rest sees only the transport's Link: generation, closed, isOpen, transmit.
    const link: Link = this.#transport;
    this.#requests = new Requests({ link, refs, ready, timers, requestTimeoutMs });
    this.#outbox = new Outbox({
      link,
      refs,
      ready,
      timers,
      random,
      generateId: options.generateId ?? (() => globalThis.crypto.randomUUID()),
      sendTimeoutMs: options.sendTimeoutMs ?? 30_000,
      resendAfterMs,
      retryTransientSends: options.retryTransientSends ?? true,
      maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    });
    this.#rooms = new Rooms({
      link,
      refs,
      timers,
      random,
      requestTimeoutMs,
      gapTimeoutMs: options.gapTimeoutMs ?? 3_000,
      resendAfterMs,
      replayQuietMs: options.replayQuietMs ?? DEFAULT_REPLAY_QUIET_MS,
      emit: (event, payload) => this.emit(event, payload),
      onJoined: (room) => {
        const only = (other: string): boolean => other === room;
        this.#outbox.resend(only);
        this.#requests.resend(only);
      },
      onRegion: (region) => this.#transport.reportRegion(region),
    });
    if (options.autoConnect ?? true) this.connect();
  }

  /** The connection's state. */
  public get state(): ConnectionState {
    return this.#transport.state;
  }

  /** The endpoint in use (or being tried), its index in `endpoints`, and its region when known. */
  public get connection(): { endpoint: string; endpointIndex: number; region: string | undefined } {
    return this.#transport.connection;
  }

  /** The rooms joined (or being joined). */
  public rooms(): string[] {
    return this.#rooms.names();
  }

  /** The client's cursor for a room: the highest seq delivered per origin. */
  public cursor(room: string): Record<string, number> | undefined {
    return this.#rooms.cursor(room);
  }

  /**
   * The room's members as last listed (by `joined`, or the first page of a presence request; at
   * most 100 from a v1.1 server), kept current by `presence` events.
   */
  public members(room: string): Member[] {
    return this.#rooms.members(room)?.list() ?? [];
  }

  /**
   * How many members the room has, listed or not: the `memberCount` the server last reported, kept
   * current by `presence` events; from a server that reports none (v1), the number listed. 0 for a
   * room not joined.
   *
   * @example
   * ```ts
   * const hidden = client.memberCount('lobby') - client.members('lobby').length; // 0 unless the list is cut
   * ```
   */
  public memberCount(room: string): number {
    return this.#rooms.members(room)?.count ?? 0;
  }

  /** Starts connecting; only needed with `autoConnect: false`. A closed client cannot reconnect. */
  public connect(): void {
    this.#transport.connect();
  }

  /** Resolves when the connection is open (at once if it is), rejects if the client is closed. */
  public whenOpen(): Promise<void> {
    if (this.state === 'open') return Promise.resolve();
    if (this.state === 'closed') return Promise.reject(new ConnectionClosedError('the client was closed'));
    return new Promise((resolve, reject) => {
      const off = this.on('state', (event) => {
        if (event.state === 'open') {
          off();
          resolve();
        } else if (event.state === 'closed') {
          off();
          reject(new ConnectionClosedError('the client was closed'));
        }
      });
    });
  }

  /**
   * Joins a room and resolves with its starting cursor and members. The room is rejoined
   * automatically, with `since`, after every reconnect.
   */
  public join(room: string): Promise<JoinResult> {
    return this.#rooms.join(room);
  }

  /** Leaves a room: it is no longer rejoined, and its pending sends to it are still resolved or time out. */
  public async leave(room: string): Promise<void> {
    this.#rooms.drop(room, new ConnectionClosedError(`left ${room} before it was joined`, { room }));
    // Without a connection there is no membership to remove: the server drops it on disconnect.
    if (!this.#transport.isOpen()) return;
    await this.#requests.request('leave', room, { action: 'leave', room });
  }

  /**
   * Sends a message and resolves with its ack. The message is resent with the same id after a
   * reconnect until acknowledged, so it is stored once and the promise settles once; it rejects
   * with `SendTimeoutError` after `sendTimeoutMs`, or with the server's typed error.
   */
  public send(room: string, body: JsonValue, options: SendOptions = {}): Promise<SendAck> {
    return this.#outbox.send(room, body, options);
  }

  /**
   * Reads one page of a room's history, oldest first. Page backwards with `nextBefore`.
   *
   * @example
   * ```ts
   * let page = await client.history('lobby', { limit: 50 });
   * while (page.nextBefore !== undefined) page = await client.history('lobby', { before: page.nextBefore });
   * ```
   */
  public async history(room: string, options: HistoryOptions = {}): Promise<HistoryPage> {
    const frame: HistoryFrame = {
      action: 'history',
      room,
      ...(options.limit === undefined
        ? {}
        : { limit: Math.min(Math.max(1, options.limit), HISTORY_LIMIT_MAX) }),
      ...(options.before === undefined ? {} : { before: options.before }),
    };
    const reply = await this.#requests.request('history', room, frame);
    const messages = reply.type === 'history' ? reply.messages : [];
    // A page may hold fewer than `limit` messages and still not be the last: the server ends a
    // page before a group of messages that share a ts rather than inside it. Only an empty page
    // is the start of the retained history.
    return { room, messages, nextBefore: messages[0]?.ts };
  }

  /**
   * Asks the server for the room's current members (and refreshes {@link ParleyClient.members}):
   * the first page, at most 100 from a v1.1 server. {@link ParleyClient.presencePage} reads them
   * all, and the count.
   */
  public async presence(room: string): Promise<Member[]> {
    return (await this.presencePage(room)).members;
  }

  /**
   * Reads one page of the room's members, with the room's member count. Page on with `after` set
   * to the page's `next`, until a page comes without one. The first page also refreshes
   * {@link ParleyClient.members} and {@link ParleyClient.memberCount}.
   *
   * @example
   * ```ts
   * let page = await client.presencePage('lobby');
   * const everyone = [...page.members]; // page.memberCount in all
   * while (page.next !== undefined) {
   *   page = await client.presencePage('lobby', { after: page.next });
   *   everyone.push(...page.members);
   * }
   * ```
   */
  public async presencePage(room: string, options: PresencePageOptions = {}): Promise<PresencePage> {
    const { after } = options;
    if (after !== undefined && !presenceFrameSchema.shape.after.safeParse(after).success) {
      const rule = `after must be a page's next (1-${MAX_PAGE_TOKEN_LENGTH} characters)`;
      throw new BadRequestError(rule, { room, action: 'presence' });
    }
    const frame: PresenceFrame = { action: 'presence', room, ...(after === undefined ? {} : { after }) };
    const reply = await this.#requests.request('presence', room, frame);
    const { members = [], memberCount, next } = reply.type === 'presence' ? reply : {};
    if (after === undefined) this.#rooms.members(room)?.reset(members, memberCount);
    return {
      room,
      members,
      memberCount: memberCount ?? members.length,
      ...(next === undefined ? {} : { next }),
    };
  }

  /** Closes the client for good: pending sends and requests reject with `ConnectionClosedError`. */
  public close(reason = 'closed by the client'): void {
    if (!this.#transport.stop()) return;
    this.#rooms.closeAll(reason);
    this.#outbox.closeAll(reason);
    this.#requests.closeAll(reason);
    this.#transport.announceClosed(reason);
  }

  /** Hands a server frame to the part of the client it answers, by its type and its ref. */
  #route(frame: Exclude<ServerFrame, PongFrame>): void {
    switch (frame.type) {
      case 'joined':
        this.#rooms.onJoined(frame, this.#refs.take(frame.ref));
        return;
      case 'message':
        this.#rooms.onMessage(frame);
        return;
      case 'ack': {
        const inflight = this.#refs.take(frame.ref);
        this.#outbox.acked(frame, inflight?.kind === 'send' ? inflight.key : undefined);
        return;
      }
      case 'presence': {
        const inflight = this.#refs.take(frame.ref);
        if (inflight?.kind === 'request') this.#requests.settle(inflight.request, frame);
        else this.#rooms.onPresence(frame);
        return;
      }
      case 'left':
      case 'history': {
        const inflight = this.#refs.take(frame.ref);
        if (inflight?.kind === 'request') this.#requests.settle(inflight.request, frame);
        return;
      }
      case 'error':
        this.#onError(frame);
        return;
    }
  }

  /**
   * A frame the client cannot read is reported, and changes nothing else, except: an unreadable
   * `message` still moves its room's cursor past it, and an unreadable reply to a request fails
   * that request now rather than at its timeout.
   */
  #onUnreadable({ error, ref, skipped }: Unreadable): void {
    this.emit('error', error);
    if (skipped !== undefined) this.#rooms.onSkipped(skipped);
    const inflight = this.#refs.peek(ref);
    if (inflight?.kind === 'request') {
      this.#refs.take(ref);
      this.#requests.failed(inflight.request, error);
    }
  }

  #onError(frame: ErrorFrame): void {
    const inflight = this.#refs.take(frame.ref);
    switch (inflight?.kind) {
      case 'send':
        this.#outbox.refused(inflight.key, frame);
        return;
      case 'request':
        this.#requests.refused(inflight.request, frame);
        return;
      case 'join':
        this.#rooms.refused(inflight.room, frame);
        return;
      default:
        this.emit('error', errorFromFrame(frame));
    }
  }
}
