/**
 * The rules of `local/request-guards.ts` on their own: which origins a developer may allow and how
 * they are written, which `Origin` headers a handshake may carry, which `Host` headers name a
 * loopback address, and which `/_local` requests are refused and why.
 */
import { describe, expect, it } from 'vitest';
import {
  allowedOriginsFrom,
  isJsonContentType,
  isLoopbackHost,
  localRequestRefusal,
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

describe('isLoopbackHost', () => {
  it.each([
    '127.0.0.1:4510',
    '127.0.0.1',
    '127.1.2.3:80',
    'localhost:4510',
    'LOCALHOST:4510',
    'localhost',
    '[::1]:4510',
    '[::1]',
  ])('%s names a loopback address', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });

  it.each([
    undefined,
    '',
    'evil.example',
    'evil.example:4510',
    'localhost.evil.example:4510',
    '127.0.0.1.evil.example',
    '128.0.0.1:4510',
    '127.0.0.256:4510',
    '0.0.0.0:4510',
    '192.0.2.2:4510',
    '[::ffff:127.0.0.1]:4510',
    '[fd00::2]:4510',
    'localhost:0',
    'localhost:65536',
    'localhost:4510:1',
  ])('%s does not', (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });
});

describe('isJsonContentType', () => {
  it('takes application/json with parameters, in any case, and nothing else', () => {
    expect(isJsonContentType('application/json')).toBe(true);
    expect(isJsonContentType('Application/JSON; charset=utf-8')).toBe(true);
    for (const other of [
      undefined,
      '',
      'text/plain',
      'text/plain;charset=UTF-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/jsonp',
    ])
      expect(isJsonContentType(other)).toBe(false);
  });
});

describe('localRequestRefusal', () => {
  const json = { host: '127.0.0.1:4510', 'content-type': 'application/json' };

  it('lets through a GET or HEAD with a loopback Host, with or without a content type', () => {
    expect(localRequestRefusal('GET', { host: 'localhost:4510' })).toBeUndefined();
    expect(localRequestRefusal('HEAD', { host: '[::1]:4510' })).toBeUndefined();
  });

  it('lets through a POST or DELETE with a loopback Host and the JSON content type', () => {
    expect(localRequestRefusal('POST', json)).toBeUndefined();
    expect(localRequestRefusal('DELETE', json)).toBeUndefined();
  });

  it('refuses any request whose Host is not a loopback address, saying so', () => {
    expect(localRequestRefusal('GET', { host: 'evil.example:4510' })).toMatch(/loopback address/);
    expect(localRequestRefusal('POST', { ...json, host: 'evil.example' })).toMatch(/"evil.example"/);
    expect(localRequestRefusal('GET', {})).toMatch(/loopback address/);
  });

  it('refuses a state-changing request without the JSON content type, a bodiless DELETE too', () => {
    for (const method of ['POST', 'DELETE', 'PUT', 'PATCH']) {
      expect(localRequestRefusal(method, { host: '127.0.0.1:4510' })).toMatch(
        /must be sent with Content-Type: application\/json/,
      );
      expect(
        localRequestRefusal(method, { host: '127.0.0.1:4510', 'content-type': 'text/plain' }),
      ).toBeDefined();
    }
  });
});
