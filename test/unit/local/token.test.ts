/**
 * Local tokens: `signLocalToken` and `npm run token` sign HS256 JWTs with `PARLEY_JWT_SECRET`
 * (default `parley-local-secret`), `sub` = the user, with an expiry.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LOCAL_JWT_SECRET, localJwtSecret, signLocalToken } from '../../../local/token.js';

const key = (secret: string) => new TextEncoder().encode(secret);
const root = join(import.meta.dirname, '..', '..', '..');

describe('Local tokens', () => {
  it('signs HS256 with the default secret, sub = user, expiring', async () => {
    const token = await signLocalToken('alice', { expiresInSeconds: 60 });
    const { payload, protectedHeader } = await jwtVerify(token, key(DEFAULT_LOCAL_JWT_SECRET));
    expect(protectedHeader.alg).toBe('HS256');
    expect(payload.sub).toBe('alice');
    expect((payload.exp as number) - (payload.iat as number)).toBe(60);
  });

  it('uses PARLEY_JWT_SECRET when set', () => {
    expect(localJwtSecret({ PARLEY_JWT_SECRET: 'other' })).toBe('other');
    expect(localJwtSecret({})).toBe(DEFAULT_LOCAL_JWT_SECRET);
  });

  it('refuses a user outside 1-128 characters', async () => {
    await expect(signLocalToken('')).rejects.toThrow(/1-128/);
    await expect(signLocalToken('x'.repeat(129))).rejects.toThrow(/1-128/);
  });

  it('prints a token from the command line with the secret from the environment', async () => {
    const printed = execFileSync(join(root, 'node_modules', '.bin', 'tsx'), ['local/token-cli.ts', 'bob'], {
      cwd: root,
      env: { ...process.env, PARLEY_JWT_SECRET: 'cli-secret' },
      encoding: 'utf8',
    }).trim();
    const { payload } = await jwtVerify(printed, key('cli-secret'));
    expect(payload.sub).toBe('bob');
  }, 30_000);
});
