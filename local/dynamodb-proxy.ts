/**
 * The DynamoDB proxy: stands between the handlers and DynamoDB Local, answers the injected
 * DynamoDB faults (`fault-controller.ts`) as DynamoDB would, routes every region to one region's
 * table in strong mode, and feeds the capacity meter (`capacity-meter.ts`).
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
import type { CapacityMeter } from './capacity-meter.js';
import type { FaultController } from './fault-controller.js';
import { signedRegion, withSignedRegion } from './sigv4.js';

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
