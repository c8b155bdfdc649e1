/**
 * The local stack's `Origin` rule for WebSocket handshakes, over real sockets, at the global
 * endpoint and at a region's gateway: a browser origin other than the stack's own page is refused
 * with 403 before any handler runs (so no WebSocket opens), unless it was allowed; a handshake with
 * no `Origin` (not a browser) opens, as at API Gateway, which checks no `Origin`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../e2e/helpers.js';
import { handshake, type LocalFixture, startFixture } from './local-fixture.js';

const ALLOWED = 'http://localhost:3000';
let fixture: LocalFixture;

beforeAll(async () => {
  fixture = await startFixture([ALLOWED]);
});
afterAll(async () => {
  await fixture?.stop();
});

/** Opens a WebSocket (sending `origin`, if given), checks that it is open, and closes it. */
const opens = async (port: number, origin?: string): Promise<boolean> => {
  const client = await connect(`ws://127.0.0.1:${port}/?token=alice`, origin === undefined ? {} : { origin });
  const open = client.ws.readyState === client.ws.OPEN;
  await client.close();
  return open;
};

describe.each([
  ['the global endpoint', () => fixture.globalPort],
  ["a region's gateway", () => fixture.regionPort],
])('WebSocket Origin at %s', (_where, port) => {
  it('refuses Origin https://evil.example with 403 and a message, before the authorizer runs', async () => {
    const before = fixture.calls.length;
    const answer = await handshake(port(), '/?token=alice', { origin: 'https://evil.example' });
    expect(answer.status).toBe(403);
    expect(answer.body).toEqual({ message: expect.stringContaining('"https://evil.example"') });
    expect((answer.body as { message: string }).message).toContain('--allow-origin');
    // The refusal is written before any handler is called: nothing ran for this handshake.
    expect(fixture.calls.slice(before)).toEqual([]);
  });

  it.each(['null', 'http://127.0.0.1:1', 'http://evil.example:4510', 'HTTP://LOCALHOST:3000'])(
    'refuses Origin %s (an opaque origin, another port, a rebound name, not as browsers send it)',
    async (origin) => {
      expect((await handshake(port(), '/?token=alice', { origin })).status).toBe(403);
    },
  );

  it("opens with the page's own origins, 127.0.0.1 and localhost on the global port", async () => {
    expect(await opens(port(), `http://127.0.0.1:${fixture.globalPort}`)).toBe(true);
    expect(await opens(port(), `http://localhost:${fixture.globalPort}`)).toBe(true);
  });

  it('opens with no Origin (a client that is not a browser)', async () => {
    expect(await opens(port())).toBe(true);
  });

  it('opens with an origin allowed by the allowOrigins option', async () => {
    expect(await opens(port(), ALLOWED)).toBe(true);
  });
});
