/**
 * The local API Gateway of one region: a WebSocket API on 127.0.0.1 that plays API Gateway's
 * WebSocket behaviour with the template's routes, authorizer and stage throttling, plus the
 * `@connections` management API the handlers' real `ApiGatewayManagementApiClient` calls, and the
 * region's `GET /health` (what Route 53 polls).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { API_GATEWAY_MAX_FRAME_BYTES } from '../protocol/index.js';
import type { FaultController } from './fault-controller.js';
import { FrameSizeMonitor } from './frame-limits.js';
import type { LambdaService } from './lambda-service.js';
import type { ApiModel, RouteModel, ThrottleModel } from './template.js';

/** API Gateway's WebSocket idle timeout (10 minutes). */
export const API_GATEWAY_IDLE_TIMEOUT_MS = 10 * 60 * 1000;
/** API Gateway's maximum WebSocket connection duration (2 hours). */
export const API_GATEWAY_MAX_DURATION_MS = 2 * 60 * 60 * 1000;
/**
 * API Gateway's WebSocket message payload limit (128 KiB): a message may span several frames of at
 * most {@link API_GATEWAY_MAX_FRAME_BYTES} each; a larger message closes the connection with 1009.
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

/** Options of {@link RegionGateway}. */
export interface RegionGatewayOptions {
  region: string;
  port: number;
  /** The local API id (stands in for API Gateway's `apiId`). */
  apiId: string;
  api: ApiModel;
  lambda: LambdaService;
  /** Idle timeout. @default API_GATEWAY_IDLE_TIMEOUT_MS */
  idleTimeoutMs?: number;
  /** Maximum connection duration. @default API_GATEWAY_MAX_DURATION_MS */
  maxDurationMs?: number;
  /**
   * How long the gateway waits for an integration (authorizer, `$connect`, a route) before it
   * answers as API Gateway does on a timeout; the invocation runs on. @default API_GATEWAY_INTEGRATION_TIMEOUT_MS
   */
  integrationTimeoutMs?: number;
  /** Injected `@connections` faults (429 throttling, 410 after a drop). */
  faults?: Pick<FaultController, 'connections'>;
  log: (line: string) => void;
}

interface Connection {
  id: string;
  socket: WebSocket;
  connectedAt: number;
  lastActiveAt: number;
  sourceIp: string;
  userAgent: string;
  headers: Record<string, string>;
  authorizer: Record<string, unknown> | undefined;
  idleTimer: NodeJS.Timeout | undefined;
  maxTimer: NodeJS.Timeout;
  closing: boolean;
  /** The close code the gateway sent, for `$disconnect` (the socket may report 1006 after it). */
  closeCode: number | undefined;
}

/** The gateway gave up waiting for an integration (the invocation may still be running). */
class IntegrationTimeoutError extends Error {
  constructor(handler: string, timeoutMs: number) {
    super(`${handler}: the integration timed out after ${timeoutMs} ms`);
    this.name = 'IntegrationTimeoutError';
  }
}

/** A token bucket per route, as API Gateway throttles a stage's routes. */
class TokenBucket {
  private tokens: number;
  private last = Date.now();
  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }
  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** API Gateway-style connection ids: 12 base64 characters ending in `=`. */
const newConnectionId = (): string =>
  `${randomBytes(8).toString('base64').replace(/[+/=]/g, 'A').slice(0, 11)}=`;

const firstHeader = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? value[0] : value;

const json = (
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void => {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
};

const refuseUpgrade = (socket: Duplex, status: number, message: string): void => {
  const body = JSON.stringify({ message });
  const reason =
    {
      401: 'Unauthorized',
      403: 'Forbidden',
      404: 'Not Found',
      429: 'Too Many Requests',
      500: 'Internal Server Error',
      503: 'Service Unavailable',
      504: 'Gateway Timeout',
    }[status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
};

const readBody = (req: IncomingMessage, limit: number): Promise<Buffer | undefined> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > limit ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });

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

/** One region's local API Gateway (WebSocket API + `@connections` + `/health`). */
export class RegionGateway {
  readonly region: string;
  readonly port: number;
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private readonly connections = new Map<string, Connection>();
  private readonly routes = new Map<string, RouteModel>();
  private readonly buckets = new Map<string, TokenBucket | null>();
  private readonly idleTimeoutMs: number;
  private readonly maxDurationMs: number;
  private readonly integrationTimeoutMs: number;
  private outage = false;

  constructor(private readonly options: RegionGatewayOptions) {
    this.region = options.region;
    this.port = options.port;
    this.idleTimeoutMs = options.idleTimeoutMs ?? API_GATEWAY_IDLE_TIMEOUT_MS;
    this.maxDurationMs = options.maxDurationMs ?? API_GATEWAY_MAX_DURATION_MS;
    this.integrationTimeoutMs = options.integrationTimeoutMs ?? API_GATEWAY_INTEGRATION_TIMEOUT_MS;
    for (const route of options.api.routes) this.routes.set(route.routeKey, route);
    // API Gateway takes frames of at most 32 KiB and messages (of one or more frames) of at most
    // 128 KiB, and closes the connection with 1009 for either (the quota page cited at
    // API_GATEWAY_MAX_MESSAGE_BYTES). ws's maxPayload bounds a whole message; the frame limit is
    // read from the frame headers on the socket (see handleUpgrade).
    this.wss = new WebSocketServer({ noServer: true, maxPayload: API_GATEWAY_MAX_MESSAGE_BYTES });
    this.server = createServer((req, res) => {
      this.handleHttp(req, res).catch((error: unknown) => {
        options.log(
          `[${this.region}] gateway error: ${error instanceof Error ? error.stack : String(error)}`,
        );
        if (!res.headersSent) json(res, 500, { message: 'Internal server error' });
      });
    });
    this.server.on('upgrade', (req, socket, head) => {
      // Node's HTTP server stops watching an upgraded socket's errors: a client that resets the
      // connection while the authorizer runs must not become an uncaught exception.
      socket.on('error', () => socket.destroy());
      this.handleUpgrade(req, socket, head).catch((error: unknown) => {
        options.log(
          `[${this.region}] handshake error: ${error instanceof Error ? error.stack : String(error)}`,
        );
        refuseUpgrade(socket, 500, 'Internal server error');
      });
    });
  }

  /** The stage name the callback URL carries. */
  get stage(): string {
    return this.options.api.stageName;
  }

  /** `ws://127.0.0.1:<port>/` */
  get endpoint(): string {
    return `ws://127.0.0.1:${this.port}/`;
  }

  /** The stage's callback URL (what `CONNECTIONS_ENDPOINT` is locally). */
  get callbackUrl(): string {
    return `http://127.0.0.1:${this.port}/${this.stage}`;
  }

  /** Number of open connections. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Starts listening on 127.0.0.1. */
  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  /** Whether the region is in a simulated outage. */
  get inOutage(): boolean {
    return this.outage;
  }

  /**
   * Starts or ends a simulated outage. Starting closes every connection with 1001 (going away);
   * during the outage the handshake and `/health` answer 503.
   */
  async setOutage(outage: boolean): Promise<void> {
    this.outage = outage;
    if (outage) {
      await Promise.all(
        [...this.connections.values()].map((c) => this.closeConnection(c, CLOSE_GOING_AWAY, 'Going away')),
      );
    }
  }

  /**
   * Drops connections the way a network failure does: the socket ends without a close frame (the
   * client sees 1006) and `$disconnect` runs. `pick` chooses which of the open connections go.
   * Resolves with the number dropped.
   */
  dropConnections(pick: (open: number) => number[]): number {
    const open = [...this.connections.values()].filter((c) => !c.closing);
    const chosen = pick(open.length);
    for (const index of chosen) {
      const conn = open[index];
      if (conn) this.dropConnection(conn);
    }
    return chosen.length;
  }

  private dropConnection(conn: Connection): void {
    if (conn.closing) return;
    conn.closing = true;
    conn.closeCode ??= 1006;
    conn.socket.terminate();
  }

  /** Closes every connection and the server. */
  async close(): Promise<void> {
    await Promise.all(
      [...this.connections.values()].map((c) => this.closeConnection(c, CLOSE_GOING_AWAY, 'Going away')),
    );
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private baseContext(
    connection: Pick<Connection, 'id' | 'connectedAt' | 'sourceIp' | 'userAgent'>,
    routeKey: string,
    eventType: string,
  ) {
    const now = Date.now();
    return {
      routeKey,
      eventType,
      extendedRequestId: randomUUID(),
      requestTime: new Date(now).toUTCString(),
      messageDirection: 'IN',
      stage: this.stage,
      connectedAt: connection.connectedAt,
      requestTimeEpoch: now,
      identity: { sourceIp: connection.sourceIp, userAgent: connection.userAgent },
      requestId: randomUUID(),
      domainName: `127.0.0.1:${this.port}`,
      connectionId: connection.id,
      apiId: this.options.apiId,
    };
  }

  private handlerOf(route: RouteModel): string {
    const fn = this.options.lambda.functionOf(route.functionLogicalId);
    if (!fn) throw new Error(`route ${route.routeKey}: no function ${route.functionLogicalId}`);
    return fn.handler;
  }

  /**
   * Invokes a handler as API Gateway invokes an integration: rejects with
   * {@link IntegrationTimeoutError} after the integration timeout. API Gateway does not stop the
   * Lambda invocation, and neither does the gateway: it runs on, and its outcome is dropped.
   */
  private async integrate(handler: string, event: unknown): Promise<unknown> {
    const invocation = this.options.lambda.invoke(handler, event);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.options.log(
          `[${this.region}] ${handler}: no answer within the ${this.integrationTimeoutMs} ms integration timeout; the invocation runs on`,
        );
        reject(new IntegrationTimeoutError(handler, this.integrationTimeoutMs));
      }, this.integrationTimeoutMs);
    });
    try {
      // Promise.race subscribes to the invocation, so its late failure is no unhandled rejection.
      return await Promise.race([invocation, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private bucketFor(routeKey: string): TokenBucket | null {
    let bucket = this.buckets.get(routeKey);
    if (bucket === undefined) {
      const route: ThrottleModel | undefined = this.options.api.routeThrottles[routeKey];
      const rate = route?.rateLimit ?? this.options.api.defaultThrottle.rateLimit;
      const burst = route?.burstLimit ?? this.options.api.defaultThrottle.burstLimit;
      bucket =
        rate !== undefined || burst !== undefined
          ? new TokenBucket(rate ?? Number.POSITIVE_INFINITY, Math.max(1, burst ?? rate ?? 1))
          : null;
      this.buckets.set(routeKey, bucket);
    }
    return bucket;
  }

  private async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (this.outage) return refuseUpgrade(socket, 503, 'Service Unavailable');
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${this.port}`);
    const path = url.pathname.replace(/\/+$/, '');
    if (path !== '' && path !== `/${this.stage}`) return refuseUpgrade(socket, 404, 'Not Found');
    const connectRoute = this.routes.get('$connect');
    if (this.bucketFor('$connect')?.take() === false) return refuseUpgrade(socket, 429, 'Too Many Requests');

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
    const authorizerModel = connectRoute?.authorizer;
    if (authorizerModel) {
      // API Gateway answers 401 without calling the authorizer when an identity source is missing.
      for (const source of authorizerModel.identitySource) {
        const query = /^route\.request\.querystring\.(.+)$/.exec(source);
        const header = /^route\.request\.header\.(.+)$/.exec(source);
        const value = query?.[1]
          ? url.searchParams.get(query[1])
          : header?.[1]
            ? firstHeader(req.headers[header[1].toLowerCase()])
            : 'x';
        if (!value) return refuseUpgrade(socket, 401, 'Unauthorized');
      }
      const fn = this.options.lambda.functionOf(authorizerModel.functionLogicalId);
      if (!fn) throw new Error(`authorizer function ${authorizerModel.functionLogicalId} is not running`);
      const context = this.baseContext(connection, '$connect', 'CONNECT');
      const event = {
        type: 'REQUEST',
        methodArn: `arn:aws:execute-api:${this.region}:000000000000:${this.options.apiId}/${this.stage}/$connect`,
        ...requestFields,
        stageVariables: {},
        requestContext: context,
      };
      let result: unknown;
      try {
        result = await this.integrate(fn.handler, event);
      } catch (error) {
        // A Lambda authorizer that fails with "Unauthorized" means 401; any other failure is a 500
        // (a timeout or a throttled authorizer included: believed, as API Gateway's authorizer
        // failures are 500s).
        const message = error instanceof Error ? error.message : String(error);
        return refuseUpgrade(
          socket,
          /: Unauthorized$/.test(message) ? 401 : 500,
          /: Unauthorized$/.test(message) ? 'Unauthorized' : 'Internal server error',
        );
      }
      const policy = result as {
        principalId?: unknown;
        policyDocument?: { Statement?: { Effect?: string }[] };
        context?: Record<string, unknown>;
      } | null;
      const statements = policy?.policyDocument?.Statement ?? [];
      const allowed = statements.length > 0 && statements.every((s) => s.Effect === 'Allow');
      if (!allowed) return refuseUpgrade(socket, 403, 'Forbidden');
      authorizer = { ...(policy?.context ?? {}), principalId: policy?.principalId, integrationLatency: 0 };
    }

    if (connectRoute) {
      const event = {
        ...requestFields,
        requestContext: {
          ...this.baseContext(connection, '$connect', 'CONNECT'),
          ...(authorizer ? { authorizer } : {}),
        },
      };
      let status = 200;
      let timedOut = false;
      try {
        const result = (await this.integrate(this.handlerOf(connectRoute), event)) as {
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
    if (this.outage || socket.destroyed || !socket.writable) {
      // $connect stored a connection that never opens: $disconnect removes it now rather than at its TTL.
      if (connectRoute)
        void this.invokeDisconnect(
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
      this.options.log(
        `[${this.region}] ${connection.id}: a ${frames.oversizedFrameBytes} byte frame is over the ${API_GATEWAY_MAX_FRAME_BYTES} byte limit; closing with ${CLOSE_MESSAGE_TOO_BIG}`,
      );
      if (opened) void this.closeConnection(opened, CLOSE_MESSAGE_TOO_BIG, 'Message too big');
    };
    socket.on('data', watchFrames);

    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const conn: Connection = {
        ...connection,
        socket: ws,
        lastActiveAt: Date.now(),
        headers,
        authorizer,
        idleTimer: undefined,
        maxTimer: setTimeout(
          () => void this.closeConnection(conn, CLOSE_GOING_AWAY, 'Going away'),
          this.maxDurationMs,
        ),
        closing: false,
        closeCode: undefined,
      };
      this.connections.set(conn.id, conn);
      opened = conn;
      this.touch(conn);
      ws.on('message', (data: RawData, isBinary: boolean) => {
        // Closing (an oversized frame among them, which ws still reads in full): not routed.
        if (conn.closing) return;
        this.touch(conn);
        void this.handleFrame(
          conn,
          Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer),
          isBinary,
        );
      });
      ws.on('close', (code: number, reason: Buffer) => void this.onClosed(conn, code, reason.toString()));
      // ws closes with 1009 itself when a message exceeds maxPayload; remember it for $disconnect.
      ws.on('error', (error: Error & { code?: string }) => {
        if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') conn.closeCode ??= CLOSE_MESSAGE_TOO_BIG;
      });
      // Defensive: the socket starts flowing on a later tick, so no frame has been read yet; were
      // one read before this callback, an oversized frame would still close the connection.
      if (frames.exceeded) void this.closeConnection(conn, CLOSE_MESSAGE_TOO_BIG, 'Message too big');
    });
  }

  private touch(conn: Connection): void {
    conn.lastActiveAt = Date.now();
    if (conn.idleTimer) clearTimeout(conn.idleTimer);
    conn.idleTimer = setTimeout(
      () => void this.closeConnection(conn, CLOSE_GOING_AWAY, 'Going away'),
      this.idleTimeoutMs,
    );
  }

  private async handleFrame(conn: Connection, data: Buffer, isBinary: boolean): Promise<void> {
    if (conn.closing) return;
    const body = isBinary ? data.toString('base64') : data.toString('utf8');
    let routeKey = '$default';
    if (!isBinary) {
      try {
        const selected = selectRouteValue(this.options.api.routeSelectionExpression, JSON.parse(body));
        if (typeof selected === 'string' && this.routes.has(selected)) routeKey = selected;
      } catch {
        // Not JSON: API Gateway falls back to $default.
      }
    }
    const route = this.routes.get(routeKey);
    const context = {
      ...this.baseContext(conn, routeKey, 'MESSAGE'),
      messageId: randomBytes(8).toString('base64').replace(/[+/=]/g, 'A'),
      ...(conn.authorizer ? { authorizer: conn.authorizer } : {}),
    };
    const reply = (message: string): void => {
      this.send(conn, JSON.stringify({ message, connectionId: conn.id, requestId: context.requestId }));
    };
    if (!route) return reply('Forbidden');
    if (this.bucketFor(routeKey)?.take() === false) return reply('Too Many Requests');
    try {
      const result = (await this.integrate(this.handlerOf(route), {
        requestContext: context,
        body,
        isBase64Encoded: isBinary,
      })) as { body?: unknown } | null;
      if (route.twoWay && result && typeof result.body === 'string' && result.body.length > 0)
        this.send(conn, result.body);
    } catch (error) {
      if (error instanceof IntegrationTimeoutError) return reply(INTEGRATION_TIMEOUT_MESSAGE);
      // A failed invocation, a throttled one (TooManyRequestsException) included: API Gateway
      // answers a throttled Lambda integration with "Internal server error" as any other failure
      // (https://repost.aws/knowledge-center/api-gateway-internal-server-error, "Throttling issues").
      this.options.log(
        `[${this.region}] ${routeKey} failed: ${error instanceof Error ? error.message : String(error)}`,
      );
      reply('Internal server error');
    }
  }

  private send(conn: Connection, text: string): boolean {
    if (conn.closing || conn.socket.readyState !== WebSocket.OPEN) return false;
    conn.socket.send(text);
    this.touch(conn);
    return true;
  }

  private async closeConnection(conn: Connection, code: number, reason: string): Promise<void> {
    if (conn.closing) return;
    conn.closing = true;
    conn.closeCode ??= code;
    const closed = new Promise<void>((resolve) => conn.socket.once('close', () => resolve()));
    conn.socket.close(code, reason);
    const timer = setTimeout(() => conn.socket.terminate(), 2_000);
    await closed;
    clearTimeout(timer);
  }

  private async onClosed(conn: Connection, code: number, reason: string): Promise<void> {
    conn.closing = true;
    if (conn.idleTimer) clearTimeout(conn.idleTimer);
    clearTimeout(conn.maxTimer);
    this.connections.delete(conn.id);
    await this.invokeDisconnect(conn, code, reason);
  }

  private async invokeDisconnect(
    conn: Pick<
      Connection,
      'id' | 'connectedAt' | 'sourceIp' | 'userAgent' | 'headers' | 'authorizer' | 'closeCode'
    >,
    code: number,
    reason: string,
  ): Promise<void> {
    const route = this.routes.get('$disconnect');
    if (!route) return;
    try {
      // Not bounded by the integration timeout: nobody waits for $disconnect's answer.
      await this.options.lambda.invoke(this.handlerOf(route), {
        headers: conn.headers,
        multiValueHeaders: Object.fromEntries(Object.entries(conn.headers).map(([k, v]) => [k, [v]])),
        requestContext: {
          ...this.baseContext(conn, '$disconnect', 'DISCONNECT'),
          disconnectStatusCode: conn.closeCode ?? code,
          disconnectReason: reason,
          ...(conn.authorizer ? { authorizer: conn.authorizer } : {}),
        },
        isBase64Encoded: false,
      });
    } catch (error) {
      this.options.log(
        `[${this.region}] $disconnect failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  private async handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${this.port}`);
    if (url.pathname === '/health') return this.handleHealth(req, res);
    const match = new RegExp(`^(?:/${this.stage})?/@connections/([^/]+)$`).exec(url.pathname);
    if (match?.[1]) return this.handleConnections(req, res, decodeURIComponent(match[1]));
    json(res, 404, { message: 'Not Found' });
  }

  private async handleHealth(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.outage) return json(res, 503, { status: 'unhealthy', region: this.region, reason: 'outage' });
    if (!this.options.lambda.functionOf('health'))
      return json(res, 200, { status: 'healthy', region: this.region });
    const now = Date.now();
    const event = {
      version: '2.0',
      routeKey: 'GET /health',
      rawPath: '/health',
      rawQueryString: '',
      headers: Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]),
      ),
      requestContext: {
        accountId: '000000000000',
        apiId: `${this.options.apiId}-http`,
        domainName: `127.0.0.1:${this.port}`,
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
    try {
      const result = (await this.options.lambda.invoke('health', event)) as {
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
  }

  private async handleConnections(
    req: IncomingMessage,
    res: ServerResponse,
    connectionId: string,
  ): Promise<void> {
    const gone = (): void =>
      json(
        res,
        410,
        { message: `Connection ${connectionId} is gone` },
        { 'x-amzn-ErrorType': 'GoneException' },
      );
    const conn = this.connections.get(connectionId);
    switch (req.method) {
      case 'POST': {
        const body = await readBody(req, POST_TO_CONNECTION_MAX_BYTES);
        if (body === undefined) {
          return json(
            res,
            413,
            { message: 'Message too long' },
            { 'x-amzn-ErrorType': 'PayloadTooLargeException' },
          );
        }
        const fault = conn && !this.outage ? this.options.faults?.connections(this.region) : undefined;
        if (fault === 'throttle') {
          return json(
            res,
            429,
            { message: 'Too Many Requests' },
            { 'x-amzn-ErrorType': 'LimitExceededException' },
          );
        }
        // An injected 410 is made true first: the connection drops, then the post finds it gone.
        if (fault === 'gone' && conn) this.dropConnection(conn);
        if (!conn || this.outage || fault === 'gone' || !this.send(conn, body.toString('utf8')))
          return gone();
        res.writeHead(200, { 'content-length': 0 });
        res.end();
        return;
      }
      case 'GET': {
        if (!conn || conn.closing) return gone();
        return json(res, 200, {
          connectedAt: new Date(conn.connectedAt).toISOString(),
          identity: { sourceIp: conn.sourceIp, userAgent: conn.userAgent },
          lastActiveAt: new Date(conn.lastActiveAt).toISOString(),
        });
      }
      case 'DELETE': {
        if (!conn || conn.closing) return gone();
        res.writeHead(204);
        res.end();
        await this.closeConnection(conn, 1000, '');
        return;
      }
      default:
        json(res, 405, { message: 'Method Not Allowed' });
    }
  }
}
