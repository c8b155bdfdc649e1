/**
 * `$connect`: stores the connection item (user from the authorizer context) with a TTL of
 * 2 h 10 min, API Gateway's maximum connection duration plus a margin. The authorizer already
 * refused bad tokens; a missing user here means a misconfigured route, answered 401. A user at
 * `MAX_CONNECTIONS_PER_USER` open connections (all regions; exact within this region, see
 * `store/admission.ts`) is refused with 429.
 */
import middy from '@middy/core';
import { connectionGone } from '../shared/delivery.js';
import { type HandlerDeps, withHandlerDeps } from '../shared/deps.js';
import { limitsOf } from '../shared/env.js';
import { logger } from '../shared/logger.js';
import { count, MetricName } from '../shared/metrics.js';
import { baseMiddlewares } from '../shared/route.js';
import { putConnection, registerUserConnection, type StoreOf } from '../shared/store/index.js';
import { callerOf, OK, type RouteResult, type WebSocketEvent } from '../shared/websocket.js';

/** Stores the connection of a `$connect` event. */
export const connect = async (
  deps: HandlerDeps<StoreOf<'registerUserConnection' | 'putConnection'>>,
  event: WebSocketEvent,
): Promise<RouteResult> => {
  const caller = callerOf(event);
  if (caller.user === undefined) {
    logger.warn('connect without an authorizer user', { connectionId: caller.connectionId });
    return { statusCode: 401 };
  }
  const max = limitsOf(deps.config).maxConnectionsPerUser;
  // One time for both: the user's entry of the connection names its `connectedAt`.
  const now = deps.now();
  const registered = await deps.store.registerUserConnection({
    user: caller.user,
    connectionId: caller.connectionId,
    region: deps.region,
    now,
    max,
    isGone: (connectionId) => connectionGone(deps.connections, connectionId),
  });
  if (!registered) {
    // 429 at the handshake: no WebSocket is opened, and the client can tell it from a bad token.
    logger.info('connection refused: too many connections', { user: caller.user, max });
    count(MetricName.ConnectionsRefused);
    return { statusCode: 429 };
  }
  await deps.store.putConnection({
    connectionId: caller.connectionId,
    user: caller.user,
    region: deps.region,
    now,
  });
  count(MetricName.ConnectionsOpened);
  return OK;
};

/** The `$connect` route. */
export const handler = middy<WebSocketEvent, RouteResult>()
  .use(baseMiddlewares())
  .handler(withHandlerDeps(connect, { registerUserConnection, putConnection }));
