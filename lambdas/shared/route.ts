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

/** What a route does with this container's dependencies, the caller and the caller's frame. */
export type RouteLogic<A extends ClientAction> = (
  deps: HandlerDeps,
  caller: Caller,
  frame: ClientFrameOf<A>,
) => Promise<unknown>;

/**
 * The handler of the route of `action`: the route middlewares, then `logic` with the frame typed
 * by the action's schema (the parse middleware has validated it against exactly that schema).
 *
 * @example
 * ```ts
 * export const handler = defineRoute('ping', ping);
 * ```
 */
export const defineRoute = <A extends ClientAction>(action: A, logic: RouteLogic<A>) =>
  middy<WebSocketEvent, RouteResult>()
    .use(routeMiddlewares(action))
    .handler(async (event) => {
      await logic(handlerDeps(), callerOf(event), parsedFrame(event, action));
      return OK;
    });

/** The middlewares of the non-route handlers (stream, queue, HTTP, authorizer). */
export const baseMiddlewares = () => [injectLambdaContext(logger), flushMetrics()];
