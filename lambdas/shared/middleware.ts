/**
 * Parley's two middy middlewares for WebSocket routes (the `@middy/ws-*` packages are not used):
 *
 * 1. {@link parseFrame}: parses and validates the frame with `parseClientFrame`; a bad frame is
 *    answered with an `error` frame and the handler never runs, so nothing is written.
 * 2. {@link errorFrames}: whatever the handler throws becomes an `error` frame to the caller
 *    (`internal`, or the code of a {@link ParleyError}); the route still returns 200, so nothing
 *    ever throws raw into API Gateway.
 *
 * @example
 * ```ts
 * export const handler = middy<WebSocketEvent, RouteResult>()
 *   .use(errorFrames())
 *   .use(parseFrame('join'))
 *   .handler(async (event) => { ... });
 * ```
 */
import type { MiddlewareObj } from '@middy/core';
import {
  type ClientAction,
  type ClientFrame,
  type ClientFrameOf,
  errorFrame,
  MAX_REF_LENGTH,
  type ProtocolError,
  parseClientFrame,
  type ServerFrame,
} from '../../protocol/index.js';
import { connections } from './clients.js';
import { type DeliveryStore, reply as replyTo } from './delivery.js';
import { tableOf } from './deps.js';
import { loadRuntimeConfig, readSetting } from './env.js';
import { ParleyError } from './errors.js';
import { logger } from './logger.js';
import { count, MetricName, publishMetrics } from './metrics.js';
import { onDb, removeConnection } from './store/index.js';
import { frameText, OK, type RouteResult, type WebSocketEvent } from './websocket.js';

/** The frames {@link parseFrame} validated, by the event they came in (gone with the event). */
const parsedFrames = new WeakMap<WebSocketEvent, ClientFrame>();

const isFrameOf = <A extends ClientAction>(frame: ClientFrame, action: A): frame is ClientFrameOf<A> =>
  frame.action === action;

/**
 * The frame {@link parseFrame} validated for this event, typed by its action.
 *
 * @throws Error when the event has no frame of that action (the route was not wrapped by parseFrame).
 */
export const parsedFrame = <A extends ClientAction>(event: WebSocketEvent, action: A): ClientFrameOf<A> => {
  const frame = parsedFrames.get(event);
  if (frame === undefined || !isFrameOf(frame, action)) {
    throw new Error(`no validated ${action} frame: the route must use parseFrame('${action}')`);
  }
  return frame;
};

/** Sends a frame to one connection. */
export type Replier = (connectionId: string, frame: ServerFrame) => Promise<unknown>;

/** Options shared by both middlewares; the defaults use this container's clients and env. */
export interface FrameMiddlewareOptions {
  /** How to reach the caller (default: `@connections` of `CONNECTIONS_ENDPOINT`). */
  reply?: Replier;
  /** The body limit (default: `MAX_BODY_BYTES`, else 16384). */
  maxBodyBytes?: number;
}

/** The default replier: `PostToConnection` with backoff; a gone caller is cleaned up. */
export const defaultReplier: Replier = (connectionId, frame) => {
  const config = loadRuntimeConfig();
  return replyTo(
    {
      connections: connections(),
      store: onDb<DeliveryStore>(tableOf(config.tableName), { removeConnection }),
      region: config.region,
    },
    connectionId,
    frame,
  );
};

const sendError = async (reply: Replier, event: WebSocketEvent, error: ProtocolError): Promise<void> => {
  count(MetricName.FramesRejected);
  try {
    await reply(event.requestContext.connectionId, errorFrame(error));
  } catch (replyError) {
    // The caller may be gone or the endpoint down: the route must still answer 200.
    logger.error('could not send an error frame', { error: replyError as Error, code: error.code });
  }
};

/**
 * Parses and validates the frame of a route. With `action`, a frame of another action is refused
 * (API Gateway routes by `action`, so this only guards against a misrouted integration).
 */
export const parseFrame = (
  action?: ClientAction,
  options: FrameMiddlewareOptions = {},
): MiddlewareObj<WebSocketEvent, RouteResult> => ({
  name: 'parleyParseFrame',
  before: async (request) => {
    const reply = options.reply ?? defaultReplier;
    const parsed = parseClientFrame(
      frameText(request.event),
      options.maxBodyBytes ?? readSetting('maxBodyBytes'),
    );
    if (!parsed.ok) {
      await sendError(reply, request.event, parsed.error);
      // An early response skips the `after` middlewares, which would otherwise publish metrics.
      publishMetrics();
      return OK;
    }
    if (action !== undefined && parsed.frame.action !== action) {
      await sendError(reply, request.event, {
        code: 'bad_request',
        message: `action ${parsed.frame.action} reached the ${action} route`,
        action: parsed.frame.action,
        ...(parsed.frame.ref !== undefined ? { ref: parsed.frame.ref } : {}),
      });
      publishMetrics();
      return OK;
    }
    parsedFrames.set(request.event, parsed.frame);
    return undefined;
  },
});

/** Reads `ref` and `action` from a frame that may not have parsed, to echo them in the error. */
const echoOf = (event: WebSocketEvent): { ref?: string; action?: string } => {
  const parsed = parsedFrames.get(event);
  if (parsed !== undefined) {
    return { ...(parsed.ref !== undefined ? { ref: parsed.ref } : {}), action: parsed.action };
  }
  try {
    const value = JSON.parse(frameText(event) ?? '') as Record<string, unknown>;
    const echo: { ref?: string; action?: string } = {};
    if (typeof value.ref === 'string' && value.ref.length <= MAX_REF_LENGTH) echo.ref = value.ref;
    if (typeof value.action === 'string' && value.action.length <= 64) echo.action = value.action;
    return echo;
  } catch {
    return {};
  }
};

/**
 * AWS throttling that outlived the SDK's retries: the client may retry (a `send` with the same
 * id is idempotent), so it is answered `rate_limited` rather than `internal`.
 */
const SERVICE_THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'LimitExceededException',
]);

/**
 * Turns any error thrown by the handler (or a later middleware) into an `error` frame to the
 * caller and a 200 for API Gateway. Unexpected errors are logged with their stack and answered
 * as `internal` without their message, which may carry internals.
 */
export const errorFrames = (
  options: FrameMiddlewareOptions = {},
): MiddlewareObj<WebSocketEvent, RouteResult> => ({
  name: 'parleyErrorFrames',
  onError: async (request) => {
    const error = request.error;
    const known = error instanceof ParleyError && error.code !== 'internal';
    const busy = !known && error instanceof Error && SERVICE_THROTTLING.has(error.name);
    if (known) logger.info('request refused', { code: error.code, message: error.message });
    else if (busy) logger.warn('request throttled by a service', { error });
    else logger.error('request failed', { error: error as Error });
    await sendError(options.reply ?? defaultReplier, request.event, {
      code: known ? error.code : busy ? 'rate_limited' : 'internal',
      message: known ? error.message : busy ? 'the service is busy; retry later' : 'internal error',
      ...echoOf(request.event),
    });
    request.response = OK;
  },
});
