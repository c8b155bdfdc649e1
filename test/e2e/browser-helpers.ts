/**
 * Helpers of the browser test: a Chromium driven by playwright-core (which downloads no browser of
 * its own), a fresh profile per run, screenshots under `.local/screenshots/`.
 *
 * {@link resolveChromium} picks the browser; the first that applies wins:
 *
 * 1. `PARLEY_CHROMIUM`: an explicit executable (any Chromium or Chrome), for machines where
 *    neither of the next two fits (macOS, arm64 without Debian's package) or to try another build.
 * 2. `/usr/bin/chromium`, Debian's package (`scripts/install-chromium.sh`), when present: a machine
 *    that has it keeps using it.
 * 3. `@sparticuz/chromium` (a devDependency) on x64 Linux, so that `npm ci` alone provides the
 *    browser, with no root and no apt. Its headless Chromium ships brotli-compressed inside the npm
 *    tarball; the first use decompresses it to `<tmpdir>/chromium` (about 200 MB, a few seconds)
 *    and every later run reuses that file. Nothing is downloaded at run time. The npm package has
 *    no arm64 binary.
 *
 * Otherwise it fails, saying what to install.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

/** Where Debian's chromium package puts the browser. */
export const DEBIAN_CHROMIUM = '/usr/bin/chromium';

/**
 * Flags for a quiet, headless Chromium in a container: no sandbox, GPU, QUIC or background traffic.
 * The same for every source: `@sparticuz/chromium`'s own `args` are for Lambda (single process, web
 * security off), which would change what the page is tested under.
 */
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

/** The browser {@link resolveChromium} found, and which rule found it. */
export interface ChromiumExecutable {
  path: string;
  source: 'PARLEY_CHROMIUM' | 'debian' | '@sparticuz/chromium';
}

/** What {@link resolveChromium} looks at; each part defaults to this machine (tests pass their own). */
export interface ChromiumHost {
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
  arch: string;
  exists(path: string): boolean;
  /** Decompresses `@sparticuz/chromium`'s binary (once) and returns its path. */
  packaged(): Promise<string>;
}

const packagedChromium = async (): Promise<string> => {
  // Imported only when chosen: the package's module code sets up a Lambda environment when it
  // detects one, which a machine using another browser has no reason to run.
  const { default: packaged } = await import('@sparticuz/chromium');
  // No argument: the binary in the installed package, never a download.
  return packaged.executablePath();
};

const thisHost: ChromiumHost = {
  env: process.env,
  platform: process.platform,
  arch: process.arch,
  exists: existsSync,
  packaged: packagedChromium,
};

/** Finds the browser for the test, in the order of this module's comment. */
export const resolveChromium = async (host: Partial<ChromiumHost> = {}): Promise<ChromiumExecutable> => {
  const { env, platform, arch, exists, packaged } = { ...thisHost, ...host };
  const explicit = env.PARLEY_CHROMIUM;
  if (explicit !== undefined && explicit !== '') {
    // Asked for by name: a typo must not quietly test another browser.
    if (!exists(explicit)) throw new Error(`PARLEY_CHROMIUM is "${explicit}", which does not exist`);
    return { path: explicit, source: 'PARLEY_CHROMIUM' };
  }
  if (exists(DEBIAN_CHROMIUM)) return { path: DEBIAN_CHROMIUM, source: 'debian' };
  if (platform === 'linux' && arch === 'x64') {
    try {
      return { path: await packaged(), source: '@sparticuz/chromium' };
    } catch (error) {
      throw new Error(
        `@sparticuz/chromium could not provide Chromium (${error instanceof Error ? error.message : String(error)}); ` +
          'run npm ci, or set PARLEY_CHROMIUM to a Chromium or Chrome executable',
      );
    }
  }
  throw new Error(
    `No Chromium for the browser test: PARLEY_CHROMIUM is not set, ${DEBIAN_CHROMIUM} is missing, and ` +
      `@sparticuz/chromium has a binary for x64 Linux only (this is ${platform} ${arch}). ` +
      "Install Debian's chromium with scripts/install-chromium.sh, " +
      'or set PARLEY_CHROMIUM to a Chromium or Chrome executable.',
  );
};

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

/** Starts `executable` with a fresh temporary user data directory. */
export const launchBrowser = async (executable: ChromiumExecutable): Promise<Browser> => {
  const profile = await mkdtemp(join(tmpdir(), 'parley-chromium-'));
  mkdirSync(SCREENSHOTS, { recursive: true });
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: executable.path,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1100, height: 720 },
      timezoneId: 'UTC',
      locale: 'en-GB',
    });
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    if (executable.source !== '@sparticuz/chromium') throw error;
    // The package reuses any file at that path: one cut short by an interrupted first run, or
    // another project's version of the package, would fail here on every run until removed.
    throw new Error(
      `${executable.path} (from @sparticuz/chromium) did not start; if an earlier decompression ` +
        `was interrupted or another version left it there, delete it to decompress it again: ${String(error)}`,
    );
  }
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
