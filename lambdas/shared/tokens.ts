/**
 * Token verification, shared by the `$connect` authorizer and everything else that checks a token
 * (`docs/protocol.md`, "Tokens"):
 *
 * - `hs256`: HMAC-SHA256 with the key kept in Secrets Manager, fetched once per container with
 *   `GetSecretValue` and `SecretId` = the secret's name (`JWT_SECRET_ID`), which resolves in every
 *   replica region. The local stack serves the same call from its own Secrets Manager endpoint.
 * - `jwks`: RS256/ES256 against `JWKS_URL` (Cognito, Auth0, ...), with the issuer and audience
 *   required.
 *
 * Only the algorithms of the mode are accepted, so `alg: none` and algorithm confusion (an HS256
 * token signed with a public key) are refused. Every token needs `exp`; its lifetime may not pass
 * `maxTokenLifetimeSeconds`; `nbf`, `iat` and `exp` get 60 s of clock skew; `sub` is 1 to 128
 * printable characters.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createRemoteJWKSet, type JWTPayload, errors as joseErrors, jwtVerify } from 'jose';
import { SETTINGS } from '../../lib/settings.js';
import { optionalEnv, readSetting, requireEnv } from './env.js';
import { ConfigurationError } from './errors.js';

/** Algorithms accepted per mode. */
export const HS256_ALGORITHMS = ['HS256'];
export const JWKS_ALGORITHMS = ['RS256', 'ES256'];
/** Longest accepted `sub` (the protocol's user id limit), in characters. */
export const MAX_SUBJECT_LENGTH = 128;
/** The clock skew allowed for `nbf`, `iat` and `exp`. */
export const CLOCK_SKEW_SECONDS = 60;
/**
 * How long a JWKS fetch may take: well within the authorizer's 5 s timeout, so a JWKS endpoint
 * that hangs is answered 500 (the key source failed) before Lambda kills the invocation.
 */
export const JWKS_TIMEOUT_MS = 2_000;

/** Rules every token of a deployment is checked against, whatever its mode. */
export interface TokenRules {
  /** Required `iss`, when configured (always in jwks mode). */
  issuer?: string | undefined;
  /** Required audience, when configured (always in jwks mode). */
  audience?: string | undefined;
  /** The claim that holds the audience. @default 'aud' */
  audienceClaim?: string | undefined;
  /** The longest lifetime accepted. @default 86400 */
  maxLifetimeSeconds?: number | undefined;
}

/** Verifier settings. */
export type AuthConfig = TokenRules &
  (
    | {
        mode: 'hs256';
        /** The `SecretId` of the key in Secrets Manager (`JWT_SECRET_ID`). */
        secretId?: string | undefined;
        /** The key itself, for callers that hold it (tests, benchmarks); never read from the environment. */
        secret?: string | undefined;
      }
    | { mode: 'jwks'; jwksUrl: string; issuer: string; audience: string }
  );

/**
 * Reads the verifier settings (`AUTH_MODE`, default `hs256`, and the variables of the settings
 * table's auth group).
 *
 * @throws ConfigurationError when the mode's variables are missing.
 */
export const loadAuthConfig = (): AuthConfig => {
  const mode = readSetting('auth');
  const rules: TokenRules = {
    audienceClaim: readSetting('jwtAudienceClaim'),
    maxLifetimeSeconds: readSetting('maxTokenLifetimeSeconds'),
  };
  if (mode === 'jwks') {
    return {
      ...rules,
      mode,
      jwksUrl: requireEnv(SETTINGS.jwksUrl.env.name),
      issuer: requireEnv(SETTINGS.jwtIssuer.env.name),
      audience: requireEnv(SETTINGS.jwtAudience.env.name),
    };
  }
  return {
    ...rules,
    mode,
    // The stacks always set it with hs256: a missing one is a deployment error, not the default name.
    secretId: requireEnv(SETTINGS.jwtSecretName.env.name),
    issuer: optionalEnv(SETTINGS.jwtIssuer.env.name),
    audience: optionalEnv(SETTINGS.jwtAudience.env.name),
  };
};

/** A token whose signature is good but whose claims Parley refuses; the message says which. */
export class TokenRefusedError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'TokenRefusedError';
  }
}

/** A verified token's payload, with the claims Parley relies on checked. */
export interface VerifiedToken extends JWTPayload {
  sub: string;
  exp: number;
}

/** Verifies a token; throws {@link TokenRefusedError} or a jose error when it is not acceptable. */
export type Verifier = (token: string) => Promise<VerifiedToken>;

// Control, format (bidirectional controls among them), surrogate, line and paragraph separators.
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

/** Whether a user id is 1 to 128 characters, none of them unprintable. */
export const isPrintableUser = (sub: unknown): sub is string => {
  if (typeof sub !== 'string' || UNPRINTABLE.test(sub)) return false;
  const length = [...sub].length;
  return length >= 1 && length <= MAX_SUBJECT_LENGTH;
};

/** Checks the claims jose leaves to the caller. */
const checkClaims = (payload: JWTPayload, rules: TokenRules, nowSeconds: number): VerifiedToken => {
  const { exp, iat, sub } = payload;
  if (typeof exp !== 'number') throw new TokenRefusedError('the token has no exp');
  if (iat !== undefined && iat > nowSeconds + CLOCK_SKEW_SECONDS) {
    throw new TokenRefusedError('the token was issued in the future (iat)');
  }
  const max = rules.maxLifetimeSeconds ?? SETTINGS.maxTokenLifetimeSeconds.default;
  // Without iat, the lifetime left is what counts, and the clocks may disagree by the skew.
  const lifetime = typeof iat === 'number' ? exp - iat : exp - nowSeconds - CLOCK_SKEW_SECONDS;
  if (lifetime > max) {
    throw new TokenRefusedError(`the token's lifetime is ${lifetime} s; at most ${max} s are accepted`);
  }
  if (!isPrintableUser(sub)) {
    throw new TokenRefusedError('sub must be 1-128 characters, none of them control or format characters');
  }
  const claim = rules.audienceClaim ?? 'aud';
  if (rules.audience !== undefined && claim !== 'aud') {
    const value = payload[claim];
    const audiences = Array.isArray(value) ? value : [value];
    if (!audiences.includes(rules.audience)) {
      throw new TokenRefusedError(`the token's ${claim} claim is not the audience "${rules.audience}"`);
    }
  }
  return { ...payload, sub, exp };
};

/**
 * Builds the verifier of a configuration. Keys are cached inside it: keep one per container.
 *
 * @example
 * ```ts
 * const verify = createVerifier({ mode: 'hs256', secret: 'parley-local-secret' }, {});
 * const { sub } = await verify(token);
 * ```
 */
export const createVerifier = (
  config: AuthConfig,
  deps: { secrets?: SecretsManagerClient; now?: () => number },
): Verifier => {
  const nowSeconds = () => Math.floor((deps.now ?? Date.now)() / 1000);
  const options = () => ({
    requiredClaims: ['exp'],
    clockTolerance: CLOCK_SKEW_SECONDS,
    currentDate: new Date(nowSeconds() * 1000),
    ...(config.issuer === undefined ? {} : { issuer: config.issuer }),
    // jose checks `aud`; an audience kept in another claim is checked by checkClaims.
    ...(config.audience === undefined || (config.audienceClaim ?? 'aud') !== 'aud'
      ? {}
      : { audience: config.audience }),
  });
  if (config.mode === 'jwks') {
    const keySet = createRemoteJWKSet(new URL(config.jwksUrl), { timeoutDuration: JWKS_TIMEOUT_MS });
    return async (token) => {
      const { payload } = await jwtVerify(token, keySet, { ...options(), algorithms: JWKS_ALGORITHMS });
      return checkClaims(payload, config, nowSeconds());
    };
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
    const { payload } = await jwtVerify(token, await key, { ...options(), algorithms: HS256_ALGORITHMS });
    return checkClaims(payload, config, nowSeconds());
  };
};

/**
 * Whether a verification failure says the token is unacceptable (answer: refused), rather than
 * that the key source failed (answer: 500, so an outage is not mistaken for bad credentials). A
 * JWKS endpoint that times out, answers a status other than 200 or a body that is no key set, is
 * the key source failing.
 */
export const isTokenRefusal = (error: unknown): boolean => {
  if (error instanceof TokenRefusedError) return true;
  if (!(error instanceof joseErrors.JOSEError)) return false;
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid) return false;
  // A JWKS response other than 200 OK is a plain JOSEError (ERR_JOSE_GENERIC).
  return error.code !== 'ERR_JOSE_GENERIC';
};
