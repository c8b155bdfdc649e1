/**
 * The `$connect` REQUEST authorizer's decision: no token is 401, a token `lambdas/shared/tokens.ts`
 * refuses is a Deny (403), a failure of the key source is thrown (500), and a valid token is an
 * Allow with the user as principal and in the context.
 *
 * An optional `rooms` claim (an array of room patterns with `*`) is passed on in the context as
 * JSON text and checked by the routes; a malformed one refuses the token.
 */
import { parseRoomsClaim } from './limits.js';
import { logger } from './logger.js';
import { isTokenRefusal, type VerifiedToken, type Verifier } from './tokens.js';

/**
 * The largest answer the authorizer gives: API Gateway's "AWS Lambda authorizer result size" of a
 * WebSocket API is 8 KB and cannot be raised ("Quotas for configuring and running a WebSocket in
 * API Gateway"). Taken as 8,000 bytes, the smaller reading of "8 KB". A larger answer (a long
 * `rooms` claim, which goes into the context) would fail every `$connect` of that token at API
 * Gateway; the authorizer refuses the token instead, and says why in its log.
 */
export const AUTHORIZER_RESULT_MAX_BYTES = 8_000;

/** The REQUEST authorizer event (the fields read here). */
export interface AuthorizerEvent {
  type?: 'REQUEST' | string;
  methodArn: string;
  queryStringParameters?: Record<string, string | undefined> | null;
}

/** An IAM policy answer of a Lambda authorizer. */
export interface AuthorizerResult {
  principalId: string;
  policyDocument: {
    Version: '2012-10-17';
    Statement: { Action: string; Effect: 'Allow' | 'Deny'; Resource: string }[];
  };
  /** Authorizer context values must be strings, numbers or booleans: `rooms` is JSON text. */
  context?: { user: string; rooms?: string };
}

const policy = (principalId: string, effect: 'Allow' | 'Deny', resource: string): AuthorizerResult => ({
  principalId,
  policyDocument: {
    Version: '2012-10-17',
    Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }],
  },
});

/**
 * Decides a `$connect`: no token throws `Unauthorized` (API Gateway's documented way to answer
 * 401); an unacceptable token gets a Deny policy (403); a valid one an Allow policy with the user
 * as `principalId` and in the context. Failures to reach the key source are thrown (500), not
 * turned into a Deny, so an outage is not mistaken for bad credentials in the logs.
 */
export const authorize = async (event: AuthorizerEvent, verify: Verifier): Promise<AuthorizerResult> => {
  const token = event.queryStringParameters?.token;
  if (token === undefined || token === '') throw new Error('Unauthorized');
  let payload: VerifiedToken;
  try {
    payload = await verify(token);
  } catch (error) {
    if (!isTokenRefusal(error)) throw error;
    logger.info('token refused', {
      reason: (error as { code?: string }).code ?? (error as Error).name,
      message: (error as Error).message,
    });
    return policy('unauthorized', 'Deny', event.methodArn);
  }
  const sub = payload.sub;
  let rooms: string[] | undefined;
  try {
    rooms = parseRoomsClaim(payload.rooms);
  } catch (error) {
    logger.info('token refused', { reason: (error as Error).message });
    return policy('unauthorized', 'Deny', event.methodArn);
  }
  const allowed: AuthorizerResult = {
    ...policy(sub, 'Allow', event.methodArn),
    context: { user: sub, ...(rooms === undefined ? {} : { rooms: JSON.stringify(rooms) }) },
  };
  const size = new TextEncoder().encode(JSON.stringify(allowed)).length;
  if (size > AUTHORIZER_RESULT_MAX_BYTES) {
    logger.info('token refused', {
      reason: `the answer for this token would be ${size} bytes, over API Gateway's ${AUTHORIZER_RESULT_MAX_BYTES}-byte authorizer result quota: shorten its rooms claim (${allowed.context?.rooms?.length ?? 0} characters)`,
    });
    return policy('unauthorized', 'Deny', event.methodArn);
  }
  return allowed;
};
