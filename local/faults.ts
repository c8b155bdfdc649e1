/**
 * Fault injection for the local stack: the faults are real failures of real calls, never flags
 * inside the handlers. DynamoDB errors and throttling come from an HTTP proxy that stands between
 * the handlers and DynamoDB Local; `@connections` 429s and 410s from the local API Gateway;
 * handler crashes from the local Lambda service; replication lag and pauses from the replicator;
 * connection drops from the gateways closing sockets without a close frame.
 */
import { randomUUID } from 'node:crypto';
import {
  Agent,
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import { z } from 'zod';

const rate = z.number().min(0).max(1);
const regionList = z.array(z.string().min(1)).min(1).optional();

/** DynamoDB faults: a fraction of the handlers' data-plane calls fail before reaching the table. */
export const dynamoDbFaultSchema = z
  .object({
    /** Fraction answered `400 ProvisionedThroughputExceededException`. */
    throttle: rate.default(0),
    /** Fraction answered `500 InternalServerError`. */
    error: rate.default(0),
    /** Only these regions' handlers (default: every region). */
    regions: regionList,
  })
  .strict();

/** `@connections` faults: a fraction of `POST /@connections/{id}` answered 429, or 410 after a drop. */
export const connectionsFaultSchema = z
  .object({
    /** Fraction answered `429 LimitExceededException`. */
    throttle: rate.default(0),
    /**
     * Fraction answered `410 GoneException`. The connection is dropped first, so the 410 is true
     * (API Gateway only says 410 for a connection that is gone).
     */
    gone: rate.default(0),
    regions: regionList,
  })
  .strict();

/** Handler crashes: a fraction of invocations fail as if the function crashed. */
export const crashFaultSchema = z
  .object({
    rate: rate.default(0),
    /** Only these handlers (default: every handler except `health`, `authorizer` and `redrive`). */
    handlers: z.array(z.string().min(1)).min(1).optional(),
    regions: regionList,
    /**
     * `before`: the handler never runs; `after`: it runs to completion and its result is lost
     * (the caller sees a failure for work that was done); `either`: half and half.
     */
    phase: z.enum(['before', 'after', 'either']).default('either'),
  })
  .strict();

/** Replication faults. */
export const replicationFaultSchema = z
  .object({
    /** Extra delay of every (source, target) link (ms). */
    lagMs: z.number().int().min(0).max(600_000).default(0),
    /** Per-link delay (ms), keyed `"<source>><target>"`, e.g. `"us-east-1>eu-west-1"`. */
    links: z.record(z.string().regex(/^[^>]+>[^>]+$/), z.number().int().min(0).max(600_000)).default({}),
    /** Hold every link (writes queue up and are applied, in order, when the pause ends). */
    paused: z.boolean().default(false),
  })
  .strict();

/** The standing faults of a stack (`GET /_local/faults`). */
export const faultSettingsSchema = z
  .object({
    dynamodb: dynamoDbFaultSchema.optional(),
    connections: connectionsFaultSchema.optional(),
    crash: crashFaultSchema.optional(),
    replication: replicationFaultSchema.optional(),
  })
  .strict();

/** A one-shot drop of connections. */
export const dropRequestSchema = z
  .object({
    /** The region whose connections to drop (default: every region). */
    region: z.string().min(1).optional(),
    /** Fraction of the open connections to drop. */
    fraction: rate.optional(),
    /** Number of connections to drop (at random). */
    count: z.number().int().min(0).optional(),
  })
  .strict();

/** The body of `POST /_local/faults`: standing faults to set (merged by kind) and an optional drop. */
export const faultRequestSchema = faultSettingsSchema.extend({ drop: dropRequestSchema.optional() }).strict();

export type FaultSettings = z.infer<typeof faultSettingsSchema>;
export type FaultRequest = z.input<typeof faultRequestSchema>;
export type DropRequest = z.infer<typeof dropRequestSchema>;

/** Handlers a default crash fault leaves alone: the health check and the operator's tools. */
const CRASH_EXEMPT = new Set(['health', 'authorizer', 'redrive']);

/** Counts of the faults injected so far, by kind. */
export interface FaultCounts {
  dynamodbThrottles: number;
  dynamodbErrors: number;
  connectionsThrottles: number;
  connectionsGone: number;
  crashes: number;
  drops: number;
}

/**
 * The stack's fault switchboard: the parts ask it whether to fail a call; tests and the
 * `/_local/faults` API set it.
 */
export class FaultController {
  private settings: FaultSettings = {};
  readonly counts: FaultCounts = {
    dynamodbThrottles: 0,
    dynamodbErrors: 0,
    connectionsThrottles: 0,
    connectionsGone: 0,
    crashes: 0,
    drops: 0,
  };

  constructor(private readonly random: () => number = Math.random) {}

  /** The standing faults. */
  current(): FaultSettings {
    return structuredClone(this.settings);
  }

  /** Sets the kinds present in `request` (each replaces that kind), leaving the others. */
  set(request: z.input<typeof faultSettingsSchema>): void {
    const parsed = faultSettingsSchema.parse(request);
    this.settings = { ...this.settings, ...parsed };
  }

  /** Removes every standing fault. */
  clear(): void {
    this.settings = {};
  }

  private roll(p: number | undefined): boolean {
    return p !== undefined && p > 0 && this.random() < p;
  }

  private applies(regions: string[] | undefined, region: string): boolean {
    return regions === undefined || regions.includes(region);
  }

  /** For one DynamoDB call of `region`'s handlers: the fault to answer with, if any. */
  dynamoDb(region: string): 'throttle' | 'error' | undefined {
    const fault = this.settings.dynamodb;
    if (!fault || !this.applies(fault.regions, region)) return undefined;
    if (this.roll(fault.throttle)) {
      this.counts.dynamodbThrottles++;
      return 'throttle';
    }
    if (this.roll(fault.error)) {
      this.counts.dynamodbErrors++;
      return 'error';
    }
    return undefined;
  }

  /** For one `@connections` post in `region`: the fault to answer with, if any. */
  connections(region: string): 'throttle' | 'gone' | undefined {
    const fault = this.settings.connections;
    if (!fault || !this.applies(fault.regions, region)) return undefined;
    if (this.roll(fault.throttle)) {
      this.counts.connectionsThrottles++;
      return 'throttle';
    }
    if (this.roll(fault.gone)) {
      this.counts.connectionsGone++;
      return 'gone';
    }
    return undefined;
  }

  /** For one invocation of `handler` in `region`: whether it crashes, and when. */
  crash(region: string, handler: string): 'before' | 'after' | undefined {
    const fault = this.settings.crash;
    if (!fault || !this.applies(fault.regions, region)) return undefined;
    const targeted = fault.handlers ? fault.handlers.includes(handler) : !CRASH_EXEMPT.has(handler);
    if (!targeted || !this.roll(fault.rate)) return undefined;
    this.counts.crashes++;
    if (fault.phase === 'either') return this.random() < 0.5 ? 'before' : 'after';
    return fault.phase;
  }

  /** The injected delay of a replication link (ms). */
  replicationDelayMs(source: string, target: string): number {
    const fault = this.settings.replication;
    if (!fault) return 0;
    return fault.links[`${source}>${target}`] ?? fault.lagMs;
  }

  /** Whether replication is paused. */
  replicationPaused(): boolean {
    return this.settings.replication?.paused ?? false;
  }

  /** Picks which of `n` items to drop for a drop request (indexes). */
  pick(n: number, drop: Pick<DropRequest, 'fraction' | 'count'>): number[] {
    const indexes = [...Array(n).keys()];
    for (let i = indexes.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [indexes[i], indexes[j]] = [indexes[j] as number, indexes[i] as number];
    }
    const wanted =
      drop.count !== undefined
        ? drop.count
        : Math.round(n * (drop.fraction !== undefined ? drop.fraction : 1));
    const chosen = indexes.slice(0, Math.min(n, wanted));
    this.counts.drops += chosen.length;
    return chosen;
  }
}

/** The region a SigV4-signed request was signed for (`Credential=<key>/<date>/<region>/...`). */
export const signedRegion = (authorization: string | undefined): string | undefined =>
  /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(authorization ?? '')?.[1];

/** Rewrites the region of a SigV4 `Authorization` header (DynamoDB Local keys its databases by it). */
export const withSignedRegion = (authorization: string, region: string): string =>
  authorization.replace(/(Credential=[^/]+\/\d{8}\/)([^/]+)(\/)/, `$1${region}$3`);

/** Operations that touch items (the handlers' calls); control-plane calls are never failed. */
const DATA_PLANE = new Set([
  'GetItem',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'Query',
  'Scan',
  'BatchGetItem',
  'BatchWriteItem',
  'TransactGetItems',
  'TransactWriteItems',
]);

const DYNAMODB_ERRORS = {
  throttle: {
    status: 400,
    type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
    message:
      'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
  },
  error: {
    status: 500,
    type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
    message: 'Internal server error',
  },
} as const;

const READ_OPERATIONS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);

/** Capacity the handlers' calls of one region consumed, as DynamoDB reported it. */
export interface CapacityCounts {
  /** Data-plane calls. */
  calls: number;
  /** Read capacity units (on-demand: read request units). */
  readUnits: number;
  /** Write capacity units (on-demand: write request units). */
  writeUnits: number;
  /** Calls and units per operation, e.g. `Scan`. */
  byOperation: Record<string, { calls: number; readUnits: number; writeUnits: number }>;
}

/**
 * Counts the capacity DynamoDB reports for the handlers' calls (`ReturnConsumedCapacity: TOTAL`,
 * which the proxy adds to every data-plane request when a meter is given), per region the calls
 * were signed for. The benchmarks price it.
 */
export class CapacityMeter {
  private counts: Record<string, CapacityCounts> = {};

  /** A copy of the counts so far, by region. */
  snapshot(): Record<string, CapacityCounts> {
    return structuredClone(this.counts);
  }

  /** Forgets every count. */
  reset(): void {
    this.counts = {};
  }

  /** Adds one answer's `ConsumedCapacity` (an object, or a list for batch and transaction calls). */
  record(region: string, operation: string, consumed: unknown): void {
    const entries = Array.isArray(consumed) ? consumed : consumed === undefined ? [] : [consumed];
    let read = 0;
    let write = 0;
    for (const entry of entries as {
      CapacityUnits?: number;
      ReadCapacityUnits?: number;
      WriteCapacityUnits?: number;
    }[]) {
      if (entry.ReadCapacityUnits !== undefined || entry.WriteCapacityUnits !== undefined) {
        read += entry.ReadCapacityUnits ?? 0;
        write += entry.WriteCapacityUnits ?? 0;
      } else if (READ_OPERATIONS.has(operation)) read += entry.CapacityUnits ?? 0;
      else write += entry.CapacityUnits ?? 0;
    }
    this.counts[region] ??= { calls: 0, readUnits: 0, writeUnits: 0, byOperation: {} };
    const total = this.counts[region];
    total.byOperation[operation] ??= { calls: 0, readUnits: 0, writeUnits: 0 };
    const op = total.byOperation[operation];
    total.calls++;
    total.readUnits += read;
    total.writeUnits += write;
    op.calls++;
    op.readUnits += read;
    op.writeUnits += write;
  }
}

/** Headers without `transfer-encoding`, for a body re-sent whole with its own length. */
const withoutChunking = (headers: IncomingMessage['headers']): IncomingMessage['headers'] => {
  const { 'transfer-encoding': _chunked, ...rest } = headers;
  return rest;
};

/** Options of {@link DynamoDbProxy}. */
export interface DynamoDbProxyOptions {
  /** DynamoDB Local's endpoint, e.g. `http://127.0.0.1:8000`. */
  target: string;
  faults: FaultController;
  /**
   * Where a region's calls go: by default the region they were signed for. Strong mode routes
   * every region to one region's table (one state for conditional writes).
   */
  routeRegion?: (region: string) => string;
  /**
   * When given, every data-plane request asks for `ReturnConsumedCapacity: TOTAL` and the meter
   * counts each answer's capacity (the benchmarks' cost model). @default - requests pass unchanged
   */
  meter?: CapacityMeter;
  log: (line: string) => void;
}

/**
 * An HTTP proxy in front of DynamoDB Local that answers a fraction of the handlers' calls with
 * DynamoDB's own throttling and server errors (the SDK sees them exactly as from AWS and retries
 * them with its own backoff), and can route every region to one region's table.
 */
export class DynamoDbProxy {
  private readonly server: Server;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });
  private readonly target: URL;
  private port = 0;

  constructor(private readonly options: DynamoDbProxyOptions) {
    this.target = new URL(options.target);
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
  }

  /** `http://127.0.0.1:<port>` once listening. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Listens on `port` (0: a free one) on 127.0.0.1. */
  async listen(port = 0): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        const address = this.server.address();
        this.port = typeof address === 'object' && address ? address.port : port;
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.agent.destroy();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const authorization = req.headers.authorization;
    const region = signedRegion(authorization);
    const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
    if (region && DATA_PLANE.has(operation)) {
      const fault = this.options.faults.dynamoDb(region);
      if (fault) {
        // Drain the request first, as a server that read it and refused it would.
        req.resume();
        req.on('end', () => {
          const error = DYNAMODB_ERRORS[fault];
          const body = JSON.stringify({ __type: error.type, message: error.message });
          res.writeHead(error.status, {
            'content-type': 'application/x-amz-json-1.0',
            'content-length': Buffer.byteLength(body),
            'x-amzn-requestid': randomUUID(),
          });
          res.end(body);
        });
        return;
      }
    }
    const headers = { ...req.headers };
    const routed = region ? this.options.routeRegion?.(region) : undefined;
    if (authorization && routed && routed !== region)
      headers.authorization = withSignedRegion(authorization, routed);
    headers.host = this.target.host;
    const meter = this.options.meter;
    if (meter && region && DATA_PLANE.has(operation)) {
      this.forwardMetered(req, res, headers, (consumed) => meter.record(region, operation, consumed));
      return;
    }
    const upstream = request(
      {
        host: this.target.hostname,
        port: this.target.port,
        method: req.method,
        path: req.url,
        headers,
        agent: this.agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (error) => this.upstreamFailed(res, error));
    req.pipe(upstream);
  }

  /**
   * Forwards one data-plane call with `ReturnConsumedCapacity: TOTAL` added to its JSON body (DynamoDB
   * Local does not check signatures, as the region rewrite above already relies on) and hands the
   * answer's `ConsumedCapacity` to `record`; the answer itself passes on unchanged.
   */
  private forwardMetered(
    req: IncomingMessage,
    res: ServerResponse,
    headers: IncomingMessage['headers'],
    record: (consumed: unknown) => void,
  ): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      try {
        const input = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
        input.ReturnConsumedCapacity = 'TOTAL';
        body = Buffer.from(JSON.stringify(input));
      } catch {
        // Not JSON: forwarded as it came.
      }
      const upstream = request(
        {
          host: this.target.hostname,
          port: this.target.port,
          method: req.method,
          path: req.url,
          headers: { ...withoutChunking(headers), 'content-length': String(body.length) },
          agent: this.agent,
        },
        (answer) => {
          const parts: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => parts.push(chunk));
          answer.on('end', () => {
            const text = Buffer.concat(parts);
            if (!answer.headers['content-encoding']) {
              try {
                record(
                  (JSON.parse(text.toString('utf8')) as { ConsumedCapacity?: unknown }).ConsumedCapacity,
                );
              } catch {
                record(undefined);
              }
            }
            // The answer is re-sent whole: one length, no chunking.
            const { 'transfer-encoding': _chunked, ...answerHeaders } = answer.headers;
            res.writeHead(answer.statusCode ?? 502, {
              ...answerHeaders,
              'content-length': String(text.length),
            });
            res.end(text);
          });
        },
      );
      upstream.on('error', (error) => this.upstreamFailed(res, error));
      upstream.end(body);
    });
  }

  /** DynamoDB Local could not be reached: 502 while nothing was answered yet, else a cut answer. */
  private upstreamFailed(res: ServerResponse, error: Error): void {
    this.options.log(`[dynamodb proxy] ${error.message}`);
    if (!res.headersSent) {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(error.message);
    } else res.destroy();
  }
}
