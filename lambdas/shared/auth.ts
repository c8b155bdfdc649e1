/**
 * Token verification for the `$connect` REQUEST authorizer.
 *
 * - `hs256`: HMAC-SHA256 with the key kept in Secrets Manager, fetched once per container with
 *   `GetSecretValue` and `SecretId` = `JWT_SECRET_ID`, the secret's name. A name resolves in every
 *   region that holds a replica (a replica keeps its primary's name); a partial ARN does not when
 *   the name ends in a hyphen and six characters (see `lib/secret-id.ts`). The local stack serves
 *   the same call from its own Secrets Manager endpoint.
 * - `jwks`: RS256/ES256 against `JWKS_URL` (Cognito, Auth0, ...), with `JWT_ISSUER` and
 *   `JWT_AUDIENCE` enforced.
 *
 * An optional `rooms` claim (an array of room patterns with `*`) is passed on in the context as
 * JSON text and checked by the routes; a malformed one refuses the token.
 *
 * Only the algorithms of the mode are accepted, so `alg: none` and algorithm confusion (an HS256
 * token signed with a public key) are refused; `exp` and `nbf` are enforced by `jwtVerify`.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createRemoteJWKSet, type JWTPayload, errors as joseErrors, jwtVerify } from 'jose';
import { SETTINGS } from '../../lib/settings.js';
import { readSetting, requireEnv } from './env.js';
import { ConfigurationError } from './errors.js';
import { parseRoomsClaim } from './limits.js';
import { logger } from './logger.js';

/** Authorizer settings. */
export type AuthConfig =
  | {
      mode: 'hs256';
      /** The `SecretId` of the key in Secrets Manager (`JWT_SECRET_ID`). */
      secretId?: string | undefined;
      /** The key itself, for callers that hold it (tests, benchmarks); never read from the environment. */
      secret?: string | undefined;
    }
  | { mode: 'jwks'; jwksUrl: string; issuer: string; audience: string };

/** Algorithms accepted per mode. */
export const HS256_ALGORITHMS = ['HS256'];
export const JWKS_ALGORITHMS = ['RS256', 'ES256'];
/** Longest accepted `sub` (the protocol's user id limit). */
export const MAX_SUBJECT_LENGTH = 128;
/**
 * The largest answer the authorizer gives: API Gateway's "AWS Lambda authorizer result size" of a
 * WebSocket API is 8 KB and cannot be raised ("Quotas for configuring and running a WebSocket in
 * API Gateway"). Taken as 8,000 bytes, the smaller reading of "8 KB". A larger answer (a long
 * `rooms` claim, which goes into the context) would fail every `$connect` of that token at API
 * Gateway; the authorizer refuses the token instead, and says why in its log.
 */
export const AUTHORIZER_RESULT_MAX_BYTES = 8_000;

/**
 * Reads the authorizer settings (`AUTH_MODE`, default `hs256`).
 *
 * @throws ConfigurationError when the mode's variables are missing.
 */
export const loadAuthConfig = (): AuthConfig => {
  const mode = readSetting('auth');
  if (mode === 'jwks') {
    return {
      mode,
      jwksUrl: requireEnv(SETTINGS.jwksUrl.env.name),
      issuer: requireEnv(SETTINGS.jwtIssuer.env.name),
      audience: requireEnv(SETTINGS.jwtAudience.env.name),
    };
  }
  // The stacks always set it with hs256: a missing one is a deployment error, not the default name.
  return { mode, secretId: requireEnv(SETTINGS.jwtSecretName.env.name) };
};

/** Verifies a token and returns its payload; throws a jose error when it is not acceptable. */
export type Verifier = (token: string) => Promise<JWTPayload>;

/**
 * Builds the verifier of a configuration. Keys are cached inside it: keep one per container.
 *
 * @example
 * ```ts
 * const verify = createVerifier({ mode: 'hs256', secret: 'parley-local-secret' }, {});
 * const payload = await verify(token);
 * ```
 */
export const createVerifier = (config: AuthConfig, deps: { secrets?: SecretsManagerClient }): Verifier => {
  if (config.mode === 'jwks') {
    const keySet = createRemoteJWKSet(new URL(config.jwksUrl));
    return async (token) =>
      (
        await jwtVerify(token, keySet, {
          algorithms: JWKS_ALGORITHMS,
          issuer: config.issuer,
          audience: config.audience,
        })
      ).payload;
  }
  let key: Promise<Uint8Array> | undefined;
  const loadKey = async (): Promise<Uint8Array> => {
    if (config.secret !== undefined) return new TextEncoder().encode(config.secret);
    if (deps.secrets === undefined || config.secretId === undefined) {
      throw new ConfigurationError('no Secrets Manager client or JWT_SECRET_ID for the hs256 secret');
    }
    const result = await deps.secrets.send(new GetSecretValueCommand({ SecretId: config.secretId }));
    if (result.SecretString === undefined || result.SecretString === '') {
      throw new ConfigurationError('the JWT secret in Secrets Manager has no SecretString');
    }
    return new TextEncoder().encode(result.SecretString);
  };
  return async (token) => {
    key ??= loadKey().catch((error: unknown) => {
      key = undefined; // fetch again on the next connection rather than caching a failure
      throw error;
    });
    return (await jwtVerify(token, await key, { algorithms: HS256_ALGORITHMS })).payload;
  };
};

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
  let payload: JWTPayload;
  try {
    payload = await verify(token);
  } catch (error) {
    if (!(error instanceof joseErrors.JOSEError)) throw error;
    logger.info('token refused', { reason: error.code, message: error.message });
    return policy('unauthorized', 'Deny', event.methodArn);
  }
  const sub = payload.sub;
  if (typeof sub !== 'string' || sub.length < 1 || sub.length > MAX_SUBJECT_LENGTH) {
    logger.info('token refused', { reason: 'sub must be 1-128 characters' });
    return policy('unauthorized', 'Deny', event.methodArn);
  }
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
