/**
 * The probe of the preferred endpoint: while the client is connected to another endpoint (after a
 * failover), it tries the first one again every `preferredRetryMs` on a second socket, and hands
 * that socket over as soon as it opens, so the client can move back before it closes the old one.
 *
 * @example
 * ```ts
 * const probe = new Probe({ timers, WebSocket, token, preferredUrl, away, isCurrent, adopt, ...limits });
 * probe.schedule(); // after every open away from the preferred endpoint
 * probe.cancel(); // when the connection it was probing for is gone
 * ```
 */
import { endpointUrl } from './endpoints.js';
import { abandon } from './socket.js';
import type { Timers, WebSocketConstructor, WebSocketLike } from './types.js';

/** What {@link Probe} needs of the transport. */
export interface ProbeOptions {
  timers: Timers;
  WebSocket: WebSocketConstructor;
  /** A probe that has not opened after this long has failed. */
  connectTimeoutMs: number;
  preferredRetryMs: number;
  /** The preferred endpoint's URL. */
  preferredUrl: string;
  token(): Promise<string>;
  /** The current socket while it is connected away from the preferred endpoint, else undefined. */
  away(): WebSocketLike | undefined;
  /** Whether `main` is still the current socket: a probe for a connection that is gone is moot. */
  isCurrent(main: WebSocketLike): boolean;
  /** Moves the connection from `main` to the open probe `socket`. */
  adopt(socket: WebSocketLike, main: WebSocketLike): void;
}

/** Probes the preferred endpoint, one socket at a time. */
export class Probe {
  readonly #options: ProbeOptions;
  #timer: unknown;
  #socket: WebSocketLike | undefined;

  public constructor(options: ProbeOptions) {
    this.#options = options;
  }

  /** Tries the preferred endpoint after `preferredRetryMs`. */
  public schedule(): void {
    const { timers, preferredRetryMs } = this.#options;
    timers.clearTimeout(this.#timer);
    this.#timer = timers.setTimeout(() => void this.#run(), preferredRetryMs);
  }

  /** Stops probing: the scheduled try, and the probe socket if one is open or opening. */
  public cancel(): void {
    this.#options.timers.clearTimeout(this.#timer);
    if (this.#socket !== undefined) {
      abandon(this.#socket, 1000, 'probe cancelled');
      this.#socket = undefined;
    }
  }

  async #run(): Promise<void> {
    const { timers, connectTimeoutMs, isCurrent } = this.#options;
    const main = this.#options.away();
    if (main === undefined || this.#socket !== undefined) return;
    let probe: WebSocketLike;
    try {
      const token = await this.#options.token();
      if (!isCurrent(main)) return;
      probe = new this.#options.WebSocket(endpointUrl(this.#options.preferredUrl, token));
    } catch {
      if (isCurrent(main)) this.schedule();
      return;
    }
    this.#socket = probe;
    const giveUp = (): void => {
      if (this.#socket !== probe) return;
      this.#socket = undefined;
      abandon(probe, 1000, 'probe failed');
      if (isCurrent(main)) this.schedule();
    };
    const timer = timers.setTimeout(giveUp, connectTimeoutMs);
    const failed = (): void => {
      timers.clearTimeout(timer);
      giveUp();
    };
    probe.onerror = failed;
    probe.onclose = failed;
    probe.onopen = () => {
      timers.clearTimeout(timer);
      if (this.#socket !== probe || !isCurrent(main)) return;
      this.#socket = undefined;
      this.#options.adopt(probe, main);
    };
  }
}
