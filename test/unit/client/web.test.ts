import { describe, expect, it } from 'vitest';
import { buildWebAssets } from '../../../web/assets.js';
import { endpointsFromRegions, pageWebSocketUrl, parseRegionsDocument } from '../../../web/local-api.js';

describe('Web page: assets', () => {
  it('bundles app.ts with the SDK into one browser module, and serves the page and its stylesheet', async () => {
    // Act
    const assets = await buildWebAssets();

    // Assess
    expect(Object.keys(assets).sort()).toEqual(['/', '/app.js', '/app.js.map', '/index.html', '/style.css']);
    expect(assets['/']?.contentType).toBe('text/html; charset=utf-8');
    expect(assets['/app.js']?.contentType).toBe('text/javascript; charset=utf-8');
    expect(assets['/style.css']?.contentType).toBe('text/css; charset=utf-8');
    const html = String(assets['/']?.body);
    expect(html).toContain('<script type="module" src="/app.js"></script>');
    expect(html).toContain('href="/style.css"');
    const app = String(assets['/app.js']?.body);
    // Booleans, not the bundle itself, so a failure does not print a megabyte of code.
    // Bundled: no import of the SDK, the protocol or zod left to resolve in the browser, nothing from Node.
    expect(/from\s*["'](?:zod|\.{1,2}\/)/.test(app)).toBe(false);
    expect(app.includes('"node:')).toBe(false);
    // Safe rendering: message data only ever goes through textContent.
    expect(app.includes('innerHTML')).toBe(false);
    expect(app.includes('insertAdjacentHTML')).toBe(false);
    expect(app.includes('textContent')).toBe(true);
    expect(app.trimEnd().endsWith('//# sourceMappingURL=app.js.map')).toBe(true);
  });

  it('has every element the page script looks up', async () => {
    // Prepare: the ids app.ts asks for with byId(...)
    const { readFile } = await import('node:fs/promises');
    const source = await readFile(new URL('../../../web/app.ts', import.meta.url), 'utf8');
    const ids = [...source.matchAll(/byId<[^>]+>\('([^']+)'\)/g)].map((match) => match[1]);
    const html = String((await buildWebAssets())['/']?.body);

    // Assess
    expect(ids.length).toBeGreaterThan(10);
    for (const id of ids) expect(html).toContain(`id="${id}"`);
  });
});

describe('Web page: local stack endpoints', () => {
  const doc = parseRegionsDocument({
    routing: 'failover',
    primary: 'us-east-1',
    globalEndpoint: 'ws://127.0.0.1:4510/',
    routedTo: 'us-east-1',
    regions: [
      {
        name: 'us-east-1',
        primary: true,
        endpoint: 'ws://127.0.0.1:4511/',
        state: 'healthy',
        healthCheck: 'healthy',
      },
      {
        name: 'eu-west-1',
        primary: false,
        endpoint: 'ws://127.0.0.1:4512/',
        state: 'outage',
        healthCheck: 'unhealthy',
      },
      { name: 'broken' },
    ],
  });

  it('reads the regions document, skipping malformed regions', () => {
    expect(doc).toEqual({
      globalEndpoint: 'ws://127.0.0.1:4510/',
      routedTo: 'us-east-1',
      regions: [
        {
          name: 'us-east-1',
          endpoint: 'ws://127.0.0.1:4511/',
          primary: true,
          state: 'healthy',
          healthCheck: 'healthy',
        },
        {
          name: 'eu-west-1',
          endpoint: 'ws://127.0.0.1:4512/',
          primary: false,
          state: 'outage',
          healthCheck: 'unhealthy',
        },
      ],
    });
    expect(parseRegionsDocument('nonsense')).toEqual({
      globalEndpoint: undefined,
      routedTo: undefined,
      regions: [],
    });
  });

  it('puts the global endpoint first, then each region’s own endpoint with its name', () => {
    expect(endpointsFromRegions(doc, 'ws://page.test/')).toEqual([
      { url: 'ws://127.0.0.1:4510/' },
      { url: 'ws://127.0.0.1:4511/', region: 'us-east-1' },
      { url: 'ws://127.0.0.1:4512/', region: 'eu-west-1' },
    ]);
  });

  it('falls back to the page’s own origin when there is no regions document', () => {
    expect(
      endpointsFromRegions(undefined, pageWebSocketUrl({ protocol: 'http:', host: '127.0.0.1:4510' })),
    ).toEqual([{ url: 'ws://127.0.0.1:4510/' }]);
    expect(pageWebSocketUrl({ protocol: 'https:', host: 'chat.example.com' })).toBe(
      'wss://chat.example.com/',
    );
  });
});
