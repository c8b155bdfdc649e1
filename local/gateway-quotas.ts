/**
 * API Gateway's WebSocket quotas and the answers it gives at them, as the local gateway plays them.
 * The frame limit, `API_GATEWAY_MAX_FRAME_BYTES`, is the protocol's (`protocol/limits.ts`): clients
 * and the CDK app's settings are bounded by it too.
 */

/** API Gateway's WebSocket idle timeout (10 minutes). */
export const API_GATEWAY_IDLE_TIMEOUT_MS = 10 * 60 * 1000;
/** API Gateway's maximum WebSocket connection duration (2 hours). */
export const API_GATEWAY_MAX_DURATION_MS = 2 * 60 * 60 * 1000;
/**
 * API Gateway's WebSocket message payload limit (128 KiB): a message may span several frames of at
 * most `API_GATEWAY_MAX_FRAME_BYTES` each; a larger message closes the connection with 1009.
 * "Quotas for configuring and running a WebSocket in API Gateway",
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html
 */
export const API_GATEWAY_MAX_MESSAGE_BYTES = 128 * 1024;
/** API Gateway's `PostToConnection` payload limit: the same quota page applies the message limit to `@connections`. */
export const POST_TO_CONNECTION_MAX_BYTES = API_GATEWAY_MAX_MESSAGE_BYTES;
/**
 * API Gateway's WebSocket integration timeout (29 s, the default and the most a WebSocket API's
 * integration may be given: 50 ms to 29 s, not increasable), for `$connect`, the authorizer and
 * every route. The quota page cited at {@link API_GATEWAY_MAX_MESSAGE_BYTES}.
 */
export const API_GATEWAY_INTEGRATION_TIMEOUT_MS = 29_000;
/**
 * What API Gateway sends a WebSocket client when a route's integration times out. Not on a
 * documentation page: the text is believed, from clients' reports of the frame they received,
 * `{"message": "Endpoint request timed out", "connectionId":"...", "requestId":"..."}`
 * (https://github.com/aws/chalice/issues/1406, https://github.com/Kludex/mangum/issues/128).
 */
export const INTEGRATION_TIMEOUT_MESSAGE = 'Endpoint request timed out';
/** The close code for a frame or message over API Gateway's limits ("message too big"). */
export const CLOSE_MESSAGE_TOO_BIG = 1009;
/** Close code API Gateway uses when it ends a connection (idle, max duration, going away). */
export const CLOSE_GOING_AWAY = 1001;
