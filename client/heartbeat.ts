/**
 * The heartbeat of the current connection: a `ping` once the connection opens and again
 * `pingIntervalMs` after each `pong`, and the connection declared dead when a `ping` goes
 * unanswered for `pongTimeoutMs`. API Gateway closes connections idle for 10 minutes, and a dead
 * network path may never report a close.
 *
 * @example
 * ```ts
 * const heartbeat = new Heartbeat({ timers, refs, transmit, pingIntervalMs: 30_000, pongTimeoutMs: 10_000 });
 * heartbeat.start(() => reconnect('no pong'));
 * heartbeat.pong(); // on every pong
 * heartbeat.stop(); // when the socket goes
 * ```
 */
import type { ClientFrame } from '../protocol/index.js';
import type { Refs } from './requests.js';
import type { Timers } from './types.js';

/** What {@link Heartbeat} needs. */
export interface HeartbeatOptions {
  timers: Timers;
  refs: Pick<Refs, 'issue'>;
  transmit(frame: ClientFrame): void;
  pingIntervalMs: number;
  pongTimeoutMs: number;
}

/** Pings, and notices when they go unanswered. */
export class Heartbeat {
  readonly #options: HeartbeatOptions;
  /** What to call when a ping goes unanswered; undefined while stopped. */
  #dead: ((reason: string) => void) | undefined;
  #pingTimer: unknown;
  #pongTimer: unknown;

  public constructor(options: HeartbeatOptions) {
    this.#options = options;
  }

  /** Pings now, and calls `dead` with the reason if a ping goes unanswered. */
  public start(dead: (reason: string) => void): void {
    this.stop();
    this.#dead = dead;
    this.#ping();
  }

  /** A `pong` came: the next ping goes after the interval. */
  public pong(): void {
    if (this.#dead === undefined) return;
    this.#clear();
    this.#pingTimer = this.#options.timers.setTimeout(() => this.#ping(), this.#options.pingIntervalMs);
  }

  /** Stops pinging: the socket is gone. */
  public stop(): void {
    this.#clear();
    this.#dead = undefined;
  }

  #clear(): void {
    this.#options.timers.clearTimeout(this.#pingTimer);
    this.#options.timers.clearTimeout(this.#pongTimer);
  }

  #ping(): void {
    const { timers, refs, transmit, pongTimeoutMs } = this.#options;
    const dead = this.#dead;
    if (dead === undefined) return;
    transmit({ action: 'ping', ref: refs.issue({ kind: 'ping' }) });
    this.#pongTimer = timers.setTimeout(() => dead(`no pong within ${pongTimeoutMs} ms`), pongTimeoutMs);
  }
}
