/**
 * The rules of `local/request-guards.ts` on their own: which origins a developer may allow and how
 * they are written, and which `Origin` headers a handshake may carry.
 */
import { describe, expect, it } from 'vitest';
import {
  allowedOriginsFrom,
  normalizeOrigin,
  OriginPolicy,
  pageOrigins,
} from '../../../local/request-guards.js';

describe('normalizeOrigin', () => {
  it.each([
    ['http://localhost:3000', 'http://localhost:3000'],
    ['http://localhost:3000/', 'http://localhost:3000'],
    ['HTTP://LocalHost:3000', 'http://localhost:3000'],
    ['https://dev.example:443', 'https://dev.example'],
    ['http://127.0.0.1:80/', 'http://127.0.0.1'],
  ])('writes %s as a browser sends it: %s', (typed, origin) => {
    expect(normalizeOrigin(typed)).toBe(origin);
  });

  it.each([
    ['*', 'is not a URL'],
    ['null', 'is not a URL'],
    ['localhost:3000', 'is not http or https'],
    ['file:///tmp/page.html', 'is not http or https'],
    ['http://localhost:3000/app', 'has a path'],
    ['http://localhost:3000/?x=1', 'has a path, a query'],
    ['http://user:pw@localhost:3000', 'has credentials'],
  ])('refuses %s: it %s', (typed, why) => {
    expect(() => normalizeOrigin(typed)).toThrow(why);
  });
});

describe('allowedOriginsFrom (npm start)', () => {
  it('takes the --allow-origin flags, else PARLEY_ALLOW_ORIGINS split at commas, normalized', () => {
    expect(allowedOriginsFrom(['http://localhost:3000/', 'https://a.example'], 'http://b.example')).toEqual([
      'http://localhost:3000',
      'https://a.example',
    ]);
    expect(allowedOriginsFrom(undefined, ' http://localhost:3000 , https://a.example,')).toEqual([
      'http://localhost:3000',
      'https://a.example',
    ]);
    expect(allowedOriginsFrom(undefined, undefined)).toEqual([]);
    expect(allowedOriginsFrom(undefined, '')).toEqual([]);
  });

  it('throws for a malformed origin, from either source', () => {
    expect(() => allowedOriginsFrom(['*'], undefined)).toThrow(/scheme:\/\/host\[:port\]/);
    expect(() => allowedOriginsFrom(undefined, 'http://localhost:3000/app')).toThrow(/has a path/);
  });
});

describe('OriginPolicy', () => {
  const policy = new OriginPolicy([...pageOrigins(4510), 'http://localhost:3000']);

  it("lets through no Origin, the page's own origins and the allowed one", () => {
    expect(policy.refusal(undefined)).toBeUndefined();
    expect(policy.refusal('http://127.0.0.1:4510')).toBeUndefined();
    expect(policy.refusal('http://localhost:4510')).toBeUndefined();
    expect(policy.refusal('http://localhost:3000')).toBeUndefined();
  });

  it('refuses any other Origin, an empty one and a repeated one, naming it and the option', () => {
    for (const origin of ['https://evil.example', 'http://localhost:4511', 'null', '']) {
      expect(policy.refusal(origin)).toContain(JSON.stringify(origin));
      expect(policy.refusal(origin)).toContain('--allow-origin');
    }
    expect(policy.refusal(['http://localhost:4510', 'https://evil.example'])).toBeDefined();
  });
});
