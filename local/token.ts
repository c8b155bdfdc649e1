/**
 * Local HS256 tokens: what the local stack's authorizer accepts (`docs/protocol.md`, "Connecting").
 */
import { SignJWT } from 'jose';

/** The secret the local stack signs and verifies with when `PARLEY_JWT_SECRET` is not set. */
export const DEFAULT_LOCAL_JWT_SECRET = 'parley-local-secret';

/** The local signing secret: `PARLEY_JWT_SECRET`, else the documented default. */
export const localJwtSecret = (env: NodeJS.ProcessEnv = process.env): string =>
  env.PARLEY_JWT_SECRET && env.PARLEY_JWT_SECRET.length > 0
    ? env.PARLEY_JWT_SECRET
    : DEFAULT_LOCAL_JWT_SECRET;

/** Options of {@link signLocalToken}. */
export interface LocalTokenOptions {
  /** Signing secret. @default localJwtSecret() */
  secret?: string;
  /** Lifetime in seconds. @default 86400 (one day) */
  expiresInSeconds?: number;
}

/**
 * Signs an HS256 JWT whose `sub` is `user`.
 *
 * @example
 * ```ts
 * const token = await signLocalToken('alice');
 * new WebSocket(`ws://127.0.0.1:4511/?token=${token}`);
 * ```
 */
export const signLocalToken = async (user: string, options: LocalTokenOptions = {}): Promise<string> => {
  if (user.length < 1 || user.length > 128) throw new Error('user must be 1-128 characters');
  const secret = new TextEncoder().encode(options.secret ?? localJwtSecret());
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(user)
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresInSeconds ?? 86_400))
    .sign(secret);
};
