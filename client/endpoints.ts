/**
 * The endpoints a client connects to, in order of preference, and the client-side failover policy
 * over them: which one is in use, how many attempts on it failed in a row, when to move to the
 * next, and how long to wait before the next attempt.
 *
 * @example
 * ```ts
 * const endpoints = new Endpoints(['wss://chat.example.com/prod', 'wss://eu.chat.example.com/prod'], {
 *   failoverAfter: 2,
 *   backoff: undefined,
 *   random: Math.random,
 * });
 * endpoints.failed(true); // undefined: one failure, still on the first
 * endpoints.failed(true); // 'wss://chat.example.com/prod': moved to the second
 * ```
 */
import { type BackoffOptions, fullJitterDelay } from './backoff.js';
import type { EndpointConfig } from './types.js';

/**
 * Adds the token as the `token` query parameter, keeping any path (API Gateway's stage).
 *
 * @example
 * ```ts
 * endpointUrl('wss://chat.example.com/prod', 'eyJ...'); // 'wss://chat.example.com/prod?token=eyJ...'
 * ```
 */
export const endpointUrl = (endpoint: string, token: string): string => {
  const url = new URL(endpoint);
  url.searchParams.set('token', token);
  return url.toString();
};

/** How {@link Endpoints} fails over and backs off. */
export interface FailoverOptions {
  /** Consecutive failed attempts on one endpoint before moving to the next (at least 1). */
  failoverAfter: number;
  backoff: BackoffOptions | undefined;
  random: () => number;
}

/** The endpoints, the one in use, and the count of failures and attempts on it. */
export class Endpoints {
  readonly #list: EndpointConfig[];
  readonly #options: FailoverOptions;
  #index = 0;
  #failures = 0;
  #attempt = 0;

  /** Throws a `TypeError` without any endpoint. */
  public constructor(endpoints: ReadonlyArray<string | EndpointConfig>, options: FailoverOptions) {
    if (endpoints.length === 0) throw new TypeError('ParleyClient needs at least one endpoint');
    this.#list = endpoints.map((endpoint) => (typeof endpoint === 'string' ? { url: endpoint } : endpoint));
    this.#options = options;
  }

  /** The endpoint in use (or being tried). */
  public get current(): EndpointConfig {
    return this.#list[this.#index] ?? (this.#list[0] as EndpointConfig);
  }

  /** The index of the endpoint in use: 0 is the preferred one. */
  public get index(): number {
    return this.#index;
  }

  /** The first, preferred, endpoint. */
  public get preferred(): EndpointConfig {
    return this.#list[0] as EndpointConfig;
  }

  /** Consecutive failed attempts on the endpoint in use. */
  public get failures(): number {
    return this.#failures;
  }

  /** Attempts since the last connection that worked (the backoff's exponent). */
  public get attempt(): number {
    return this.#attempt;
  }

  /** A connection proved that it works: failures and backoff start again from zero. */
  public succeeded(): void {
    this.#failures = 0;
    this.#attempt = 0;
  }

  /**
   * A connection ended, as a failure or not. After `failoverAfter` consecutive failures (with more
   * than one endpoint) moves to the next endpoint, wrapping round, and returns the URL it left.
   */
  public failed(failure: boolean): string | undefined {
    if (failure) this.#failures += 1;
    if (this.#failures < this.#options.failoverAfter || this.#list.length <= 1) return undefined;
    const from = this.current.url;
    this.#index = (this.#index + 1) % this.#list.length;
    this.succeeded();
    return from;
  }

  /** The delay before the next attempt (full jitter; 0 when `immediate`), counting the attempt. */
  public nextDelay(immediate: boolean): number {
    const delayMs = immediate
      ? 0
      : fullJitterDelay(this.#attempt, this.#options.backoff, this.#options.random);
    this.#attempt += 1;
    return delayMs;
  }

  /** Moves back to the preferred endpoint (it answered a probe), starting the counts afresh. */
  public returnToPreferred(): void {
    this.#index = 0;
    this.succeeded();
  }
}
