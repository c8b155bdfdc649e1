/**
 * `ping`: answers `pong {ts}` (the server's clock, ms since the epoch); a client heartbeat. It also
 * records the connection's `lastSeen` for presence (unless `PRESENCE_TIMEOUT_SECONDS` is 0): a
 * failed write is logged and the pong still goes out, since the connection itself is fine.
 */
import middy from '@middy/core';
import { reply } from '../shared/delivery.js';
import { type HandlerDeps, handlerDeps } from '../shared/deps.js';
import { logger } from '../shared/logger.js';
import type { PingFrame } from '../shared/protocol.js';
import { touchConnection } from '../shared/repository.js';
import { routeMiddlewares } from '../shared/route.js';
import {
  type Caller,
  callerOf,
  OK,
  type ParsedEvent,
  type RouteResult,
  type WebSocketEvent,
} from '../shared/websocket.js';

/** Answers a ping. */
export const ping = async (deps: HandlerDeps, caller: Caller, frame: PingFrame): Promise<void> => {
  if (deps.config.presenceTimeoutSeconds !== 0) {
    try {
      await touchConnection(deps.db, caller.connectionId, deps.now());
    } catch (error) {
      logger.warn('could not record the heartbeat', {
        connectionId: caller.connectionId,
        error: error as Error,
      });
    }
  }
  await reply(deps, caller.connectionId, {
    type: 'pong',
    ...(frame.ref !== undefined ? { ref: frame.ref } : {}),
    ts: deps.now(),
  });
};

/** The `ping` route. */
export const handler = middy<WebSocketEvent, RouteResult>()
  .use(routeMiddlewares('ping'))
  .handler(async (event) => {
    await ping(handlerDeps(), callerOf(event), (event as ParsedEvent<PingFrame>).parley.frame);
    return OK;
  });
