/**
 * The local API Gateway of one region: a WebSocket API on 127.0.0.1 that plays API Gateway's
 * WebSocket behaviour with the template's routes, authorizer and stage throttling, plus the
 * `@connections` management API the handlers' real `ApiGatewayManagementApiClient` calls, and the
 * region's `GET /health` (what Route 53 polls). This file puts the parts together on one HTTP
 * server: the handshake (`ws-handshake.ts`, `ws-authorizer.ts`), the open connections
 * (`ws-connections.ts`), routing frames (`ws-routes.ts`), `@connections` (`connections-api.ts`),
 * `/health` (`health-route.ts`), throttling (`token-bucket.ts`), the integrations
 * (`gateway-integration.ts`) and API Gateway's quotas (`gateway-quotas.ts`, `frame-limits.ts`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { WebSocketServer } from 'ws';
import { handleConnections, type ManagementGateway } from './connections-api.js';
import type { ConnectionsMeter } from './connections-meter.js';
import type { FaultController } from './fault-controller.js';
import { json, refuseUpgrade } from './gateway-http.js';
import { Integrations } from './gateway-integration.js';
import {
  API_GATEWAY_IDLE_TIMEOUT_MS,
  API_GATEWAY_INTEGRATION_TIMEOUT_MS,
  API_GATEWAY_MAX_DURATION_MS,
  API_GATEWAY_MAX_MESSAGE_BYTES,
  CLOSE_GOING_AWAY,
} from './gateway-quotas.js';
import { type HealthGateway, handleHealth } from './health-route.js';
import type { LambdaService } from './lambda-service.js';
import { OriginPolicy } from './request-guards.js';
import type { ApiModel, RouteModel } from './template.js';
import { StageThrottle } from './token-bucket.js';
import { ConnectionTable } from './ws-connections.js';
import { type HandshakeGateway, handleUpgrade } from './ws-handshake.js';
import { type FrameRouting, routeFrame } from './ws-routes.js';

export {
  API_GATEWAY_IDLE_TIMEOUT_MS,
  API_GATEWAY_INTEGRATION_TIMEOUT_MS,
  API_GATEWAY_MAX_DURATION_MS,
  API_GATEWAY_MAX_MESSAGE_BYTES,
  CLOSE_GOING_AWAY,
  CLOSE_MESSAGE_TOO_BIG,
  INTEGRATION_TIMEOUT_MESSAGE,
  POST_TO_CONNECTION_MAX_BYTES,
} from './gateway-quotas.js';

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
  /**
   * The browser origins that may open a WebSocket (a local-stack rule, not API Gateway's, which
   * checks no `Origin`); a handshake with no `Origin` is always let through. Normalized
   * (`normalizeOrigin`). @default none: every handshake that carries an `Origin` is refused
   */
  allowedOrigins?: readonly string[];
  /** Injected `@connections` faults (429 throttling, 410 after a drop). */
  faults?: Pick<FaultController, 'connections'>;
  /** Counts the `@connections` calls made of this gateway. @default not counted */
  connectionsMeter?: Pick<ConnectionsMeter, 'record'>;
  log: (line: string) => void;
}

/** One region's local API Gateway (WebSocket API + `@connections` + `/health`). */
export class RegionGateway {
  readonly region: string;
  readonly port: number;
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private readonly connections: ConnectionTable;
  private readonly routes = new Map<string, RouteModel>();
  private readonly throttle: StageThrottle;
  private readonly integrations: Integrations;
  /** What `/health` and `@connections` read of the gateway. */
  private readonly http: HealthGateway & ManagementGateway;
  private outage = false;

  constructor(private readonly options: RegionGatewayOptions) {
    this.region = options.region;
    this.port = options.port;
    for (const route of options.api.routes) this.routes.set(route.routeKey, route);
    this.throttle = new StageThrottle(options.api);
    this.integrations = new Integrations({
      region: options.region,
      port: options.port,
      apiId: options.apiId,
      stage: options.api.stageName,
      lambda: options.lambda,
      timeoutMs: options.integrationTimeoutMs ?? API_GATEWAY_INTEGRATION_TIMEOUT_MS,
      log: options.log,
    });
    this.connections = new ConnectionTable({
      region: options.region,
      idleTimeoutMs: options.idleTimeoutMs ?? API_GATEWAY_IDLE_TIMEOUT_MS,
      maxDurationMs: options.maxDurationMs ?? API_GATEWAY_MAX_DURATION_MS,
      integrations: this.integrations,
      disconnectRoute: this.routes.get('$disconnect'),
      log: options.log,
    });
    // API Gateway takes frames of at most 32 KiB and messages (of one or more frames) of at most
    // 128 KiB, and closes the connection with 1009 for either (the quota page cited at
    // API_GATEWAY_MAX_MESSAGE_BYTES). ws's maxPayload bounds a whole message; the frame limit is
    // read from the frame headers on the socket (see ws-handshake.ts).
    this.wss = new WebSocketServer({ noServer: true, maxPayload: API_GATEWAY_MAX_MESSAGE_BYTES });
    this.server = createServer((req, res) => {
      this.handleHttp(req, res).catch((error: unknown) => {
        options.log(
          `[${this.region}] gateway error: ${error instanceof Error ? error.stack : String(error)}`,
        );
        if (!res.headersSent) json(res, 500, { message: 'Internal server error' });
      });
    });
    const routing: FrameRouting = {
      region: this.region,
      api: options.api,
      routes: this.routes,
      throttle: this.throttle,
      integrations: this.integrations,
      connections: this.connections,
      log: options.log,
    };
    const handshake: HandshakeGateway = {
      ...routing,
      port: this.port,
      stage: this.stage,
      inOutage: () => this.outage,
      origins: new OriginPolicy(options.allowedOrigins ?? []),
      wss: this.wss,
      onFrame: (conn, data, isBinary) => void routeFrame(routing, conn, data, isBinary),
    };
    this.http = {
      region: this.region,
      port: this.port,
      apiId: options.apiId,
      inOutage: () => this.outage,
      lambda: options.lambda,
      connections: this.connections,
      faults: options.faults,
      meter: options.connectionsMeter,
    };
    this.server.on('upgrade', (req, socket, head) => {
      // Node's HTTP server stops watching an upgraded socket's errors: a client that resets the
      // connection while the authorizer runs must not become an uncaught exception.
      socket.on('error', () => socket.destroy());
      handleUpgrade(handshake, req, socket, head).catch((error: unknown) => {
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
    if (outage) await this.connections.closeAll(CLOSE_GOING_AWAY, 'Going away');
  }

  /**
   * Drops connections the way a network failure does: the socket ends without a close frame (the
   * client sees 1006) and `$disconnect` runs. `pick` chooses which of the open connections go.
   * Resolves with the number dropped.
   */
  dropConnections(pick: (open: number) => number[]): number {
    const open = this.connections.list().filter((c) => !c.closing);
    const chosen = pick(open.length);
    for (const index of chosen) {
      const conn = open[index];
      if (conn) this.connections.drop(conn);
    }
    return chosen.length;
  }

  /** Closes every connection and the server. */
  async close(): Promise<void> {
    await this.connections.closeAll(CLOSE_GOING_AWAY, 'Going away');
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${this.port}`);
    if (url.pathname === '/health') return handleHealth(this.http, req, res);
    const match = new RegExp(`^(?:/${this.stage})?/@connections/([^/]+)$`).exec(url.pathname);
    if (match?.[1]) return handleConnections(this.http, req, res, decodeURIComponent(match[1]));
    json(res, 404, { message: 'Not Found' });
  }
}
