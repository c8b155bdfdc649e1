/**
 * The web chat page in a real browser (Chromium through playwright-core; `browser-helpers.ts` says
 * which one: `PARLEY_CHROMIUM`, Debian's, or the one `npm ci` installs on x64 Linux) against the
 * local stack: two pages, one per region, chat; message bodies with HTML are shown as text; the
 * region of one page goes down, the page fails over to the other region on its own, shows each
 * message it missed once and says "reconnected, caught up N messages". Screenshots go to
 * `.local/screenshots/`. And a page of another origin in the same browser opens no WebSocket to
 * the stack and cannot change its faults.
 */
import { createServer, type Server } from 'node:http';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { type Browser, launchBrowser, resolveChromium } from './browser-helpers.js';
import { LOCAL_CONTROL, startTestStack } from './helpers.js';

let stack: LocalStack;
let browser: Browser;
let primary: string;
let secondary: string;

/** Generous bounds for conditions polled in the page (the machine may be busy). */
const WAIT = { timeout: 90_000, interval: 200 };

const text = async (page: Page, testId: string): Promise<string> =>
  ((await page.getByTestId(testId).textContent()) ?? '').trim();

/** Signs in and waits for the first room to be joined on an open connection. */
const signIn = async (page: Page, user: string, room: string): Promise<void> => {
  await page.getByTestId('user').fill(user);
  await page.getByTestId('first-room').fill(room);
  await page.getByTestId('signin').click();
  await expect.poll(() => text(page, 'state'), WAIT).toBe('open');
  await expect.poll(() => text(page, 'room-title'), WAIT).toBe(`#${room}`);
};

const say = async (page: Page, line: string): Promise<void> => {
  await page.getByTestId('message-input').fill(line);
  await page.getByTestId('send').click();
};

/** The shown messages as `from: body` (text, as rendered). */
const shown = (page: Page): Promise<string[]> =>
  page
    .locator('[data-testid=messages] > li')
    .evaluateAll((items) =>
      items.map(
        (item) =>
          `${item.querySelector('.from')?.textContent ?? ''}: ${item.querySelector('.body')?.textContent ?? ''}`,
      ),
    );

const countOf = async (page: Page, line: string): Promise<number> =>
  (await shown(page)).filter((l) => l === line).length;

const isAlice = (event: unknown): boolean =>
  (event as { requestContext?: { authorizer?: { principalId?: string } } }).requestContext?.authorizer
    ?.principalId === 'alice';

beforeAll(async () => {
  // Before the stack: a machine without a browser fails at once, with what to install.
  const executable = await resolveChromium();
  stack = await startTestStack();
  primary = stack.regions[0]?.name as string;
  secondary = stack.regions[1]?.name as string;
  browser = await launchBrowser(executable);
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('Web chat page in Chromium', () => {
  it('two pages in two regions chat, a region outage is survived, missed messages are shown once', async () => {
    const room = 'web-lobby';
    // alice's page uses the global endpoint (routed to the primary); bob's prefers the other region.
    const alice = await browser.open(stack.endpoints.web);
    const bob = await browser.open(`${stack.endpoints.web}?region=${secondary}`);
    await signIn(alice, 'alice', room);
    await signIn(bob, 'bob', room);
    expect(await text(alice, 'region')).toBe(`region: ${primary}`);
    expect(await text(bob, 'region')).toBe(`region: ${secondary}`);
    expect(await text(alice, 'whoami')).toBe('signed in as alice');
    // Each page lists both users with their regions.
    await expect.poll(() => text(alice, 'members'), WAIT).toContain(`bob (${secondary})`);
    await expect.poll(() => text(bob, 'members'), WAIT).toContain(`alice (${primary})`);

    // Chat across the regions.
    await say(alice, 'hello bob');
    await expect.poll(() => shown(bob), WAIT).toContain('alice: hello bob');
    await say(bob, 'hi alice');
    await expect.poll(() => shown(alice), WAIT).toContain('bob: hi alice');

    // A body with markup is shown as text, and none of it runs.
    const html = '<img src=x onerror="window.__pwned=1"><b>bold</b> & <script>window.__pwned=2</script>';
    await say(bob, html);
    await expect.poll(() => shown(alice), WAIT).toContain(`bob: ${html}`);
    for (const page of [alice, bob]) {
      expect(
        await page
          .locator('[data-testid=messages] img, [data-testid=messages] b, [data-testid=messages] script')
          .count(),
      ).toBe(0);
      expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    }
    await browser.screenshot(alice, '1-alice-chatting');
    await browser.screenshot(bob, '1-bob-chatting');

    // The primary goes down. alice's page is also refused by the other region for a moment, so
    // she certainly misses what bob says meanwhile.
    stack.setFault(secondary, 'connect', (event) => {
      if (isAlice(event)) throw new Error('alice held back by the test');
    });
    await stack.setOutage(primary, true);
    await expect.poll(() => text(alice, 'state'), WAIT).not.toBe('open');
    const missed = ['missed one', 'missed two', 'missed three'];
    for (const line of missed) await say(bob, line);
    for (const line of missed) await expect.poll(() => shown(bob), WAIT).toContain(`bob: ${line}`);
    expect(await text(alice, 'state')).not.toBe('open');
    for (const line of missed) expect(await countOf(alice, `bob: ${line}`)).toBe(0);
    await browser.screenshot(alice, '2-alice-during-outage');

    // Let her in: the page fails over to the surviving region and catches up.
    stack.setFault(secondary, 'connect', undefined);
    await expect.poll(() => text(alice, 'state'), WAIT).toBe('open');
    await expect.poll(() => text(alice, 'region'), WAIT).toBe(`region: ${secondary}`);
    await expect
      .poll(() => text(alice, 'notice'), WAIT)
      .toBe(`reconnected to ${secondary}, caught up ${missed.length} messages`);
    for (const line of missed) expect(await countOf(alice, `bob: ${line}`)).toBe(1);
    // Nothing shown before the outage is shown twice either.
    const lines = await shown(alice);
    expect(lines.filter((line, i) => lines.indexOf(line) !== i)).toEqual([]);
    // The regions panel shows the outage and where the page is connected.
    await expect
      .poll(
        () => alice.locator(`[data-testid=regions] li[data-region="${primary}"]`).getAttribute('data-state'),
        WAIT,
      )
      .toBe('outage');
    expect(
      await alice
        .locator(`[data-testid=regions] li[data-region="${secondary}"]`)
        .getAttribute('data-connected'),
    ).toBe('true');
    await browser.screenshot(alice, '3-alice-after-failover');

    // Still a working chat: alice (now in the other region) and bob talk.
    await say(alice, 'back again');
    await expect.poll(() => shown(bob), WAIT).toContain('alice: back again');
    await expect.poll(() => countOf(alice, 'alice: back again'), WAIT).toBe(1);

    // The primary recovers; the page keeps working.
    await stack.setOutage(primary, false);
    await say(bob, 'the primary is back');
    await expect.poll(() => shown(alice), WAIT).toContain('bob: the primary is back');
    await browser.screenshot(alice, '4-alice-after-recovery');
    await browser.screenshot(bob, '4-bob-after-recovery');
  }, 600_000);
});

describe('Another origin in Chromium', () => {
  let other: Server | undefined;
  afterAll(async () => {
    await new Promise((resolve) => (other ? other.close(resolve) : resolve(undefined)));
  });

  it('opens no WebSocket to the stack and cannot change its faults, by form-like post or by fetch', async () => {
    // Another site, as far as the browser knows: a page of another origin (another port) on this machine.
    other = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>another site</title><p>another site</p>');
    });
    await new Promise<void>((resolve) => other?.listen(0, '127.0.0.1', resolve));
    const address = other.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const page = await browser.open(`http://127.0.0.1:${port}/`);
    const faultsUrl = `${stack.endpoints.web}_local/faults`;
    const token = await stack.token('mallory');
    const outcome = await page.evaluate(
      async ({ endpoints, faults, json }) => {
        // Resolves once each socket has opened or closed: 'open' or the close code.
        const sockets = await Promise.all(
          endpoints.map(
            (url) =>
              new Promise<string>((resolve) => {
                const socket = new WebSocket(url);
                socket.onopen = () => {
                  socket.close();
                  resolve('open');
                };
                socket.onclose = (event) => resolve(`closed ${event.code}`);
              }),
          ),
        );
        const body = JSON.stringify({ replication: { lagMs: 999 } });
        // What a form can send: a simple request, no preflight; its answer is opaque, but it arrives.
        await fetch(faults, {
          method: 'POST',
          mode: 'no-cors',
          headers: { 'content-type': 'text/plain' },
          body,
        });
        // With the JSON content type the browser asks first (a preflight), which the stack refuses.
        let withJson = 'sent';
        try {
          await fetch(faults, { method: 'POST', headers: json, body });
        } catch {
          withJson = 'blocked by the browser';
        }
        return { sockets, withJson };
      },
      {
        endpoints: [stack.endpoints.global, ...Object.values(stack.endpoints.regions)].map(
          (endpoint) => `${endpoint}?token=${token}`,
        ),
        faults: faultsUrl,
        json: LOCAL_CONTROL,
      },
    );
    // A refused handshake is a close without a close frame, to the page.
    expect(outcome).toEqual({
      sockets: ['global endpoint', ...Object.keys(stack.endpoints.regions)].map(() => 'closed 1006'),
      withJson: 'blocked by the browser',
    });
    // The first post was answered before its fetch settled, the second never sent: no fault changed.
    expect(((await (await fetch(faultsUrl)).json()) as { faults: unknown }).faults).toEqual({});
    await page.close();
  });
});
