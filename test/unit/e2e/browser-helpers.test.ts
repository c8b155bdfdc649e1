/**
 * Which Chromium the browser test uses (`resolveChromium`): `PARLEY_CHROMIUM`, then Debian's
 * `/usr/bin/chromium`, then `@sparticuz/chromium` on x64 Linux, else a failure that says what to
 * install. Each case on a described machine, so the order holds whatever this machine has.
 */
import { describe, expect, it } from 'vitest';
import { type ChromiumHost, DEBIAN_CHROMIUM, resolveChromium } from '../../e2e/browser-helpers.js';

const PACKAGED = '/tmp/chromium';

/** A machine with the given files; `packaged` records whether it was asked for. */
const machine = (
  files: string[],
  rest: Partial<ChromiumHost> = {},
): Partial<ChromiumHost> & { packagedCalls: () => number } => {
  let calls = 0;
  return {
    env: {},
    platform: 'linux',
    arch: 'x64',
    exists: (path) => files.includes(path),
    packaged: async () => {
      calls++;
      return PACKAGED;
    },
    ...rest,
    packagedCalls: () => calls,
  };
};

describe('resolveChromium', () => {
  it('takes PARLEY_CHROMIUM first, even where Debian’s and the package’s would do', async () => {
    const host = machine(['/opt/chrome/chrome', DEBIAN_CHROMIUM], {
      env: { PARLEY_CHROMIUM: '/opt/chrome/chrome' },
    });
    await expect(resolveChromium(host)).resolves.toEqual({
      path: '/opt/chrome/chrome',
      source: 'PARLEY_CHROMIUM',
    });
    expect(host.packagedCalls()).toBe(0);
  });

  it('fails on a PARLEY_CHROMIUM that does not exist rather than falling back to another browser', async () => {
    const host = machine([DEBIAN_CHROMIUM], { env: { PARLEY_CHROMIUM: '/opt/typo/chrome' } });
    await expect(resolveChromium(host)).rejects.toThrow(
      'PARLEY_CHROMIUM is "/opt/typo/chrome", which does not exist',
    );
  });

  it('takes Debian’s /usr/bin/chromium when present, without decompressing the package', async () => {
    const host = machine([DEBIAN_CHROMIUM], { env: { PARLEY_CHROMIUM: '' } });
    await expect(resolveChromium(host)).resolves.toEqual({ path: DEBIAN_CHROMIUM, source: 'debian' });
    expect(host.packagedCalls()).toBe(0);
  });

  it('takes @sparticuz/chromium on x64 Linux without the other two', async () => {
    const host = machine([]);
    await expect(resolveChromium(host)).resolves.toEqual({ path: PACKAGED, source: '@sparticuz/chromium' });
    expect(host.packagedCalls()).toBe(1);
  });

  it.each([
    ['linux', 'arm64'],
    ['darwin', 'arm64'],
    ['darwin', 'x64'],
  ] as const)('on %s %s with neither, fails saying what to install', async (platform, arch) => {
    const host = machine([], { platform, arch });
    const failure = resolveChromium(host);
    await expect(failure).rejects.toThrow(`(this is ${platform} ${arch})`);
    await expect(failure).rejects.toThrow('scripts/install-chromium.sh');
    await expect(failure).rejects.toThrow('set PARLEY_CHROMIUM');
    expect(host.packagedCalls()).toBe(0);
  });

  it('says to run npm ci when the package cannot provide its binary', async () => {
    const host = machine([], {
      packaged: async () => {
        throw new Error("Cannot find package '@sparticuz/chromium'");
      },
    });
    await expect(resolveChromium(host)).rejects.toThrow(
      /^@sparticuz\/chromium could not provide Chromium \(Cannot find package '@sparticuz\/chromium'\); run npm ci/,
    );
  });
});
