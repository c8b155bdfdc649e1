/**
 * `ping`: answers `pong {ts}` (the server's clock, ms since the epoch); a client heartbeat. It also
 * records the connection's `lastSeen` for presence (unless `PRESENCE_TIMEOUT_SECONDS` is 0): a
 * failed write is logged and the pong still goes out, since the connection itself is fine.
 *
 * Its rate limit (`pingRatePerSecond`, `pingBurst`) is kept in that same write, whose condition
 * includes the bucket: an allowed ping costs the one write it always did, and a ping beyond the
 * limit records nothing and is answered `rate_limited`. With the presence timeout 0 ping writes
 * nothing, so it has no bucket and is not limited (API Gateway's route throttling still applies).
 */
import { type PingFrame, replyTo } from '../../protocol/index.js';
import { reply } from '../shared/delivery.js';
import type { HandlerDeps, RouteStore } from '../shared/deps.js';
import { limitsOf } from '../shared/env.js';
import { logger } from '../shared/logger.js';
import { rateLimited, rateOf } from '../shared/rates.js';
import { defineRoute } from '../shared/route.js';
import { removeConnection, takeToken } from '../shared/store/index.js';
import type { Caller } from '../shared/websocket.js';

/** Answers a ping. */
export const ping = async (
  deps: HandlerDeps<RouteStore<'takeToken'>>,
  caller: Caller,
  frame: PingFrame,
): Promise<void> => {
  if (deps.config.presenceTimeoutSeconds !== 0) {
    const rate = rateOf(limitsOf(deps.config), 'ping');
    let allowed = true;
    try {
      allowed = await deps.store.takeToken(caller.connectionId, 'ping', rate, deps.now(), { seen: true });
    } catch (error) {
      logger.warn('could not record the heartbeat', {
        connectionId: caller.connectionId,
        error: error as Error,
      });
    }
    if (!allowed) throw rateLimited('ping', rate);
  }
  await reply(
    deps,
    caller.connectionId,
    replyTo(frame, {
      type: 'pong',
      ts: deps.now(),
    }),
  );
};

/** The `ping` route: it takes its rate-limit token itself, in its heartbeat write. */
export const handler = defineRoute('ping', ping, { takeToken, removeConnection }, { rateLimit: 'logic' });
