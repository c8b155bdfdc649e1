/**
 * `ping`: answers `pong {ts}` (the server's clock, ms since the epoch); a client heartbeat. It also
 * records the connection's `lastSeen` for presence (unless `PRESENCE_TIMEOUT_SECONDS` is 0): a
 * failed write is logged and the pong still goes out, since the connection itself is fine.
 */
import { type PingFrame, replyTo } from '../../protocol/index.js';
import { reply } from '../shared/delivery.js';
import type { HandlerDeps, RouteStore } from '../shared/deps.js';
import { logger } from '../shared/logger.js';
import { defineRoute } from '../shared/route.js';
import { removeConnection, touchConnection } from '../shared/store/index.js';
import type { Caller } from '../shared/websocket.js';

/** Answers a ping. */
export const ping = async (
  deps: HandlerDeps<RouteStore<'touchConnection'>>,
  caller: Caller,
  frame: PingFrame,
): Promise<void> => {
  if (deps.config.presenceTimeoutSeconds !== 0) {
    try {
      await deps.store.touchConnection(caller.connectionId, deps.now());
    } catch (error) {
      logger.warn('could not record the heartbeat', {
        connectionId: caller.connectionId,
        error: error as Error,
      });
    }
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

/** The `ping` route. */
export const handler = defineRoute('ping', ping, { touchConnection, removeConnection });
