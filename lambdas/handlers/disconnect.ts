/**
 * `$disconnect`: removes the connection and its memberships, then tells each room's members in
 * this region that the user left. Other regions learn it from the membership removals in their
 * replica's stream. `$disconnect` is best effort in API Gateway, so a failure is logged (the TTL
 * removes what is left) and never retried.
 */
import middy from '@middy/core';
import { type HandlerDeps, type RouteStore, withHandlerDeps } from '../shared/deps.js';
import { logger } from '../shared/logger.js';
import { count, MetricName } from '../shared/metrics.js';
import { announcePresence } from '../shared/rooms.js';
import { baseMiddlewares } from '../shared/route.js';
import { listMembers, removeConnection } from '../shared/store/index.js';
import { callerOf, OK, type RouteResult, type WebSocketEvent } from '../shared/websocket.js';

/** Cleans up after a closed connection. */
export const disconnect = async (
  deps: HandlerDeps<RouteStore<'listMembers'>>,
  event: WebSocketEvent,
): Promise<RouteResult> => {
  const caller = callerOf(event);
  const { rooms, user } = await deps.store.removeConnection(caller.connectionId, deps.region);
  count(MetricName.ConnectionsClosed);
  const who = user ?? caller.user;
  if (who !== undefined) {
    await Promise.all(
      rooms.map((room) => announcePresence(deps, { room, event: 'leave', user: who, region: deps.region })),
    );
  }
  return OK;
};

const run = withHandlerDeps(disconnect, { removeConnection, listMembers });

/** The `$disconnect` route. */
export const handler = middy<WebSocketEvent, RouteResult>()
  .use(baseMiddlewares())
  .handler(async (event) => {
    try {
      return await run(event);
    } catch (error) {
      logger.error('disconnect cleanup failed', { error: error as Error });
      return OK;
    }
  });
