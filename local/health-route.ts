/**
 * The region's `GET /health`, what Route 53 (locally, the global endpoint) polls: the template's
 * `health` handler behind an HTTP API event; during a simulated outage, and when the app has no
 * health handler, the gateway answers itself, in the handler's words (`HealthStatus`).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HealthStatus } from '../lambdas/shared/health.js';
import { json } from './gateway-http.js';
import type { LambdaService } from './lambda-service.js';

/** What `/health` needs of the gateway. */
export interface HealthGateway {
  region: string;
  port: number;
  apiId: string;
  inOutage(): boolean;
  lambda: LambdaService;
}

/** The HTTP API (payload v2) event of a `GET /health`, as API Gateway gives it to the handler. */
const healthEvent = (gateway: HealthGateway, req: IncomingMessage) => {
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: 'GET /health',
    rawPath: '/health',
    rawQueryString: '',
    headers: Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]),
    ),
    requestContext: {
      accountId: '000000000000',
      apiId: `${gateway.apiId}-http`,
      domainName: `127.0.0.1:${gateway.port}`,
      http: {
        method: 'GET',
        path: '/health',
        protocol: 'HTTP/1.1',
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: req.headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: 'GET /health',
      stage: '$default',
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    isBase64Encoded: false,
  };
};

/** Answers one `GET /health`. */
export const handleHealth = async (
  gateway: HealthGateway,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> => {
  // The gateway's own answers speak the handler's words, so a reader of /health sees one shape.
  if (gateway.inOutage()) {
    const down: HealthStatus = { status: 'unavailable', region: gateway.region, reason: 'outage' };
    return json(res, 503, down);
  }
  if (!gateway.lambda.functionOf('health')) {
    const up: HealthStatus = { status: 'ok', region: gateway.region };
    return json(res, 200, up);
  }
  try {
    const result = (await gateway.lambda.invoke('health', healthEvent(gateway, req))) as {
      statusCode?: number;
      body?: string;
      headers?: Record<string, string>;
    } | null;
    if (result && typeof result.statusCode === 'number') {
      res.writeHead(result.statusCode, { 'content-type': 'application/json', ...(result.headers ?? {}) });
      res.end(result.body ?? '');
      return;
    }
    json(res, 200, result ?? {});
  } catch {
    json(res, 500, { message: 'Internal Server Error' });
  }
};
