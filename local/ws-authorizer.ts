/**
 * The REQUEST authorizer of a WebSocket handshake, as API Gateway runs it: 401 without calling it
 * when an identity source is missing, then the authorizer's policy (Allow, else 403) or failure
 * (`Unauthorized` 401, anything else 500). An allowed connection carries the policy's context.
 */
import type { IncomingMessage } from 'node:http';
import { firstHeader } from './gateway-http.js';
import type { ConnectionIdentity, Integrations } from './gateway-integration.js';
import type { RouteModel } from './template.js';

/** The authorizer's answer: the `authorizer` of the connection's events, or the refusal. */
export type AuthorizerOutcome =
  | { allowed: true; authorizer: Record<string, unknown> }
  | { allowed: false; status: number; message: string };

/** The handshake as the authorizer sees it. */
export interface AuthorizerRequest {
  url: URL;
  headers: IncomingMessage['headers'];
  connection: ConnectionIdentity;
  /** The event fields of the handshake request (headers, query string). */
  requestFields: Record<string, unknown>;
}

/** Runs `$connect`'s authorizer for one handshake; throws when its function is not running. */
export const authorize = async (
  integrations: Integrations,
  authorizer: NonNullable<RouteModel['authorizer']>,
  request: AuthorizerRequest,
): Promise<AuthorizerOutcome> => {
  const refuse = (status: number, message: string): AuthorizerOutcome => ({
    allowed: false,
    status,
    message,
  });
  // API Gateway answers 401 without calling the authorizer when an identity source is missing.
  for (const source of authorizer.identitySource) {
    const query = /^route\.request\.querystring\.(.+)$/.exec(source);
    const header = /^route\.request\.header\.(.+)$/.exec(source);
    const value = query?.[1]
      ? request.url.searchParams.get(query[1])
      : header?.[1]
        ? firstHeader(request.headers[header[1].toLowerCase()])
        : 'x';
    if (!value) return refuse(401, 'Unauthorized');
  }
  const fn = integrations.lambda.functionOf(authorizer.functionLogicalId);
  if (!fn) throw new Error(`authorizer function ${authorizer.functionLogicalId} is not running`);
  const event = {
    type: 'REQUEST',
    methodArn: integrations.methodArn('$connect'),
    ...request.requestFields,
    stageVariables: {},
    requestContext: integrations.requestContext(request.connection, '$connect', 'CONNECT'),
  };
  let result: unknown;
  try {
    result = await integrations.integrate(fn.handler, event);
  } catch (error) {
    // A Lambda authorizer that fails with "Unauthorized" means 401; any other failure is a 500
    // (a timeout or a throttled authorizer included: believed, as API Gateway's authorizer
    // failures are 500s).
    const message = error instanceof Error ? error.message : String(error);
    return /: Unauthorized$/.test(message)
      ? refuse(401, 'Unauthorized')
      : refuse(500, 'Internal server error');
  }
  const policy = result as {
    principalId?: unknown;
    policyDocument?: { Statement?: { Effect?: string }[] };
    context?: Record<string, unknown>;
  } | null;
  const statements = policy?.policyDocument?.Statement ?? [];
  const allowed = statements.length > 0 && statements.every((s) => s.Effect === 'Allow');
  if (!allowed) return refuse(403, 'Forbidden');
  return {
    allowed: true,
    authorizer: { ...(policy?.context ?? {}), principalId: policy?.principalId, integrationLatency: 0 },
  };
};
