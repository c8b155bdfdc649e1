/**
 * A WebSocket handshake at the local gateway: first the local stack's own rule (a browser's
 * `Origin` must be allowed, `request-guards.ts`), then API Gateway's order: the outage and the stage
 * path, `$connect`'s throttle, the REQUEST authorizer, the `$connect` integration (a non-2xx
 * answer refuses), then the upgrade, with API Gateway's frame limit read off the socket.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import { API_GATEWAY_MAX_FRAME_BYTES } from '../protocol/index.js';
import { FrameSizeMonitor } from './frame-limits.js';
import { firstHeader, refuseUpgrade } from './gateway-http.js';
import { type Integrations, IntegrationTimeoutError } from './gateway-integration.js';
import { CLOSE_MESSAGE_TOO_BIG, INTEGRATION_TIMEOUT_MESSAGE } from './gateway-quotas.js';
import type { OriginPolicy } from './request-guards.js';
import type { RouteModel } from './template.js';
import type { StageThrottle } from './token-bucket.js';
import { authorize } from './ws-authorizer.js';
import type { Connection, ConnectionTable } from './ws-connections.js';

/** API Gateway-style connection ids: 12 base64 characters ending in `=`. */
const newConnectionId = (): string =>
  `${randomBytes(8).toString('base64').replace(/[+/=]/g, 'A').slice(0, 11)}=`;

/** What a handshake needs of the gateway. */
export interface HandshakeGateway {
  region: string;
  port: number;
  stage: string;
  inOutage(): boolean;
  /** Which browser origins may connect (not API Gateway's rule: it checks no `Origin`). */
  origins: OriginPolicy;
  /** The API's routes by route key. */
  routes: ReadonlyMap<string, RouteModel>;
  throttle: StageThrottle;
  integrations: Integrations;
  connections: ConnectionTable;
  /** The `ws` server (no HTTP server of its own) that completes the upgrade. */
  wss: WebSocketServer;
  /** Where the new connection's frames go. */
  onFrame(conn: Connection, data: Buffer, isBinary: boolean): void;
  log: (line: string) => void;
}

/** Runs one handshake to its end: the connection opened, or the handshake refused. */
export const handleUpgrade = async (
  gateway: HandshakeGateway,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<void> => {
  const { integrations, connections } = gateway;
  // Before anything runs for it: a page of another site gets no authorizer or $connect call.
  const refused = gateway.origins.refusal(req.headers.origin);
  if (refused !== undefined) {
    gateway.log(`[${gateway.region}] handshake refused: ${refused}`);
    return refuseUpgrade(socket, 403, refused);
  }
  if (gateway.inOutage()) return refuseUpgrade(socket, 503, 'Service Unavailable');
  const url = new URL(req.url ?? '/', `http://127.0.0.1:${gateway.port}`);
  const path = url.pathname.replace(/\/+$/, '');
  if (path !== '' && path !== `/${gateway.stage}`) return refuseUpgrade(socket, 404, 'Not Found');
  const connectRoute = gateway.routes.get('$connect');
  if (!gateway.throttle.admits('$connect')) return refuseUpgrade(socket, 429, 'Too Many Requests');

  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    const list = Array.isArray(value) ? value : [value];
    headers[key] = list.join(',');
    multiValueHeaders[key] = list;
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [key, value] of url.searchParams) {
    query[key] = value;
    multiQuery[key] = [...(multiQuery[key] ?? []), value];
  }
  const connection = {
    id: newConnectionId(),
    connectedAt: Date.now(),
    sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
    userAgent: firstHeader(req.headers['user-agent']) ?? '',
  };
  const requestFields = {
    headers,
    multiValueHeaders,
    ...(url.searchParams.size > 0
      ? { queryStringParameters: query, multiValueQueryStringParameters: multiQuery }
      : {}),
    isBase64Encoded: false,
  };

  let authorizer: Record<string, unknown> | undefined;
  if (connectRoute?.authorizer) {
    const outcome = await authorize(integrations, connectRoute.authorizer, {
      url,
      headers: req.headers,
      connection,
      requestFields,
    });
    if (!outcome.allowed) return refuseUpgrade(socket, outcome.status, outcome.message);
    authorizer = outcome.authorizer;
  }

  if (connectRoute) {
    const event = {
      ...requestFields,
      requestContext: {
        ...integrations.requestContext(connection, '$connect', 'CONNECT'),
        ...(authorizer ? { authorizer } : {}),
      },
    };
    let status = 200;
    let timedOut = false;
    try {
      const result = (await integrations.integrate(integrations.handlerOf(connectRoute), event)) as {
        statusCode?: number;
      } | null;
      status = result?.statusCode ?? 200;
    } catch (error) {
      timedOut = error instanceof IntegrationTimeoutError;
      status = 500;
    }
    // A $connect integration that times out refuses the handshake with 504, the status of API
    // Gateway's INTEGRATION_TIMEOUT response ("Gateway response types for API Gateway",
    // https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html);
    // that a WebSocket handshake gets it is believed.
    if (timedOut) return refuseUpgrade(socket, 504, INTEGRATION_TIMEOUT_MESSAGE);
    if (status < 200 || status > 299)
      return refuseUpgrade(socket, status, status >= 500 ? 'Internal server error' : 'Forbidden');
  }
  if (gateway.inOutage() || socket.destroyed || !socket.writable) {
    // $connect stored a connection that never opens: $disconnect removes it now rather than at its TTL.
    if (connectRoute)
      void connections.disconnect(
        { ...connection, headers, authorizer, closeCode: 1006 },
        1006,
        'Going away',
      );
    return refuseUpgrade(socket, 503, 'Service Unavailable');
  }

  // ws has no hook per frame: this listener reads the frame headers the client sends. Added
  // before ws's own 'data' listener, it sees every byte first (the bytes already read with the
  // handshake, `head`, come back through 'data' too: ws unshifts them onto the socket).
  const frames = new FrameSizeMonitor(API_GATEWAY_MAX_FRAME_BYTES);
  let opened: Connection | undefined;
  const watchFrames = (chunk: Buffer): void => {
    if (!frames.write(chunk)) return;
    socket.off('data', watchFrames);
    gateway.log(
      `[${gateway.region}] ${connection.id}: a ${frames.oversizedFrameBytes} byte frame is over the ${API_GATEWAY_MAX_FRAME_BYTES} byte limit; closing with ${CLOSE_MESSAGE_TOO_BIG}`,
    );
    if (opened) void connections.close(opened, CLOSE_MESSAGE_TOO_BIG, 'Message too big');
  };
  socket.on('data', watchFrames);

  gateway.wss.handleUpgrade(req, socket, head, (ws) => {
    const conn = connections.accept(ws, { ...connection, headers, authorizer }, gateway.onFrame);
    opened = conn;
    // Defensive: the socket starts flowing on a later tick, so no frame has been read yet; were
    // one read before this callback, an oversized frame would still close the connection.
    if (frames.exceeded) void connections.close(conn, CLOSE_MESSAGE_TOO_BIG, 'Message too big');
  });
};
