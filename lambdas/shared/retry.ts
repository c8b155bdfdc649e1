/**
 * Waiting and retrying on the server side: the handlers, the deploy-time checks, the local stack
 * and the benchmarks use these, and nothing else sleeps or backs off.
 *
 * The client SDK has its own, `client/backoff.ts`, for two reasons: it is part of the SDK's public
 * API and runs in browsers (nothing here may be imported there without pulling in server code), and
 * its delays bound the reconnects of many clients after an outage, where these bound one call's
 * retries inside a Lambda invocation's time budget, with a sleep the tests replace.
 *
 * @example
 * ```ts
 * const item = await retry(() => send(command), {
 *   attempts: 8,
 *   retryable: (error) => error instanceof Error && error.name === 'ReplicatedWriteConflictException',
 *   delayMs: (attempt) => fullJitter(attempt, 20, 1_000),
 * });
 * ```
 */

/** A sleep: resolves after `ms`. Tests pass their own. */
export type Sleep = (ms: number) => Promise<void>;

/** Resolves after `ms` milliseconds. */
export const sleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Exponential backoff: `min(capMs, baseMs * 2^attempt)`. For waiting on one other party (a send
 * of the same id still in flight), where there is no crowd of callers to spread.
 */
export const exponential = (attempt: number, baseMs: number, capMs: number): number =>
  // The exponent is capped so that 2^attempt never overflows into Infinity.
  Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));

/**
 * Full jitter (exponential backoff with a uniformly random delay below the cap): a random delay in
 * `[0, min(capMs, baseMs * 2^attempt))`, which spreads the retries of many callers that failed at
 * the same moment.
 */
export const fullJitter = (attempt: number, baseMs: number, capMs: number, random = Math.random): number =>
  Math.floor(random() * exponential(attempt, baseMs, capMs));

/**
 * An attempt that did not fail but is not done yet (a race for a seq lost, keys left unprocessed,
 * another send still in flight): thrown in {@link retry}'s `run` to have it run again, with
 * {@link isRetryLater} as `retryable`. What is still not done once the attempts are spent is this
 * error, for the caller to turn into its answer.
 */
export class RetryLater extends Error {
  public constructor(reason: string) {
    super(reason);
    this.name = 'RetryLater';
  }
}

/** Whether `error` is a {@link RetryLater}. */
export const isRetryLater = (error: unknown): error is RetryLater => error instanceof RetryLater;

/** How {@link retry} retries. */
export interface RetryOptions {
  /** Attempts in all, the first included. */
  attempts: number;
  /** Whether a failure may be retried; any other is thrown at once. */
  retryable: (error: unknown) => boolean;
  /** The wait before attempt `attempt + 1` (0-based: the first retry waits `delayMs(0)`). */
  delayMs: (attempt: number) => number;
  /** @default {@link sleep} */
  sleep?: Sleep;
}

/**
 * Runs `run` until it resolves, retrying the failures `retryable` allows, at most `attempts` times
 * in all; then throws the last failure.
 */
export const retry = async <T>(run: () => Promise<T>, options: RetryOptions): Promise<T> => {
  const wait = options.sleep ?? sleep;
  for (let attempt = 0; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (!options.retryable(error) || attempt + 1 >= options.attempts) throw error;
      await wait(options.delayMs(attempt));
    }
  }
};
