/**
 * The middleware stack of every WebSocket route handler, in one place so all routes behave alike:
 * Lambda context in the logs, EMF metrics flushed per invocation, errors as `error` frames, the
 * frame parsed and validated, and the action's per-connection rate limit taken before the handler
 * runs.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { ClientAction, ClientFrameOf } from '../../protocol/index.js';
import { type HandlerDeps, handlerDeps } from './deps.js';
import { logger } from './logger.js';
import { publishMetrics } from './metrics.js';
import { errorFrames, type FrameMiddlewareOptions, parsedFrame, parseFrame } from './middleware.js';
import { takeRateToken } from './rates.js';
import { type OnDb, type StoreOf, takeToken } from './store/index.js';
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

/** How a route is defined. */
export interface RouteOptions {
  /**
   * Who takes the action's rate-limit token (`lambdas/shared/rates.ts`): the route, before its
   * logic and so before any other table access (the default), or the logic itself, for a route
   * that keeps the token in a write of its own (`ping`: in its heartbeat's).
   */
  readonly rateLimit?: 'route' | 'logic';
}

/**
 * `logic` behind the rate limit of `action`: a request beyond the connection's burst is refused
 * with `rate_limited` before the logic runs, so it reads and changes nothing else.
 *
 * @example
 * ```ts
 * await limited('history', history)(deps, caller, frame); // RateLimitedError when the burst is spent
 * ```
 */
export const limited =
  <A extends ClientAction, S>(action: A, logic: RouteLogic<A, S>): RouteLogic<A, S & StoreOf<'takeToken'>> =>
  async (deps, caller, frame) => {
    await takeRateToken(deps, caller.connectionId, action);
    return logic(deps, caller, frame);
  };

/** The handler of `action`'s route: the route middlewares, then `run` with the store `store` bound. */
const routeHandler = <A extends ClientAction, S>(action: A, run: RouteLogic<A, S>, store: OnDb<S>) =>
  middy<WebSocketEvent, RouteResult>()
    .use(routeMiddlewares(action))
    .handler(async (event) => {
      await run(handlerDeps<S>(store), callerOf(event), parsedFrame(event, action));
      return OK;
    });

/**
 * The handler of the route of `action`: the route middlewares, then the action's rate limit (see
 * {@link RouteOptions}), then `logic` with the frame typed by the action's schema (the parse
 * middleware has validated it against exactly that schema) and the store methods it calls, bound
 * to the table: `store` names their DynamoDB functions, exactly those the logic's type asks for
 * (see `handlerDeps`); the rate limit's `takeToken` is bound besides.
 *
 * @example
 * ```ts
 * export const handler = defineRoute('history', history, { isMember, historyPage, removeConnection });
 * ```
 */
export const defineRoute = <A extends ClientAction, S>(
  action: A,
  logic: RouteLogic<A, S>,
  store: OnDb<NoInfer<S>>,
  options: RouteOptions = {},
) =>
  routeHandler<A, S & StoreOf<'takeToken'>>(
    action,
    options.rateLimit === 'logic' ? logic : limited(action, logic),
    { ...store, takeToken } as OnDb<S & StoreOf<'takeToken'>>,
  );

/**
 * A route with no rate limit, for the benchmarks' scan-and-broadcast baseline only
 * (`lambdas/handlers/baseline-send.ts`), which stands for a design without one: its bundle holds
 * no bucket write, so it costs what that design costs. Every Parley route is a {@link defineRoute}.
 */
export const defineRouteWithoutRateLimit = <A extends ClientAction, S>(
  action: A,
  logic: RouteLogic<A, S>,
  store: OnDb<NoInfer<S>>,
) => routeHandler<A, S>(action, logic, store);

/** The middlewares of the non-route handlers (stream, queue, HTTP, authorizer). */
export const baseMiddlewares = () => [injectLambdaContext(logger), flushMetrics()];
