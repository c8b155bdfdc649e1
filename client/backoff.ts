/**
 * Reconnect delays: exponential backoff with full jitter (a uniformly random delay between zero and
 * the exponential cap), which spreads the reconnects of many clients that lost the same region at
 * the same moment instead of letting them stampede the surviving one in waves.
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
