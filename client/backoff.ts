/**
 * The SDK's backoff: exponential with full jitter (a uniformly random delay between zero and the
 * exponential cap), for its reconnects and for its retries of what the server refused as transient.
 * Full jitter spreads the reconnects of many clients that lost the same region at the same moment
 * instead of letting them stampede the surviving one in waves.
 *
 * It is separate from the server side's `lambdas/shared/retry.ts` on purpose. It is public SDK API
 * (exported from `client/index.ts`) and runs in browsers, so it may import nothing from the server.
 * And it solves another problem: it spreads many clients' reconnects over time, with no deadline,
 * where the server's bounds one call's retries inside a Lambda invocation's time budget.
 */

/** Bounds of the reconnect backoff. */
export interface BackoffOptions {
  /**
   * The cap of the first attempt's delay.
   * @default 500
   */
  initialMs?: number;
  /**
   * The largest cap, reached after a few doublings.
   * @default 30000
   */
  maxMs?: number;
}

/** The reconnect backoff's bounds when `ParleyClientOptions.backoff` leaves them out. */
export const DEFAULT_BACKOFF: Required<BackoffOptions> = { initialMs: 500, maxMs: 30_000 };

/**
 * The delay before reconnect attempt `attempt` (0-based): `random() * min(maxMs, initialMs * 2^attempt)`.
 *
 * @example
 * ```ts
 * fullJitterDelay(3, { initialMs: 500, maxMs: 30_000 }, () => 0.5); // 2000
 * ```
 */
export const fullJitterDelay = (
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number => {
  const initialMs = options.initialMs ?? DEFAULT_BACKOFF.initialMs;
  const maxMs = options.maxMs ?? DEFAULT_BACKOFF.maxMs;
  // Cap the exponent so 2^attempt never overflows into Infinity after a very long outage.
  const cap = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * cap);
};

/** A retried send or join waits at least this long: the server's send bucket refills 10 tokens a second. */
const TRANSIENT_RETRY_FLOOR_MS = 100;
/** Bounds of the jitter added to that floor: up to 400 ms at first, doubling to 5 s. */
const TRANSIENT_RETRY_BACKOFF: Required<BackoffOptions> = { initialMs: 400, maxMs: 5_000 };

/**
 * The wait before retry `retries` (0-based) of a send or join the server answered `rate_limited`
 * or `internal`: a floor of 100 ms plus full jitter up to 400 ms, doubling to 5 s.
 *
 * @example
 * ```ts
 * transientRetryDelay(0, () => 0.5); // 300
 * ```
 */
export const transientRetryDelay = (retries: number, random: () => number = Math.random): number =>
  TRANSIENT_RETRY_FLOOR_MS + fullJitterDelay(retries, TRANSIENT_RETRY_BACKOFF, random);
