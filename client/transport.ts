/**
 * The transport: one WebSocket at a time, opened on the endpoint {@link Endpoints} names, kept
 * alive by a heartbeat (`ping`/`pong`), recycled before API Gateway's two-hour limit, and replaced
 * after a loss with full-jitter backoff, moving to the next endpoint after repeated failures.
 * While away from the preferred endpoint it probes that one and moves back, make before break,
 * once it answers.
 *
 * What rides on the connection (rooms, sends, requests) sees only its {@link Link}; what happens
 * to the connection reaches them through {@link TransportEvents}.
 *
 * @example
 * ```ts
 * const transport = new Transport({ endpoints, token, WebSocket, timers, refs, events, ...limits });
 * transport.connect();
 * transport.transmit({ action: 'presence', room: 'lobby', ref: 'r1' });
 * ```
 */
import type { ClientFrame, PongFrame, ServerFrame } from '../protocol/index.js';
import { type Endpoints, endpointUrl } from './endpoints.js';
import {
  ConnectionClosedError,
  type ParleyError,
  ProtocolViolationError,
  reasonOf,
  UnauthorizedError,
} from './errors.js';
import { decodeServerFrame, type Unreadable } from './frames.js';
import { Heartbeat } from './heartbeat.js';
import type { Link } from './link.js';
import { Probe } from './probe.js';
import type { RefTable } from './requests.js';
import { abandon, detach, OPEN } from './socket.js';
import type {
  ConnectionState,
  StateEvent,
  Timers,
  TokenSource,
  WebSocketConstructor,
  WebSocketLike,
} from './types.js';

/** What the transport reports to the client. */
export interface TransportEvents {
  /** A state change, or a move to another endpoint (`failed-over`). */
  state(event: StateEvent): void;
  /** A failed connection attempt, or a frame the client failed to handle. */
  error(error: ParleyError): void;
  /** A valid server frame other than the heartbeat's `pong`. */
  frame(frame: Exclude<ServerFrame, PongFrame>): void;
  /** A frame the client cannot read (not JSON, too deep, against the schema): the connection goes on. */
  unreadable(frame: Unreadable): void;
  /** A socket is open (or adopted) as the current connection: what needs it may go now. */
  opened(): void;
  /** The current socket is gone: nothing is in flight on a connection any more. */
  ended(): void;
  /** The connection was lost (not closed by the client); a reconnect follows. */
  lost(): void;
}

/** What {@link Transport} needs. */
export interface TransportOptions {
  endpoints: Endpoints;
  token: TokenSource;
  WebSocket: WebSocketConstructor;
  timers: Timers;
  /** The heartbeat's pings take their refs here, and a `pong` answers its ref. */
  refs: Pick<RefTable, 'issue' | 'take'>;
  events: TransportEvents;
  pingIntervalMs: number;
  pongTimeoutMs: number;
  maxConnectionMs: number;
  connectTimeoutMs: number;
  preferredRetryMs: number;
}

/** How a connection ended: as a failure (counted towards failover) or not, and whether to wait. */
interface Loss {
  failure: boolean;
  immediate?: boolean;
}

/** The connection: state, socket, heartbeat, reconnects and failover. */
export class Transport implements Link {
  readonly #options: TransportOptions;
  readonly #endpoints: Endpoints;
  #state: ConnectionState = 'idle';
  #socket: WebSocketLike | undefined;
  #generation = 0;
  /** The region the server said accepted the current connection. */
  #region: string | undefined;
  /** True once the current connection answered a frame: proof that it works end to end. */
  #healthy = false;
  #closed = false;
  #reconnectTimer: unknown;
  #connectTimer: unknown;
  #maxAgeTimer: unknown;
  readonly #probe: Probe;
  readonly #heartbeat: Heartbeat;

  public constructor(options: TransportOptions) {
    this.#options = options;
    this.#endpoints = options.endpoints;
    this.#heartbeat = new Heartbeat({ ...options, transmit: (frame) => this.transmit(frame) });
    this.#probe = new Probe({
      timers: options.timers,
      WebSocket: options.WebSocket,
      connectTimeoutMs: options.connectTimeoutMs,
      preferredRetryMs: options.preferredRetryMs,
      preferredUrl: options.endpoints.preferred.url,
      token: () => this.#token(),
      away: () => (this.#endpoints.index === 0 ? undefined : this.#socket),
      isCurrent: (main) => this.#socket === main,
      adopt: (socket, main) => this.#adopt(socket, main),
    });
  }

  /** The connection's state. */
  public get state(): ConnectionState {
    return this.#state;
  }

  /** {@inheritDoc Link.generation} */
  public get generation(): number {
    return this.#generation;
  }

  /** {@inheritDoc Link.closed} */
  public get closed(): boolean {
    return this.#closed;
  }

  /** The endpoint in use (or being tried), its index, and its region when known. */
  public get connection(): { endpoint: string; endpointIndex: number; region: string | undefined } {
    const endpoint = this.#endpoints.current;
    return {
      endpoint: endpoint.url,
      endpointIndex: this.#endpoints.index,
      // What the server said (joined.region) wins over what the endpoint was configured as.
      region: this.#region ?? endpoint.region,
    };
  }

  /** Records the region the server said accepted the current connection (in `joined`). */
  public reportRegion(region: string): void {
    this.#region = region;
  }

  /** {@inheritDoc Link.isOpen} */
  public isOpen(): boolean {
    return this.#state === 'open' && this.#socket?.readyState === OPEN;
  }

  /** {@inheritDoc Link.transmit} */
  public transmit(frame: ClientFrame): void {
    try {
      this.#socket?.send(JSON.stringify(frame));
    } catch {
      // The socket is closing; its close event triggers the reconnect that resends.
    }
  }

  /** Starts connecting, once; throws `ConnectionClosedError` after {@link Transport.stop}. */
  public connect(): void {
    if (this.#closed) throw new ConnectionClosedError('the client was closed');
    if (this.#state !== 'idle') return;
    this.#state = 'connecting';
    // Start on the next microtask, so listeners added right after the constructor see every event.
    queueMicrotask(() => {
      if (!this.#closed) void this.#open();
    });
  }

  /**
   * Ends the connection for good and stops every timer; returns false if it was already stopped.
   * The `closed` state is announced apart, by {@link Transport.announceClosed}, so that the client
   * can settle what was pending first.
   */
  public stop(): boolean {
    if (this.#closed) return false;
    this.#closed = true;
    const socket = this.#socket;
    this.#teardown();
    this.#options.timers.clearTimeout(this.#reconnectTimer);
    socket?.close(1000, 'bye');
    return true;
  }

  /** Enters the `closed` state, with the reason the client was closed for. */
  public announceClosed(reason: string): void {
    this.#setState({ state: 'closed', reason });
  }

  #setState(event: StateEvent): void {
    if (event.state !== 'failed-over') this.#state = event.state;
    this.#options.events.state(event);
  }

  async #token(): Promise<string> {
    const token = this.#options.token;
    return typeof token === 'function' ? await token() : token;
  }

  async #open(): Promise<void> {
    const { timers, connectTimeoutMs, events } = this.#options;
    const endpoint = this.#endpoints.current;
    this.#setState({
      state: 'connecting',
      endpoint: endpoint.url,
      endpointIndex: this.#endpoints.index,
      // Consecutive failures on this endpoint so far: 0 for the first try of each endpoint.
      attempt: this.#endpoints.failures,
    });
    let socket: WebSocketLike;
    try {
      const token = await this.#token();
      if (this.#closed) return;
      socket = new this.#options.WebSocket(endpointUrl(endpoint.url, token));
    } catch (error) {
      if (this.#closed) return;
      const why = (error as Error).message ?? String(error);
      events.error(new UnauthorizedError(`could not connect to ${endpoint.url}: ${why}`));
      this.#lost('connection attempt failed', { failure: true });
      return;
    }
    this.#use(socket);
    this.#listen(socket);
    this.#connectTimer = timers.setTimeout(() => {
      if (this.#socket !== socket) return;
      abandon(socket);
      this.#lost(`no answer from ${endpoint.url} within ${connectTimeoutMs} ms`, { failure: true });
    }, connectTimeoutMs);
  }

  /** Makes `socket` the current connection, a new generation, not yet proven to work. */
  #use(socket: WebSocketLike): void {
    this.#generation += 1;
    this.#socket = socket;
    this.#healthy = false;
    this.#region = undefined;
  }

  #listen(socket: WebSocketLike, opened = false): void {
    socket.onopen = () => {
      opened = true;
      if (this.#socket === socket) this.#onOpen(socket);
    };
    socket.onmessage = (event) => {
      if (this.#socket !== socket) return;
      // Whatever a frame makes any part of the client do, an exception must not leave this handler:
      // in Node it would end the process, and the same frame comes back with every resume.
      try {
        this.#onData(event.data);
      } catch (error) {
        this.#options.events.error(
          new ProtocolViolationError(`a frame could not be handled: ${reasonOf(error)}`),
        );
      }
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
      abandon(socket);
      this.#lost(`could not connect to ${this.#endpoints.current.url}`, { failure: true });
    };
  }

  #onData(data: unknown): void {
    const decoded = decodeServerFrame(data);
    if (decoded === undefined) return;
    if ('error' in decoded) {
      this.#options.events.unreadable(decoded);
      return;
    }
    const { frame } = decoded;
    // Any valid reply proves the connection works end to end.
    if (frame.type !== 'message' && frame.type !== 'presence') this.#markHealthy();
    if (frame.type === 'pong') {
      this.#options.refs.take(frame.ref);
      this.#heartbeat.pong();
      return;
    }
    this.#options.events.frame(frame);
  }

  #markHealthy(): void {
    if (this.#healthy) return;
    this.#healthy = true;
    this.#endpoints.succeeded();
  }

  #onOpen(socket: WebSocketLike): void {
    const { timers, maxConnectionMs, events } = this.#options;
    timers.clearTimeout(this.#connectTimer);
    const endpoint = this.#endpoints.current;
    this.#setState({
      state: 'open',
      endpoint: endpoint.url,
      endpointIndex: this.#endpoints.index,
      ...(endpoint.region !== undefined ? { region: endpoint.region } : {}),
    });
    this.#heartbeat.start((reason) => {
      if (this.#socket !== socket) return;
      abandon(socket, 4000, 'heartbeat timeout');
      this.#lost(reason, { failure: !this.#healthy });
    });
    this.#maxAgeTimer = timers.setTimeout(() => {
      if (this.#socket !== socket) return;
      // API Gateway ends every connection at 2 hours: leave first, on our terms, and resume.
      abandon(socket, 1000, 'connection recycled');
      this.#lost('maximum connection age reached', { failure: false, immediate: true });
    }, maxConnectionMs);
    events.opened();
    if (this.#endpoints.index !== 0) this.#probe.schedule();
  }

  /** Clears everything tied to the current socket (not the rooms, sends and requests). */
  #teardown(): void {
    const { timers, events } = this.#options;
    timers.clearTimeout(this.#connectTimer);
    timers.clearTimeout(this.#maxAgeTimer);
    this.#heartbeat.stop();
    this.#probe.cancel();
    if (this.#socket !== undefined) detach(this.#socket);
    this.#socket = undefined;
    events.ended();
  }

  /**
   * The connection is gone (or never came): count the failure, move to the next endpoint after
   * `failoverAfter` consecutive failures, and schedule the next attempt with full-jitter backoff.
   */
  #lost(reason: string, how: Loss): void {
    const wasHealthy = this.#healthy;
    this.#teardown();
    this.#healthy = false;
    if (this.#closed) return;
    this.#options.events.lost();
    if (wasHealthy) this.#endpoints.succeeded();
    const from = this.#endpoints.failed(how.failure);
    if (from !== undefined) {
      const to = this.#endpoints.current;
      this.#setState({
        state: 'failed-over',
        from,
        endpoint: to.url,
        endpointIndex: this.#endpoints.index,
        ...(to.region !== undefined ? { region: to.region } : {}),
        reason: 'unreachable',
      });
    }
    const delayMs = this.#endpoints.nextDelay(how.immediate === true);
    this.#setState({
      state: 'reconnecting',
      endpoint: this.#endpoints.current.url,
      endpointIndex: this.#endpoints.index,
      attempt: this.#endpoints.attempt,
      delayMs,
      reason,
    });
    const reconnect = (): void => {
      this.#reconnectTimer = undefined;
      if (!this.#closed && this.#socket === undefined) void this.#open();
    };
    // Timers clamp a zero delay to at least 1 ms; an immediate reconnect need not wait at all.
    if (delayMs === 0) queueMicrotask(reconnect);
    else this.#reconnectTimer = this.#options.timers.setTimeout(reconnect, delayMs);
  }

  /** Switches to an already open socket on the preferred endpoint, then closes the old one. */
  #adopt(socket: WebSocketLike, old: WebSocketLike): void {
    const from = this.#endpoints.current.url;
    this.#teardown();
    this.#endpoints.returnToPreferred();
    this.#use(socket);
    const to = this.#endpoints.current;
    this.#setState({
      state: 'failed-over',
      from,
      endpoint: to.url,
      endpointIndex: 0,
      ...(to.region !== undefined ? { region: to.region } : {}),
      reason: 'preferred-recovered',
    });
    this.#listen(socket, true);
    // Make before break: the rooms are rejoined on the new socket before the old one goes, and
    // anything both deliver is deduplicated by (origin, seq).
    this.#onOpen(socket);
    abandon(old, 1000, 'moved to the preferred endpoint');
  }
}
