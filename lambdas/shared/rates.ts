/**
 * The per-connection rate limit of every action (`docs/protocol.md`, the shared contract's
 * "Rates"): a token bucket per action on the connection item (`store/limits.ts`), with the rate and
 * burst of the settings `<action>RatePerSecond` and `<action>Burst`. `defineRoute` takes a token
 * before a route's logic runs, so every route is limited by construction; `ping` takes its own
 * inside its heartbeat write. The excess is answered `rate_limited` and changes nothing.
 *
 * @example
 * ```ts
 * await takeRateToken(deps, caller.connectionId, 'history'); // throws RateLimitedError when spent
 * ```
 */
import type { ClientAction } from '../../protocol/index.js';
import type { HandlerDeps } from './deps.js';
import { type Limits, limitsOf } from './env.js';
import { RateLimitedError } from './errors.js';
import { count, MetricName } from './metrics.js';
import type { Rate, StoreOf } from './store/index.js';

/** What a refusal calls the requests of each action. A new action needs its words here. */
const REQUESTS: Readonly<Record<ClientAction, string>> = {
  join: 'joins',
  leave: 'leaves',
  send: 'sends',
  history: 'history requests',
  presence: 'presence requests',
  ping: 'pings',
};

/**
 * The rate limit of `action` in `limits`. A new action fails to compile here until `Limits` (and
 * so the settings table) has its `<action>RatePerSecond` and `<action>Burst`.
 */
export const rateOf = (limits: Limits, action: ClientAction): Rate => ({
  perSecond: limits[`${action}RatePerSecond`],
  burst: limits[`${action}Burst`],
});

/**
 * The refusal of a request beyond `action`'s rate, naming the rate; counts it
 * (`SendsRateLimited` for `send`, `RequestsRateLimited` for the other actions).
 */
export const rateLimited = (action: ClientAction, rate: Rate): RateLimitedError => {
  count(action === 'send' ? MetricName.SendsRateLimited : MetricName.RequestsRateLimited);
  return new RateLimitedError(
    `at most ${rate.perSecond} ${REQUESTS[action]} per second (bursts of ${rate.burst}); retry later`,
  );
};

/**
 * Takes one token of `action`'s rate limit for the connection.
 *
 * @throws RateLimitedError when the connection's burst of `action` is spent (nothing is written).
 */
export const takeRateToken = async (
  deps: Pick<HandlerDeps<StoreOf<'takeToken'>>, 'store' | 'config' | 'now'>,
  connectionId: string,
  action: ClientAction,
): Promise<void> => {
  const rate = rateOf(limitsOf(deps.config), action);
  if (!(await deps.store.takeToken(connectionId, action, rate, deps.now()))) {
    throw rateLimited(action, rate);
  }
};
