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
  type ServerFrame,
  serverFrameSchema,
} from '../protocol/index.js';
import { fullJitterDelay } from './backoff.js';
import { TypedEmitter } from './emitter.js';
import {
  ConnectionClosedError,
  errorFromFrame,
  ProtocolViolationError,
  UnauthorizedError,
} from './errors.js';
import type { Link } from './link.js';
import { Outbox } from './outbox.js';
import { RefTable, Requests } from './requests.js';
import { Rooms } from './rooms.js';
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

  readonly #rooms: Rooms;
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
    const ready = (room: string): boolean => this.#rooms.ready(room);
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
    this.#rooms = new Rooms({
      link,
      refs: this.#refs,
      timers: this.#timers,
      random: this.#random,
      requestTimeoutMs: this.#options.requestTimeoutMs,
      gapTimeoutMs: this.#options.gapTimeoutMs,
      resendAfterMs: this.#options.resendAfterMs,
      emit: (event, payload) => this.emit(event, payload),
      onJoined: (room) => {
        const only = (other: string): boolean => other === room;
        this.#outbox.resend(only);
        this.#requests.resend(only);
      },
      onRegion: (region) => {
        this.#region = region;
      },
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
    return this.#rooms.names();
  }

  /** The client's cursor for a room: the highest seq delivered per origin. */
  public cursor(room: string): Record<string, number> | undefined {
    return this.#rooms.cursor(room);
  }

  /** The room's members as last reported (`joined`, then `presence` events). */
  public members(room: string): Member[] {
    return this.#rooms.members(room);
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
    return this.#rooms.join(room);
  }

  /** Leaves a room: it is no longer rejoined, and its pending sends to it are still resolved or time out. */
  public async leave(room: string): Promise<void> {
    this.#rooms.drop(room, new ConnectionClosedError(`left ${room} before it was joined`, { room }));
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
    this.#rooms.setMembers(room, members);
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
    this.#rooms.closeAll(reason);
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
    this.#rooms.rejoinAll();
    // Sends and requests for rooms this client has not joined go now; the server decides.
    this.#outbox.resend((room) => this.#rooms.ready(room));
    this.#requests.resend((room) => this.#rooms.ready(room));
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
    this.#rooms.connectionEnded();
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
        if (inflight?.kind === 'request') {
          this.#requests.settle(inflight.request, frame);
          return;
        }
        this.#rooms.onPresence(frame);
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
