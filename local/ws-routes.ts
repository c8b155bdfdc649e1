/**
 * A frame from a client, routed as API Gateway routes it: by the API's route selection expression
 * (else `$default`), throttled per route, integrated with the route's function, and answered with
 * the route response of a two-way route or with API Gateway's own error messages.
 */
import { randomBytes } from 'node:crypto';
import { type Integrations, IntegrationTimeoutError } from './gateway-integration.js';
import { INTEGRATION_TIMEOUT_MESSAGE } from './gateway-quotas.js';
import type { ApiModel, RouteModel } from './template.js';
import type { StageThrottle } from './token-bucket.js';
import type { Connection, ConnectionTable } from './ws-connections.js';

/** Reads `$request.body.a.b` style route selection from a parsed frame. */
const selectRouteValue = (expression: string, body: unknown): unknown => {
  const match = /^\$request\.body\.(.+)$/.exec(expression);
  if (!match?.[1]) return undefined;
  let node: unknown = body;
  for (const key of match[1].split('.')) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
};

/** What routing a frame needs of the gateway. */
export interface FrameRouting {
  region: string;
  api: Pick<ApiModel, 'routeSelectionExpression'>;
  /** The API's routes by route key. */
  routes: ReadonlyMap<string, RouteModel>;
  throttle: StageThrottle;
  integrations: Integrations;
  connections: ConnectionTable;
  log: (line: string) => void;
}

/** Routes one frame of `conn` and answers it; never throws. */
export const routeFrame = async (
  gateway: FrameRouting,
  conn: Connection,
  data: Buffer,
  isBinary: boolean,
): Promise<void> => {
  if (conn.closing) return;
  const { routes, integrations, connections } = gateway;
  const body = isBinary ? data.toString('base64') : data.toString('utf8');
  let routeKey = '$default';
  if (!isBinary) {
    try {
      const selected = selectRouteValue(gateway.api.routeSelectionExpression, JSON.parse(body));
      if (typeof selected === 'string' && routes.has(selected)) routeKey = selected;
    } catch {
      // Not JSON: API Gateway falls back to $default.
    }
  }
  const route = routes.get(routeKey);
  const context = {
    ...integrations.requestContext(conn, routeKey, 'MESSAGE'),
    messageId: randomBytes(8).toString('base64').replace(/[+/=]/g, 'A'),
    ...(conn.authorizer ? { authorizer: conn.authorizer } : {}),
  };
  const reply = (message: string): void => {
    connections.send(conn, JSON.stringify({ message, connectionId: conn.id, requestId: context.requestId }));
  };
  if (!route) return reply('Forbidden');
  if (!gateway.throttle.admits(routeKey)) return reply('Too Many Requests');
  try {
    const result = (await integrations.integrate(integrations.handlerOf(route), {
      requestContext: context,
      body,
      isBase64Encoded: isBinary,
    })) as { body?: unknown } | null;
    if (route.twoWay && result && typeof result.body === 'string' && result.body.length > 0)
      connections.send(conn, result.body);
  } catch (error) {
    if (error instanceof IntegrationTimeoutError) return reply(INTEGRATION_TIMEOUT_MESSAGE);
    // A failed invocation, a throttled one (TooManyRequestsException) included: API Gateway
    // answers a throttled Lambda integration with "Internal server error" as any other failure
    // (https://repost.aws/knowledge-center/api-gateway-internal-server-error, "Throttling issues").
    gateway.log(
      `[${gateway.region}] ${routeKey} failed: ${error instanceof Error ? error.message : String(error)}`,
    );
    reply('Internal server error');
  }
};
