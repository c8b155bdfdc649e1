/**
 * The options of `startLocalStack` (`stack.ts`), every one with a default: ports, timeouts,
 * handler settings, the meters. `stack.ts` re-exports them.
 */

/** Options of `startLocalStack`; every one has a default. */
export interface LocalStackOptions {
  /** Repository root. @default the directory above `local/` */
  root?: string;
  /** CDK context overrides (e.g. `{ regions: 'us-east-1,eu-west-1' }`), on top of `cdk.json`. */
  context?: Record<string, unknown>;
  /** Global endpoint port. @default 4510 */
  globalPort?: number;
  /** Region ports, in the order of the regions. @default globalPort + 1, + 2, ... */
  regionPorts?: number[];
  /** DynamoDB Local port. @default a free port */
  dynamoDbPort?: number;
  /** ElasticMQ port. @default a free port */
  sqsPort?: number;
  /**
   * The value of the template's HS256 signing secret in the local Secrets Manager, which the
   * authorizer fetches, and the key of the local tokens. @default PARLEY_JWT_SECRET or
   * `parley-local-secret`
   */
  jwtSecret?: string;
  /**
   * Browser origins, besides the stack's own page, whose pages may open a WebSocket to the global
   * endpoint and the regions (a front end of your own, e.g. `http://localhost:3000`); a handshake
   * with no `Origin` (not a browser) always may. @default none (`npm start`: `--allow-origin`)
   */
  allowOrigins?: readonly string[];
  /** Health check interval of the global endpoint. @default 1000 */
  healthIntervalMs?: number;
  /** Consecutive health check failures that mark a region unhealthy. @default 2 */
  failureThreshold?: number;
  /** WebSocket idle timeout. @default 10 minutes (API Gateway's) */
  idleTimeoutMs?: number;
  /** WebSocket maximum connection duration. @default 2 hours (API Gateway's) */
  maxDurationMs?: number;
  /** How long the gateway waits for an integration (authorizer, `$connect`, a route). @default 29 s (API Gateway's) */
  integrationTimeoutMs?: number;
  /**
   * Each region's Lambda concurrency limit (invocations in flight at once; over it they are
   * throttled). @default 1000 (Lambda's default quota per Region)
   */
  lambdaConcurrency?: number;
  /** Delay before retry n of a failed stream batch. @default min(1000, 100 * 2^(n-1)) ms */
  retryDelayMs?: (attempt: number) => number;
  /** Poll interval of idle event source mappings. @default 200 */
  pollIntervalMs?: number;
  /** Poll interval of the replicator. @default 100 */
  replicationPollIntervalMs?: number;
  /** Variables set on every handler on top of the template's environment (e.g. a limit). */
  handlerEnvironment?: Record<string, string>;
  /** `POWERTOOLS_LOG_LEVEL` of the handlers. @default the template's, else INFO */
  handlerLogLevel?: string;
  /** Reuse the synthesis while the app's code and config are unchanged. @default true */
  synthCache?: boolean;
  /**
   * Ask DynamoDB for the consumed capacity of every handler call and count it
   * (`LocalStack.consumedCapacity`); for the benchmarks' cost model. @default false
   */
  meterCapacity?: boolean;
  /** Where log lines go. @default `.local/logs/local-stack-<globalPort>.log` */
  log?: (line: string) => void;
  /** Progress messages while starting (the CLI prints them). */
  progress?: (message: string) => void;
}
