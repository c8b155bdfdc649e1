/**
 * How the local gateway calls its Lambda integrations: the request context of API Gateway's
 * WebSocket events, the function behind a route, and the integration timeout (API Gateway stops
 * waiting after it; the invocation runs on).
 */
import { randomUUID } from 'node:crypto';
import type { LambdaService } from './lambda-service.js';
import type { RouteModel } from './template.js';

/** What an event's request context says of the connection. */
export interface ConnectionIdentity {
  id: string;
  connectedAt: number;
  sourceIp: string;
  userAgent: string;
}

/** The gateway gave up waiting for an integration (the invocation may still be running). */
export class IntegrationTimeoutError extends Error {
  constructor(handler: string, timeoutMs: number) {
    super(`${handler}: the integration timed out after ${timeoutMs} ms`);
    this.name = 'IntegrationTimeoutError';
  }
}

/** Options of {@link Integrations}. */
export interface IntegrationsOptions {
  region: string;
  port: number;
  apiId: string;
  stage: string;
  lambda: LambdaService;
  /** How long an integration may take before the gateway answers as on a timeout. */
  timeoutMs: number;
  log: (line: string) => void;
}

/** One stage's integrations with the region's Lambda service. */
export class Integrations {
  constructor(private readonly options: IntegrationsOptions) {}

  /** The region's Lambda service (for `$disconnect`, which nobody waits for). */
  get lambda(): LambdaService {
    return this.options.lambda;
  }

  /** The `requestContext` API Gateway gives every WebSocket event (authorizer, routes, `$disconnect`). */
  requestContext(connection: ConnectionIdentity, routeKey: string, eventType: string) {
    const now = Date.now();
    return {
      routeKey,
      eventType,
      extendedRequestId: randomUUID(),
      requestTime: new Date(now).toUTCString(),
      messageDirection: 'IN',
      stage: this.options.stage,
      connectedAt: connection.connectedAt,
      requestTimeEpoch: now,
      identity: { sourceIp: connection.sourceIp, userAgent: connection.userAgent },
      requestId: randomUUID(),
      domainName: `127.0.0.1:${this.options.port}`,
      connectionId: connection.id,
      apiId: this.options.apiId,
    };
  }

  /** The ARN of a route, as a REQUEST authorizer's `methodArn` names it. */
  methodArn(routeKey: string): string {
    const { region, apiId, stage } = this.options;
    return `arn:aws:execute-api:${region}:000000000000:${apiId}/${stage}/${routeKey}`;
  }

  /** The handler of the function a route integrates with. */
  handlerOf(route: RouteModel): string {
    const fn = this.options.lambda.functionOf(route.functionLogicalId);
    if (!fn) throw new Error(`route ${route.routeKey}: no function ${route.functionLogicalId}`);
    return fn.handler;
  }

  /**
   * Invokes a handler as API Gateway invokes an integration: rejects with
   * {@link IntegrationTimeoutError} after the integration timeout. API Gateway does not stop the
   * Lambda invocation, and neither does the gateway: it runs on, and its outcome is dropped.
   */
  async integrate(handler: string, event: unknown): Promise<unknown> {
    const { lambda, region, timeoutMs, log } = this.options;
    const invocation = lambda.invoke(handler, event);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        log(
          `[${region}] ${handler}: no answer within the ${timeoutMs} ms integration timeout; the invocation runs on`,
        );
        reject(new IntegrationTimeoutError(handler, timeoutMs));
      }, timeoutMs);
    });
    try {
      // Promise.race subscribes to the invocation, so its late failure is no unhandled rejection.
      return await Promise.race([invocation, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
