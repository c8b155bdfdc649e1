/**
 * `$default`: API Gateway sends here every frame whose `action` matches no route (or that is not
 * JSON at all). It answers `error bad_request` naming the unknown action; nothing is written.
 */
import middy from '@middy/core';
import { CLIENT_ACTIONS, errorFrame, type ProtocolError, parseClientFrame } from '../../protocol/index.js';
import { count, MetricName } from '../shared/metrics.js';
import { defaultReplier, type Replier } from '../shared/middleware.js';
import { routeMiddlewares } from '../shared/route.js';
import { callerOf, frameText, OK, type RouteResult, type WebSocketEvent } from '../shared/websocket.js';

/** The error a `$default` frame gets. */
export const defaultError = (text: string | null | undefined): ProtocolError => {
  const parsed = parseClientFrame(text, Number.MAX_SAFE_INTEGER);
  if (!parsed.ok) {
    const { action } = parsed.error;
    if (action !== undefined && !(CLIENT_ACTIONS as readonly string[]).includes(action)) {
      return {
        ...parsed.error,
        message: `unknown action "${action}"; expected one of ${CLIENT_ACTIONS.join(', ')}`,
      };
    }
    return parsed.error;
  }
  // A valid frame of a known action: its route exists, so this integration was misrouted.
  return {
    code: 'bad_request',
    message: `action "${parsed.frame.action}" is not handled by this route`,
    action: parsed.frame.action,
    ...(parsed.frame.ref !== undefined ? { ref: parsed.frame.ref } : {}),
  };
};

/** Answers a `$default` frame. */
export const fallback = async (reply: Replier, event: WebSocketEvent): Promise<RouteResult> => {
  count(MetricName.FramesRejected);
  await reply(callerOf(event).connectionId, errorFrame(defaultError(frameText(event))));
  return OK;
};

/** The `$default` route. */
export const handler = middy<WebSocketEvent, RouteResult>()
  .use(routeMiddlewares())
  .handler((event) => fallback(defaultReplier, event));
