/**
 * The middleware stack of every WebSocket route handler, in one place so all routes behave alike:
 * Lambda context in the logs, EMF metrics flushed per invocation, errors as `error` frames, and
 * the frame parsed and validated before the handler runs.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { ClientAction, ClientFrameOf } from '../../protocol/index.js';
import { type HandlerDeps, handlerDeps } from './deps.js';
import { logger } from './logger.js';
import { publishMetrics } from './metrics.js';
import { errorFrames, type FrameMiddlewareOptions, parsedFrame, parseFrame } from './middleware.js';
import type { OnDb } from './store/index.js';
import { type Caller, callerOf, OK, type RouteResult, type WebSocketEvent } from './websocket.js';

/** Publishes the invocation's metrics (EMF) when the handler returns or fails. */
export const flushMetrics = (): MiddlewareObj => ({
  name: 'parleyFlushMetrics',
  after: publishMetrics,
  onError: publishMetrics,
});

/**
 * The middlewares of a route. `errorFrames` is registered before `parseFrame` so that its
 * `onError` also covers a failure inside the parser's reply.
 *
 * @example
 * ```ts
 * export const handler = middy<WebSocketEvent, RouteResult>().use(routeMiddlewares()).handler(...);
 * ```
 */
export const routeMiddlewares = (action?: ClientAction, options: FrameMiddlewareOptions = {}) => [
  injectLambdaContext(logger),
  flushMetrics(),
  errorFrames(options),
  ...(action === undefined ? [] : [parseFrame(action, options)]),
];

/**
 * What a route does with this container's dependencies (the store methods `S` among them), the
 * caller and the caller's frame.
 */
export type RouteLogic<A extends ClientAction, S> = (
  deps: HandlerDeps<S>,
  caller: Caller,
  frame: ClientFrameOf<A>,
) => Promise<unknown>;

/**
 * The handler of the route of `action`: the route middlewares, then `logic` with the frame typed
 * by the action's schema (the parse middleware has validated it against exactly that schema) and
 * the store methods it calls, bound to the table: `store` names their DynamoDB functions, exactly
 * those the logic's type asks for (see `handlerDeps`).
 *
 * @example
 * ```ts
 * export const handler = defineRoute('ping', ping, { touchConnection, removeConnection });
 * ```
 */
export const defineRoute = <A extends ClientAction, S>(
  action: A,
  logic: RouteLogic<A, S>,
  store: OnDb<NoInfer<S>>,
) =>
  middy<WebSocketEvent, RouteResult>()
    .use(routeMiddlewares(action))
    .handler(async (event) => {
      await logic(handlerDeps<S>(store), callerOf(event), parsedFrame(event, action));
      return OK;
    });

/** The middlewares of the non-route handlers (stream, queue, HTTP, authorizer). */
export const baseMiddlewares = () => [injectLambdaContext(logger), flushMetrics()];
