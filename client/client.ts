/**
 * The Parley client: one WebSocket connection at a time, kept alive and moved between endpoints,
 * with rooms that survive reconnects (resume by cursor), dedup, in-order delivery per origin, and
 * sends that are resent with the same id until acknowledged.
 *
 * It uses only what browsers and Node 22 share (the WHATWG `WebSocket`, `URL`, `crypto.randomUUID`,
 * timers), so the same code runs in the web page, the terminal chat and the tests.
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
  type ClientFrame,
  DEFAULT_MAX_BODY_BYTES,
  type ErrorFrame,
  HISTORY_LIMIT_MAX,
  type HistoryFrame,
  isServerFrameType,
  type JsonValue,
  type Member,
  type MessageFrame,
  ROOM_RULE,
  roomSchema,
  type ServerFrame,
  serverFrameSchema,
} from '../protocol/index.js';
import { fullJitterDelay, transientRetryDelay } from './backoff.js';
import { TypedEmitter } from './emitter.js';
import {
  BadRequestError,
  ConnectionClosedError,
  errorFromFrame,
  isTransientCode,
  type ParleyError,
  ProtocolViolationError,
  RequestTimeoutError,
  UnauthorizedError,
} from './errors.js';
import type { Link } from './link.js';
import { Outbox } from './outbox.js';
import { type Inflight, RefTable, Requests } from './requests.js';
import { RoomStream } from './room-stream.js';
import type {
  ConnectionState,
  EndpointConfig,
  HistoryOptions,
  HistoryPage,
  JoinResult,
  ParleyClientEvents,
  ParleyClientOptions,
  SendAck,
  SendOptions,
  Timers,
  WebSocketConstructor,
  WebSocketLike,
} from './types.js';

const OPEN = 1;

const defaultTimers: Timers = {
  // Looked up at call time, so fake timers installed after the client was created still apply.
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** A joined (or joining) room. */
interface RoomEntry {
  room: string;
  stream: RoomStream;
  members: Member[];
  /** True once `joined` arrived on the current connection. */
  joinedOnConnection: boolean;
  /** The ref of the join in flight on the current connection. */
  joinRef: string | undefined;
  /** Why the join in flight carries `since`, if it does. */
  resumeReason: 'reconnect' | 'gap' | undefined;
  /** Callers of `join` still waiting for the first `joined`. */
  waiters: Array<{ resolve: (result: JoinResult) => void; reject: (error: ParleyError) => void }>;
  joinTimer: unknown;
  /** A resume replay in progress: its target cursor and how many messages it delivered so far. */
  replay: { target: Record<string, number>; count: number; reason: 'reconnect' | 'gap' } | undefined;
  gapTimer: unknown;
  /** Joins answered `internal` or `rate_limited` in a row; each retry waits longer. */
  joinRetries: number;
  /** The pending retry of such a join. */
  joinRetryTimer: unknown;
}

const normalizeEndpoint = (endpoint: string | EndpointConfig): EndpointConfig =>
  typeof endpoint === 'string' ? { url: endpoint } : endpoint;

/** Adds the token as the `token` query parameter, keeping any path (API Gateway's stage). */
export const endpointUrl = (endpoint: string, token: string): string => {
  const url = new URL(endpoint);
  url.searchParams.set('token', token);
  return url.toString();
};

/**
 * A Parley client. See the module documentation for an example; `on(...)` subscribes to
 * `message`, `presence`, `state`, `error`, `caughtUp` and `joined`.
 */
export class ParleyClient extends TypedEmitter<ParleyClientEvents> {
  readonly #endpoints: EndpointConfig[];
  readonly #token: ParleyClientOptions['token'];
  readonly #WebSocket: WebSocketConstructor;
  readonly #timers: Timers;
  readonly #random: () => number;
  readonly #options: Required<
    Pick<
      ParleyClientOptions,
      | 'pingIntervalMs'
      | 'pongTimeoutMs'
      | 'maxConnectionMs'
      | 'connectTimeoutMs'
      | 'sendTimeoutMs'
      | 'requestTimeoutMs'
      | 'failoverAfter'
      | 'preferredRetryMs'
      | 'gapTimeoutMs'
      | 'retryTransientSends'
      | 'resendAfterMs'
      | 'maxBodyBytes'
    >
  >;
  readonly #backoff: ParleyClientOptions['backoff'];

  #state: ConnectionState = 'idle';
  #socket: WebSocketLike | undefined;
  /** Incremented for every socket, so work can tell whether it was done on the current one. */
  #generation = 0;
  #endpointIndex = 0;
  #region: string | undefined;
  /** True once the current connection answered a frame: proof that it works end to end. */
  #healthy = false;
  #failures = 0;
  #attempt = 0;
  #closedByUser = false;

  readonly #rooms = new Map<string, RoomEntry>();
  readonly #outbox: Outbox;
  readonly #refs = new RefTable();
  readonly #requests: Requests;

  #reconnectTimer: unknown;
  #connectTimer: unknown;
  #pingTimer: unknown;
  #pongTimer: unknown;
  #maxAgeTimer: unknown;
  #probeTimer: unknown;
  #probe: WebSocketLike | undefined;

  public constructor(options: ParleyClientOptions) {
    super();
    if (options.endpoints.length === 0) throw new TypeError('ParleyClient needs at least one endpoint');
    this.#endpoints = options.endpoints.map(normalizeEndpoint);
    this.#token = options.token;
    const ctor = options.WebSocket ?? (globalThis.WebSocket as unknown as WebSocketConstructor | undefined);
    if (ctor === undefined) {
      throw new TypeError('no WebSocket implementation: pass options.WebSocket (e.g. the ws package)');
    }
    this.#WebSocket = ctor;
    this.#timers = options.timers ?? defaultTimers;
    this.#random = options.random ?? Math.random;
    this.#backoff = options.backoff;
    this.#options = {
      pingIntervalMs: options.pingIntervalMs ?? 30_000,
      pongTimeoutMs: options.pongTimeoutMs ?? 10_000,
      maxConnectionMs: options.maxConnectionMs ?? 110 * 60_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      sendTimeoutMs: options.sendTimeoutMs ?? 30_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 15_000,
      failoverAfter: Math.max(1, options.failoverAfter ?? 2),
      preferredRetryMs: options.preferredRetryMs ?? 60_000,
      gapTimeoutMs: options.gapTimeoutMs ?? 3_000,
      retryTransientSends: options.retryTransientSends ?? true,
      resendAfterMs: options.resendAfterMs ?? 10_000,
      maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    };
    const link = this.#link();
    const ready = (room: string): boolean => this.#canTransmit(room);
    this.#requests = new Requests({
      link,
      refs: this.#refs,
      ready,
      timers: this.#timers,
      requestTimeoutMs: this.#options.requestTimeoutMs,
    });
    this.#outbox = new Outbox({
      link,
      refs: this.#refs,
      ready,
      timers: this.#timers,
      random: this.#random,
      generateId: options.generateId ?? (() => globalThis.crypto.randomUUID()),
      sendTimeoutMs: this.#options.sendTimeoutMs,
      resendAfterMs: this.#options.resendAfterMs,
      retryTransientSends: this.#options.retryTransientSends,
      maxBodyBytes: this.#options.maxBodyBytes,
    });
    if (options.autoConnect ?? true) this.connect();
  }

  /** The connection's state. */
  public get state(): ConnectionState {
    return this.#state;
  }

  /** The endpoint in use (or being tried), its index in `endpoints`, and its region when known. */
  public get connection(): { endpoint: string; endpointIndex: number; region: string | undefined } {
    const endpoint = this.#current();
    return {
      endpoint: endpoint.url,
      endpointIndex: this.#endpointIndex,
      // What the server said (joined.region) wins over what the endpoint was configured as.
      region: this.#region ?? endpoint.region,
    };
  }

  /** The rooms joined (or being joined). */
  public rooms(): string[] {
    return [...this.#rooms.keys()];
  }

  /** The client's cursor for a room: the highest seq delivered per origin. */
  public cursor(room: string): Record<string, number> | undefined {
    return this.#rooms.get(room)?.stream.cursor();
  }

  /** The room's members as last reported (`joined`, then `presence` events). */
  public members(room: string): Member[] {
    return [...(this.#rooms.get(room)?.members ?? [])];
  }

  /** Starts connecting; only needed with `autoConnect: false`. A closed client cannot reconnect. */
  public connect(): void {
    if (this.#closedByUser) throw new ConnectionClosedError('the client was closed');
    if (this.#state !== 'idle') return;
    this.#state = 'connecting';
    // Start on the next microtask, so listeners added right after the constructor see every event.
    queueMicrotask(() => {
      if (!this.#closedByUser) void this.#open();
    });
  }

  /** Resolves when the connection is open (at once if it is), rejects if the client is closed. */
  public whenOpen(): Promise<void> {
    if (this.#state === 'open') return Promise.resolve();
    if (this.#state === 'closed') return Promise.reject(new ConnectionClosedError('the client was closed'));
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
    if (this.#closedByUser)
      return Promise.reject(new ConnectionClosedError('the client was closed', { room }));
    if (!roomSchema.safeParse(room).success) {
      return Promise.reject(new BadRequestError(ROOM_RULE, { room, action: 'join' }));
    }
    const existing = this.#rooms.get(room);
    if (existing?.stream.initialized === true && existing.joinedOnConnection) {
      return Promise.resolve({ room, cursor: existing.stream.cursor(), members: [...existing.members] });
    }
    return new Promise<JoinResult>((resolve, reject) => {
      if (existing !== undefined) {
        existing.waiters.push({ resolve, reject });
        this.#armJoinTimer(existing);
        return;
      }
      const entry: RoomEntry = {
        room,
        stream: new RoomStream(),
        members: [],
        joinedOnConnection: false,
        joinRef: undefined,
        resumeReason: undefined,
        waiters: [{ resolve, reject }],
        joinTimer: undefined,
        replay: undefined,
        gapTimer: undefined,
        joinRetries: 0,
        joinRetryTimer: undefined,
      };
      this.#rooms.set(room, entry);
      this.#armJoinTimer(entry);
      if (this.#isOpen()) this.#sendJoin(entry, undefined);
    });
  }

  /** Bounds a join that callers wait for, across reconnects, like every other request. */
  #armJoinTimer(entry: RoomEntry): void {
    if (entry.joinTimer !== undefined) return;
    entry.joinTimer = this.#timers.setTimeout(() => {
      entry.joinTimer = undefined;
      if (entry.waiters.length === 0) return;
      const { room } = entry;
      const error = new RequestTimeoutError(`join of ${room} was not answered`, { room, action: 'join' });
      if (!entry.stream.initialized) {
        this.#dropRoom(entry, error);
        return;
      }
      // The room was joined before and is being resumed: keep it (and its cursor), only answer the callers.
      const waiters = entry.waiters;
      entry.waiters = [];
      for (const waiter of waiters) waiter.reject(error);
    }, this.#options.requestTimeoutMs);
  }

  /** Leaves a room: it is no longer rejoined, and its pending sends to it are still resolved or time out. */
  public async leave(room: string): Promise<void> {
    const entry = this.#rooms.get(room);
    if (entry !== undefined) {
      this.#dropRoom(entry, new ConnectionClosedError(`left ${room} before it was joined`, { room }));
    }
    // Without a connection there is no membership to remove: the server drops it on disconnect.
    if (!this.#isOpen()) return;
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

  /** Asks the server for the room's current members (and refreshes {@link ParleyClient.members}). */
  public async presence(room: string): Promise<Member[]> {
    const reply = await this.#requests.request('presence', room, { action: 'presence', room });
    const members = reply.type === 'presence' ? (reply.members ?? []) : [];
    const entry = this.#rooms.get(room);
    if (entry !== undefined) entry.members = [...members];
    return members;
  }

  /** Closes the client for good: pending sends and requests reject with `ConnectionClosedError`. */
  public close(reason = 'closed by the client'): void {
    if (this.#closedByUser) return;
    this.#closedByUser = true;
    const socket = this.#socket;
    this.#teardownConnection();
    this.#timers.clearTimeout(this.#reconnectTimer);
    socket?.close(1000, 'bye');
    for (const entry of [...this.#rooms.values()]) {
      this.#dropRoom(entry, new ConnectionClosedError(reason, { room: entry.room, action: 'join' }));
    }
    this.#outbox.closeAll(reason);
    this.#requests.closeAll(reason);
    this.#setState({ state: 'closed', reason });
  }

  // ---- connection lifecycle ----

  #current(): EndpointConfig {
    return this.#endpoints[this.#endpointIndex] ?? (this.#endpoints[0] as EndpointConfig);
  }

  #isOpen(): boolean {
    return this.#state === 'open' && this.#socket?.readyState === OPEN;
  }

  #setState(event: ParleyClientEvents['state']): void {
    if (event.state !== 'failed-over') this.#state = event.state;
    this.emit('state', event);
  }

  async #getToken(): Promise<string> {
    return typeof this.#token === 'function' ? await this.#token() : this.#token;
  }

  async #open(): Promise<void> {
    const endpoint = this.#current();
    this.#setState({
      state: 'connecting',
      endpoint: endpoint.url,
      endpointIndex: this.#endpointIndex,
      // Consecutive failures on this endpoint so far: 0 for the first try of each endpoint.
      attempt: this.#failures,
    });
    let socket: WebSocketLike;
    try {
      const token = await this.#getToken();
      if (this.#closedByUser) return;
      socket = new this.#WebSocket(endpointUrl(endpoint.url, token));
    } catch (error) {
      if (this.#closedByUser) return;
      this.emit(
        'error',
        new UnauthorizedError(
          `could not connect to ${endpoint.url}: ${(error as Error).message ?? String(error)}`,
        ),
      );
      this.#lost('connection attempt failed', { failure: true });
      return;
    }
    const generation = ++this.#generation;
    this.#socket = socket;
    this.#healthy = false;
    this.#region = undefined;
    this.#listen(socket, generation);
    this.#connectTimer = this.#timers.setTimeout(() => {
      if (this.#socket !== socket) return;
      this.#abandon(socket);
      this.#lost(`no answer from ${endpoint.url} within ${this.#options.connectTimeoutMs} ms`, {
        failure: true,
      });
    }, this.#options.connectTimeoutMs);
  }

  #listen(socket: WebSocketLike, generation: number, opened = false): void {
    socket.onopen = () => {
      opened = true;
      if (this.#socket === socket) this.#onOpen(socket, generation);
    };
    socket.onmessage = (event) => {
      if (this.#socket === socket) this.#onData(event.data);
    };
    socket.onclose = (event) => {
      if (this.#socket !== socket) return;
      this.#lost(`connection closed (${event.code}${event.reason ? `: ${event.reason}` : ''})`, {
        failure: !this.#healthy,
      });
    };
    // A failed handshake fires `error`, and Node 22's WebSocket may never follow it with `close`
    // (it stays CONNECTING): so an error before `open` is the attempt's failure. After `open`,
    // the `close` that follows (or the heartbeat) does the work.
    socket.onerror = () => {
      if (opened || this.#socket !== socket) return;
      this.#abandon(socket);
      this.#lost(`could not connect to ${this.#current().url}`, { failure: true });
    };
  }

  /** Stops listening to a socket and closes it, so it can never act on the client again. */
  #abandon(socket: WebSocketLike, code = 4000, reason = 'abandoned'): void {
    socket.onopen = null;
    socket.onmessage = null;
    socket.onclose = null;
    socket.onerror = null;
    try {
      socket.close(code, reason);
    } catch {
      // Closing a socket that never opened may throw in some implementations; it is gone either way.
    }
  }

  #onOpen(socket: WebSocketLike, _generation: number): void {
    this.#timers.clearTimeout(this.#connectTimer);
    const endpoint = this.#current();
    this.#setState({
      state: 'open',
      endpoint: endpoint.url,
      endpointIndex: this.#endpointIndex,
      ...(endpoint.region !== undefined ? { region: endpoint.region } : {}),
    });
    this.#ping();
    this.#maxAgeTimer = this.#timers.setTimeout(() => {
      if (this.#socket !== socket) return;
      // API Gateway ends every connection at 2 hours: leave first, on our terms, and resume.
      this.#abandon(socket, 1000, 'connection recycled');
      this.#lost('maximum connection age reached', { failure: false, immediate: true });
    }, this.#options.maxConnectionMs);
    for (const entry of this.#rooms.values()) {
      this.#sendJoin(entry, entry.stream.initialized ? 'reconnect' : undefined);
    }
    // Sends and requests for rooms this client has not joined go now; the server decides.
    this.#outbox.resend((room) => this.#canTransmit(room));
    this.#requests.resend((room) => this.#canTransmit(room));
    if (this.#endpointIndex !== 0) this.#scheduleProbe();
  }

  /** Clears everything tied to the current socket (not the rooms, sends and requests). */
  #teardownConnection(): void {
    for (const timer of [
      this.#connectTimer,
      this.#pingTimer,
      this.#pongTimer,
      this.#maxAgeTimer,
      this.#probeTimer,
    ]) {
      this.#timers.clearTimeout(timer);
    }
    if (this.#probe !== undefined) {
      this.#abandon(this.#probe, 1000, 'probe cancelled');
      this.#probe = undefined;
    }
    if (this.#socket !== undefined) {
      const socket = this.#socket;
      socket.onopen = null;
      socket.onmessage = null;
      socket.onclose = null;
      socket.onerror = null;
    }
    this.#socket = undefined;
    this.#refs.clear();
    for (const entry of this.#rooms.values()) {
      entry.joinedOnConnection = false;
      entry.joinRef = undefined;
      entry.resumeReason = undefined;
      entry.replay = undefined;
      this.#timers.clearTimeout(entry.gapTimer);
      entry.gapTimer = undefined;
    }
  }

  /**
   * The connection is gone (or never came): count the failure, move to the next endpoint after
   * `failoverAfter` consecutive failures, and schedule the next attempt with full-jitter backoff.
   */
  #lost(reason: string, how: { failure: boolean; immediate?: boolean }): void {
    const wasHealthy = this.#healthy;
    this.#teardownConnection();
    this.#healthy = false;
    if (this.#closedByUser) return;
    this.#requests.settleLeaves();
    if (wasHealthy) {
      this.#failures = 0;
      this.#attempt = 0;
    }
    if (how.failure) this.#failures += 1;
    if (this.#failures >= this.#options.failoverAfter && this.#endpoints.length > 1) {
      const from = this.#current().url;
      this.#endpointIndex = (this.#endpointIndex + 1) % this.#endpoints.length;
      this.#failures = 0;
      this.#attempt = 0;
      const to = this.#current();
      this.#setState({
        state: 'failed-over',
        from,
        endpoint: to.url,
        endpointIndex: this.#endpointIndex,
        ...(to.region !== undefined ? { region: to.region } : {}),
        reason: 'unreachable',
      });
    }
    const delayMs = how.immediate === true ? 0 : fullJitterDelay(this.#attempt, this.#backoff, this.#random);
    this.#attempt += 1;
    this.#setState({
      state: 'reconnecting',
      endpoint: this.#current().url,
      endpointIndex: this.#endpointIndex,
      attempt: this.#attempt,
      delayMs,
      reason,
    });
    const reconnect = (): void => {
      this.#reconnectTimer = undefined;
      if (!this.#closedByUser && this.#socket === undefined) void this.#open();
    };
    // Timers clamp a zero delay to at least 1 ms; an immediate reconnect need not wait at all.
    if (delayMs === 0) queueMicrotask(reconnect);
    else this.#reconnectTimer = this.#timers.setTimeout(reconnect, delayMs);
  }

  #ping(): void {
    const socket = this.#socket;
    if (socket === undefined) return;
    this.#transmit({ action: 'ping', ref: this.#refs.issue({ kind: 'ping' }) });
    this.#pongTimer = this.#timers.setTimeout(() => {
      if (this.#socket !== socket) return;
      this.#abandon(socket, 4000, 'heartbeat timeout');
      this.#lost(`no pong within ${this.#options.pongTimeoutMs} ms`, { failure: !this.#healthy });
    }, this.#options.pongTimeoutMs);
  }

  #onPong(): void {
    this.#timers.clearTimeout(this.#pongTimer);
    this.#timers.clearTimeout(this.#pingTimer);
    this.#pingTimer = this.#timers.setTimeout(() => this.#ping(), this.#options.pingIntervalMs);
  }

  /** While away from the preferred (first) endpoint, try it again every `preferredRetryMs`. */
  #scheduleProbe(): void {
    this.#timers.clearTimeout(this.#probeTimer);
    this.#probeTimer = this.#timers.setTimeout(() => void this.#runProbe(), this.#options.preferredRetryMs);
  }

  async #runProbe(): Promise<void> {
    const main = this.#socket;
    if (main === undefined || this.#endpointIndex === 0 || this.#probe !== undefined) return;
    const preferred = this.#endpoints[0] as EndpointConfig;
    let probe: WebSocketLike;
    try {
      const token = await this.#getToken();
      if (this.#socket !== main) return;
      probe = new this.#WebSocket(endpointUrl(preferred.url, token));
    } catch {
      if (this.#socket === main) this.#scheduleProbe();
      return;
    }
    this.#probe = probe;
    const giveUp = (): void => {
      if (this.#probe !== probe) return;
      this.#probe = undefined;
      this.#abandon(probe, 1000, 'probe failed');
      if (this.#socket === main) this.#scheduleProbe();
    };
    const timer = this.#timers.setTimeout(giveUp, this.#options.connectTimeoutMs);
    probe.onerror = () => {
      this.#timers.clearTimeout(timer);
      giveUp();
    };
    probe.onclose = () => {
      this.#timers.clearTimeout(timer);
      giveUp();
    };
    probe.onopen = () => {
      this.#timers.clearTimeout(timer);
      if (this.#probe !== probe || this.#socket !== main) return;
      this.#probe = undefined;
      this.#adopt(probe, main);
    };
  }

  /** Switches to an already open socket on the preferred endpoint, then closes the old one. */
  #adopt(socket: WebSocketLike, old: WebSocketLike): void {
    const from = this.#current().url;
    this.#teardownConnection();
    this.#endpointIndex = 0;
    this.#failures = 0;
    this.#attempt = 0;
    const generation = ++this.#generation;
    this.#socket = socket;
    this.#healthy = false;
    this.#region = undefined;
    const to = this.#current();
    this.#setState({
      state: 'failed-over',
      from,
      endpoint: to.url,
      endpointIndex: 0,
      ...(to.region !== undefined ? { region: to.region } : {}),
      reason: 'preferred-recovered',
    });
    this.#listen(socket, generation, true);
    // Make before break: the rooms are rejoined on the new socket before the old one goes, and
    // anything both deliver is deduplicated by (origin, seq).
    this.#onOpen(socket, generation);
    this.#abandon(old, 1000, 'moved to the preferred endpoint');
  }

  // ---- frames out ----

  /** What the requests see of the connection. */
  #link(): Link {
    const client = this;
    return {
      get generation() {
        return client.#generation;
      },
      get closed() {
        return client.#closedByUser;
      },
      isOpen: () => this.#isOpen(),
      transmit: (frame) => this.#transmit(frame),
    };
  }

  #transmit(frame: ClientFrame): void {
    try {
      this.#socket?.send(JSON.stringify(frame));
    } catch {
      // The socket is closing; its close event triggers the reconnect that resends.
    }
  }

  /** A frame for `room` may go now: the connection is open and the room is joined on it (if joined at all). */
  #canTransmit(room: string): boolean {
    if (!this.#isOpen()) return false;
    const entry = this.#rooms.get(room);
    return entry === undefined || entry.joinedOnConnection;
  }

  #sendJoin(entry: RoomEntry, resume: 'reconnect' | 'gap' | undefined): void {
    if (entry.joinRef !== undefined) this.#refs.forget(entry.joinRef);
    const ref = this.#refs.issue({ kind: 'join', room: entry.room });
    entry.joinRef = ref;
    entry.resumeReason = resume;
    this.#transmit({
      action: 'join',
      room: entry.room,
      ref,
      ...(resume === undefined ? {} : { since: entry.stream.cursor() }),
    });
    // Like a send, a join can go unanswered on a live connection: without its `joined` the room's
    // sends would wait for the next reconnect, so it is sent again.
    const generation = this.#generation;
    this.#timers.clearTimeout(entry.joinRetryTimer);
    entry.joinRetryTimer = this.#timers.setTimeout(() => {
      entry.joinRetryTimer = undefined;
      if (this.#rooms.get(entry.room) !== entry || this.#generation !== generation) return;
      if (entry.joinRef === ref && this.#isOpen()) this.#sendJoin(entry, resume);
    }, this.#options.resendAfterMs);
  }

  // ---- frames in ----

  #onData(data: unknown): void {
    const text =
      typeof data === 'string' ? data : data instanceof ArrayBuffer ? new TextDecoder().decode(data) : '';
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.emit('error', new ProtocolViolationError('the server sent a frame that is not JSON'));
      return;
    }
    const type = (value as { type?: unknown } | null)?.type;
    // Newer servers may add frame types: ignore what this client does not know.
    if (typeof type !== 'string' || !isServerFrameType(type)) return;
    const parsed = serverFrameSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      this.emit(
        'error',
        new ProtocolViolationError(
          `invalid ${type} frame: ${issue?.path.join('.')} ${issue?.message ?? ''}`.trim(),
        ),
      );
      return;
    }
    // Any valid reply proves the connection works end to end.
    if (type !== 'message' && type !== 'presence') this.#markHealthy();
    this.#onFrame(parsed.data);
  }

  #markHealthy(): void {
    if (this.#healthy) return;
    this.#healthy = true;
    this.#failures = 0;
    this.#attempt = 0;
  }

  #onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'pong':
        this.#refs.take(frame.ref);
        this.#onPong();
        return;
      case 'joined':
        this.#onJoined(frame, this.#refs.take(frame.ref));
        return;
      case 'message':
        this.#onMessage(frame);
        return;
      case 'ack': {
        const inflight = this.#refs.take(frame.ref);
        this.#outbox.acked(frame, inflight?.kind === 'send' ? inflight.key : undefined);
        return;
      }
      case 'presence': {
        const inflight = this.#refs.take(frame.ref);
        if (inflight?.kind === 'request') {
          this.#requests.settle(inflight.request, frame);
          return;
        }
        this.#onPresenceEvent(frame);
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

  #onJoined(frame: Extract<ServerFrame, { type: 'joined' }>, inflight: Inflight | undefined): void {
    const entry = this.#rooms.get(frame.room);
    if (entry === undefined) return;
    // A joined for an older join of this room (superseded by a resume) is ignored.
    if (inflight !== undefined && (inflight.kind !== 'join' || frame.ref !== entry.joinRef)) return;
    entry.joinRef = undefined;
    entry.joinedOnConnection = true;
    entry.joinRetries = 0;
    this.#timers.clearTimeout(entry.joinRetryTimer);
    entry.joinRetryTimer = undefined;
    entry.members = [...frame.members];
    const region = frame.region;
    if (region !== undefined) this.#region = region;
    const resumed = entry.resumeReason !== undefined && entry.stream.initialized;
    if (resumed) {
      entry.replay = { target: { ...frame.cursor }, count: 0, reason: entry.resumeReason ?? 'reconnect' };
    }
    entry.resumeReason = undefined;
    this.emit('joined', {
      room: frame.room,
      cursor: { ...frame.cursor },
      members: [...frame.members],
      resumed,
      ...(region !== undefined ? { region } : {}),
    });
    if (!entry.stream.initialized) {
      this.#deliver(entry, entry.stream.initialize(frame.cursor));
    } else {
      this.#checkCaughtUp(entry);
    }
    this.#timers.clearTimeout(entry.joinTimer);
    entry.joinTimer = undefined;
    const waiters = entry.waiters;
    entry.waiters = [];
    for (const waiter of waiters) {
      waiter.resolve({ room: entry.room, cursor: entry.stream.cursor(), members: [...entry.members] });
    }
    // Now that the room is joined on this connection, what waited for it can go.
    this.#outbox.resend((room) => room === entry.room);
    this.#requests.resend((room) => room === entry.room);
    this.#watchGap(entry);
  }

  #onMessage(frame: MessageFrame): void {
    const entry = this.#rooms.get(frame.room);
    if (entry === undefined) return;
    this.#deliver(entry, entry.stream.accept(frame));
    this.#checkCaughtUp(entry);
    this.#watchGap(entry);
  }

  #deliver(entry: RoomEntry, messages: MessageFrame[]): void {
    for (const message of messages) {
      const replay = entry.replay;
      if (replay !== undefined && message.seq <= (replay.target[message.origin] ?? 0)) replay.count += 1;
      this.emit('message', message);
    }
  }

  #checkCaughtUp(entry: RoomEntry): void {
    const replay = entry.replay;
    if (replay === undefined || !entry.stream.reached(replay.target)) return;
    entry.replay = undefined;
    this.emit('caughtUp', { room: entry.room, count: replay.count, reason: replay.reason });
  }

  /**
   * A message waiting behind a gap on a live connection (a delivery that failed, or arrived late)
   * waits `gapTimeoutMs`; then the room is resumed on the same connection, which replays the gap.
   */
  #watchGap(entry: RoomEntry): void {
    if (!entry.stream.initialized || entry.stream.buffered === 0) {
      this.#timers.clearTimeout(entry.gapTimer);
      entry.gapTimer = undefined;
      return;
    }
    if (entry.gapTimer !== undefined) return;
    entry.gapTimer = this.#timers.setTimeout(() => {
      entry.gapTimer = undefined;
      if (this.#rooms.get(entry.room) !== entry || entry.stream.buffered === 0) return;
      if (entry.joinedOnConnection && entry.joinRef === undefined && this.#isOpen())
        this.#sendJoin(entry, 'gap');
    }, this.#options.gapTimeoutMs);
  }

  #onPresenceEvent(frame: Extract<ServerFrame, { type: 'presence' }>): void {
    const entry = this.#rooms.get(frame.room);
    if (entry === undefined) return;
    if (frame.event === undefined || frame.user === undefined) {
      if (frame.members !== undefined) entry.members = [...frame.members];
      return;
    }
    const region = frame.region ?? '';
    if (frame.event === 'join') {
      // A member that resumes a room on the same connection is announced again: list it once.
      if (!entry.members.some((m) => m.user === frame.user && m.region === region)) {
        entry.members.push({ user: frame.user, region });
      }
    } else {
      const index = entry.members.findIndex((m) => m.user === frame.user && m.region === region);
      if (index >= 0) entry.members.splice(index, 1);
    }
    this.emit('presence', {
      room: frame.room,
      event: frame.event,
      user: frame.user,
      region,
      members: [...entry.members],
    });
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
      case 'join': {
        const entry = this.#rooms.get(inflight.room);
        const error = errorFromFrame(frame, { room: inflight.room });
        if (entry === undefined || frame.ref !== entry.joinRef) return;
        // A transient refusal must not lose the room (and, on a resume, its cursor and the sends
        // waiting for it): join again after a backoff. Callers of join() are still bounded by
        // requestTimeoutMs.
        if (isTransientCode(frame.code)) {
          this.#rejoinLater(entry);
          return;
        }
        if (entry.waiters.length === 0) this.emit('error', error);
        this.#dropRoom(entry, error);
        return;
      }
      default:
        this.emit('error', errorFromFrame(frame));
    }
  }

  /** Joins a room again after a backoff with full jitter, on the same connection only. */
  #rejoinLater(entry: RoomEntry): void {
    const generation = this.#generation;
    const resume = entry.resumeReason;
    entry.joinRef = undefined;
    const delay = transientRetryDelay(entry.joinRetries, this.#random);
    entry.joinRetries += 1;
    this.#timers.clearTimeout(entry.joinRetryTimer);
    entry.joinRetryTimer = this.#timers.setTimeout(() => {
      entry.joinRetryTimer = undefined;
      // A new connection rejoins every room itself.
      if (this.#rooms.get(entry.room) !== entry || this.#generation !== generation || !this.#isOpen()) return;
      this.#sendJoin(entry, entry.stream.initialized ? (resume ?? 'reconnect') : undefined);
    }, delay);
  }

  /** Forgets a room: rejects its join waiters and stops its timers. */
  #dropRoom(entry: RoomEntry, error: ParleyError): void {
    if (this.#rooms.get(entry.room) === entry) this.#rooms.delete(entry.room);
    if (entry.joinRef !== undefined) this.#refs.forget(entry.joinRef);
    this.#timers.clearTimeout(entry.joinTimer);
    this.#timers.clearTimeout(entry.gapTimer);
    this.#timers.clearTimeout(entry.joinRetryTimer);
    const waiters = entry.waiters;
    entry.waiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }
}
