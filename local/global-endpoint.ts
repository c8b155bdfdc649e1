/**
 * The global endpoint: plays the Route 53 record in front of the regions. It polls each region's
 * `/health` like a Route 53 health check (interval, failure threshold) and proxies each new
 * WebSocket connection, path and query included, to the primary while it is healthy (failover
 * routing) or to the first healthy region. It also serves the web chat page, the outage control
 * and a local token endpoint (`/_local/...`, local-stack extensions).
 */
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { refuseUpgrade } from './gateway-http.js';
import type { RegionsDocument } from './regions-document.js';
import { localRequestRefusal, OriginPolicy, pageOrigins } from './request-guards.js';

/** A region as the global endpoint sees it. */
export interface GlobalRegion {
  name: string;
  port: number;
}

/** What the outage control calls and what `/_local/regions` reports. */
export interface RegionControl {
  setOutage(region: string, outage: boolean): Promise<void>;
  inOutage(region: string): boolean;
  replicationLagMs(region: string): number;
  issueToken(user: string): Promise<string>;
  /** Runs a region's DLQ redrive handler with `input` (e.g. `{ kind: 'stream' }`). */
  redrive(region: string, input: unknown): Promise<unknown>;
  /** Fault injection (`/_local/faults`); absent, the endpoint answers 404. */
  faults?: {
    /** Validates and applies a `POST /_local/faults` body; throws on a bad one. */
    inject(request: never): Promise<unknown>;
    clear(): void;
    current(): unknown;
  };
}

/** Options of {@link GlobalEndpoint}. */
export interface GlobalEndpointOptions {
  port: number;
  /** Regions in order; the first is the primary. */
  regions: GlobalRegion[];
  routing: 'failover' | 'latency';
  /** Health check interval (Route 53: 30 s or 10 s). @default 1000 */
  healthIntervalMs?: number;
  /** Consecutive failures (or successes) that flip a region's health (Route 53: 3). @default 2 */
  failureThreshold?: number;
  control: RegionControl;
  /**
   * Browser origins, besides the page's own (`http://127.0.0.1:<port>`, `http://localhost:<port>`),
   * that may open a WebSocket; normalized (`normalizeOrigin`). @default none
   */
  allowOrigins?: readonly string[];
  /** Repository root, to find the web page's assets. */
  root: string;
  log: (line: string) => void;
}

interface Health {
  healthy: boolean;
  failures: number;
  successes: number;
}

type Asset = { contentType: string; body: string | Uint8Array };

const PLACEHOLDER_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Parley (local)</title></head>
<body><h1>Parley local stack</h1>
<p>The web chat page is not built yet. Regions and their state: <a href="/_local/regions">/_local/regions</a>.</p>
</body></html>
`;

const json = (res: ServerResponse, status: number, body: unknown): void => {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
};

/** The global endpoint server. */
export class GlobalEndpoint {
  private readonly server: Server;
  private readonly health = new Map<string, Health>();
  private timer: NodeJS.Timeout | undefined;
  private assets: Promise<Record<string, Asset>> | undefined;
  private readonly sockets = new Set<Duplex>();
  private checking = false;
  private readonly origins: OriginPolicy;

  constructor(private readonly options: GlobalEndpointOptions) {
    this.origins = new OriginPolicy([...pageOrigins(options.port), ...(options.allowOrigins ?? [])]);
    for (const region of options.regions)
      this.health.set(region.name, { healthy: true, failures: 0, successes: 0 });
    this.server = createServer((req, res) => {
      this.handleHttp(req, res).catch((error: unknown) => {
        options.log(`[global] ${error instanceof Error ? error.stack : String(error)}`);
        if (!res.headersSent) json(res, 500, { message: 'Internal server error' });
      });
    });
    this.server.on('upgrade', (req, socket, head) => this.proxyUpgrade(req, socket, head));
  }

  /** `ws://127.0.0.1:<port>/` */
  get endpoint(): string {
    return `ws://127.0.0.1:${this.options.port}/`;
  }

  /** Starts listening and health checking. */
  async listen(): Promise<void> {
    await this.checkAll();
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.timer = setInterval(() => void this.checkAll(), this.options.healthIntervalMs ?? 1_000);
  }

  /** Stops health checks, proxied connections and the server. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const socket of this.sockets) socket.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Whether the health checks currently consider `region` healthy. */
  isHealthy(region: string): boolean {
    return this.health.get(region)?.healthy ?? false;
  }

  private async checkAll(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    const threshold = this.options.failureThreshold ?? 2;
    try {
      await Promise.all(
        this.options.regions.map(async (region) => {
          const state = this.health.get(region.name) as Health;
          let ok = false;
          try {
            const response = await fetch(`http://127.0.0.1:${region.port}/health`, {
              signal: AbortSignal.timeout(2_000),
            });
            ok = response.status >= 200 && response.status < 300;
            await response.arrayBuffer();
          } catch {
            ok = false;
          }
          if (ok) {
            state.failures = 0;
            state.successes++;
            if (!state.healthy && state.successes >= threshold) state.healthy = true;
          } else {
            state.successes = 0;
            state.failures++;
            if (state.healthy && state.failures >= threshold) state.healthy = false;
          }
        }),
      );
    } finally {
      this.checking = false;
    }
  }

  /**
   * The region a new connection goes to: the primary while healthy, else the first healthy one
   * (failover and, locally, latency routing alike). With every region unhealthy Route 53 answers
   * as if all were healthy, so the primary.
   */
  route(): GlobalRegion {
    const healthy = this.options.regions.find((region) => this.isHealthy(region.name));
    return healthy ?? (this.options.regions[0] as GlobalRegion);
  }

  private proxyUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Refused here, before any region sees the handshake (each region checks it again too).
    const refused = this.origins.refusal(req.headers.origin);
    if (refused !== undefined) {
      socket.on('error', () => socket.destroy());
      this.options.log(`[global] handshake refused: ${refused}`);
      refuseUpgrade(socket, 403, refused);
      return;
    }
    const target = this.route();
    const upstream = connect(target.port, '127.0.0.1');
    this.sockets.add(socket);
    this.sockets.add(upstream);
    const cleanup = (): void => {
      socket.destroy();
      upstream.destroy();
      this.sockets.delete(socket);
      this.sockets.delete(upstream);
    };
    socket.on('error', cleanup);
    upstream.on('error', cleanup);
    socket.on('close', cleanup);
    upstream.on('close', cleanup);
    upstream.on('connect', () => {
      // Replays the handshake as received (path, query with the token, headers) to the region.
      const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
      for (let i = 0; i < req.rawHeaders.length; i += 2)
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      lines.push(`X-Forwarded-For: ${req.socket.remoteAddress ?? '127.0.0.1'}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
  }

  private loadAssets(): Promise<Record<string, Asset>> {
    this.assets ??= (async () => {
      const file = join(this.options.root, 'web', 'assets.ts');
      if (!existsSync(file))
        return { '/': { contentType: 'text/html; charset=utf-8', body: PLACEHOLDER_PAGE } };
      const module = (await import(pathToFileURL(file).href)) as {
        buildWebAssets?: () => Promise<Record<string, Asset>>;
      };
      if (typeof module.buildWebAssets !== 'function') {
        return { '/': { contentType: 'text/html; charset=utf-8', body: PLACEHOLDER_PAGE } };
      }
      return module.buildWebAssets();
    })().catch((error: unknown) => {
      this.options.log(`[global] web page: ${error instanceof Error ? error.message : String(error)}`);
      this.assets = undefined;
      return { '/': { contentType: 'text/html; charset=utf-8', body: PLACEHOLDER_PAGE } };
    });
    return this.assets;
  }

  /** Prepares the web page's assets ahead of the first request. */
  preloadAssets(): Promise<unknown> {
    return this.loadAssets();
  }

  private regionsDocument(): RegionsDocument {
    // The endpoint always has a region: route() reads the first one too.
    const primary = (this.options.regions[0] as GlobalRegion).name;
    return {
      routing: this.options.routing,
      primary,
      globalEndpoint: this.endpoint,
      routedTo: this.route().name,
      regions: this.options.regions.map((region) => ({
        name: region.name,
        primary: region.name === primary,
        endpoint: `ws://127.0.0.1:${region.port}/`,
        health: `http://127.0.0.1:${region.port}/health`,
        state: this.options.control.inOutage(region.name) ? 'outage' : 'healthy',
        healthCheck: this.isHealthy(region.name) ? 'healthy' : 'unhealthy',
        replicationLagMs: this.options.control.replicationLagMs(region.name),
      })),
    };
  }

  private async handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${this.options.port}`);
    const path = url.pathname;
    // Every control and the token endpoint: no rebound host name, no form of another site.
    if (path === '/_local' || path.startsWith('/_local/')) {
      const refused = localRequestRefusal(req.method ?? 'GET', req.headers);
      if (refused !== undefined) {
        this.options.log(`[global] ${req.method} ${path} refused: ${refused}`);
        return json(res, 403, { message: refused });
      }
    }
    if (path === '/_local/regions' && req.method === 'GET') return json(res, 200, this.regionsDocument());
    const outage = /^\/_local\/regions\/([^/]+)\/outage$/.exec(path);
    if (outage?.[1]) {
      const region = decodeURIComponent(outage[1]);
      if (!this.options.regions.some((r) => r.name === region))
        return json(res, 404, { message: `unknown region ${region}` });
      if (req.method !== 'POST' && req.method !== 'DELETE')
        return json(res, 405, { message: 'use POST or DELETE' });
      await this.options.control.setOutage(region, req.method === 'POST');
      return json(
        res,
        200,
        this.regionsDocument().regions.find((r) => r.name === region),
      );
    }
    const redrive = /^\/_local\/regions\/([^/]+)\/redrive$/.exec(path);
    if (redrive?.[1] && req.method === 'POST') {
      const region = decodeURIComponent(redrive[1]);
      if (!this.options.regions.some((r) => r.name === region))
        return json(res, 404, { message: `unknown region ${region}` });
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString('utf8').trim();
      let input: unknown = {};
      try {
        input = text === '' ? {} : JSON.parse(text);
      } catch {
        return json(res, 400, { message: 'the body must be JSON, e.g. {"kind":"stream"}' });
      }
      try {
        return json(res, 200, await this.options.control.redrive(region, input));
      } catch (error) {
        return json(res, 500, { message: error instanceof Error ? error.message : String(error) });
      }
    }
    if (path === '/_local/faults' && this.options.control.faults) {
      const faults = this.options.control.faults;
      if (req.method === 'GET') return json(res, 200, faults.current());
      if (req.method === 'DELETE') {
        faults.clear();
        return json(res, 200, faults.current());
      }
      if (req.method !== 'POST') return json(res, 405, { message: 'use GET, POST or DELETE' });
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      let input: unknown;
      try {
        input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      } catch {
        return json(res, 400, { message: 'the body must be JSON' });
      }
      try {
        return json(res, 200, await faults.inject(input as never));
      } catch (error) {
        return json(res, 400, { message: error instanceof Error ? error.message : String(error) });
      }
    }
    if (path === '/_local/token' && req.method === 'GET') {
      const user = url.searchParams.get('user') ?? '';
      if (user.length < 1 || user.length > 128)
        return json(res, 400, { message: 'user must be 1-128 characters' });
      return json(res, 200, { token: await this.options.control.issueToken(user) });
    }
    if (req.method === 'GET' || req.method === 'HEAD') {
      const assets = await this.loadAssets();
      const asset = assets[path] ?? (path.endsWith('/') ? assets[`${path}index.html`] : undefined);
      if (asset) {
        const body = typeof asset.body === 'string' ? Buffer.from(asset.body) : Buffer.from(asset.body);
        res.writeHead(200, {
          'content-type': asset.contentType,
          'content-length': body.length,
          'cache-control': 'no-cache',
        });
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
    }
    json(res, 404, { message: 'Not Found' });
  }
}
