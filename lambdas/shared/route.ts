/**
 * The middleware stack of every WebSocket route handler, in one place so all routes behave alike:
 * Lambda context in the logs, EMF metrics flushed per invocation, errors as `error` frames, and
 * the frame parsed and validated before the handler runs.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { MiddlewareObj } from '@middy/core';
import { logger } from './logger.js';
import { publishMetrics } from './metrics.js';
import { errorFrames, type FrameMiddlewareOptions, parseFrame } from './middleware.js';
import type { ClientAction } from './protocol.js';

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
 * export const handler = middy<WebSocketEvent, RouteResult>().use(routeMiddlewares('ping')).handler(...);
 * ```
 */
export const routeMiddlewares = (action?: ClientAction, options: FrameMiddlewareOptions = {}) => [
  injectLambdaContext(logger),
  flushMetrics(),
  errorFrames(options),
  ...(action === undefined ? [] : [parseFrame(action, options)]),
];

/** The middlewares of the non-route handlers (stream, queue, HTTP, authorizer). */
export const baseMiddlewares = () => [injectLambdaContext(logger), flushMetrics()];
