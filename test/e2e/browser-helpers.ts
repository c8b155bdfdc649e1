/**
 * Helpers of the browser test: Debian's Chromium (`/usr/bin/chromium`, installed by
 * `scripts/install-chromium.sh`) driven by playwright-core, which downloads no browser; a fresh
 * profile per run; screenshots under `.local/screenshots/`.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

/** Where Debian's chromium package puts the browser. */
export const CHROMIUM = '/usr/bin/chromium';

/** Flags for a quiet, headless Chromium in a container: no sandbox, GPU, QUIC or background traffic. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Screenshots of the browser test (git-ignored). */
export const SCREENSHOTS = join(import.meta.dirname, '..', '..', '.local', 'screenshots');

/** A running browser with its own temporary profile. */
export interface Browser {
  context: BrowserContext;
  /** Opens a new page (tab) at `url`. */
  open(url: string): Promise<Page>;
  /** Saves a full-page screenshot as `.local/screenshots/<name>.png` and returns its path. */
  screenshot(page: Page, name: string): Promise<string>;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/** Whether the browser test can run here. */
export const chromiumInstalled = (): boolean => existsSync(CHROMIUM);

/** Starts Chromium with a fresh temporary user data directory. */
export const launchBrowser = async (): Promise<Browser> => {
  const profile = await mkdtemp(join(tmpdir(), 'parley-chromium-'));
  mkdirSync(SCREENSHOTS, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1100, height: 720 },
    timezoneId: 'UTC',
    locale: 'en-GB',
  });
  let closed = false;
  return {
    context,
    open: async (url) => {
      const page = await context.newPage();
      await page.goto(url);
      return page;
    },
    screenshot: async (page, name) => {
      const path = join(SCREENSHOTS, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
};
