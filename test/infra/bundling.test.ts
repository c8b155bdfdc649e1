/**
 * The infra test that bundles for real (the others skip bundling): one function as `cdk synth`
 * bundles it, checked for the SDK's default credential chain that the bundling options replace, and
 * for its linked source map.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { afterAll, describe, expect, it } from 'vitest';
import { ParleyFunction } from '../../lib/constructs/parley-function.js';
import { credentialMarkers, HANDLER_CREDENTIALS } from '../helpers/bundle-markers.js';

const outdir = mkdtempSync(join(tmpdir(), 'parley-bundling-'));

afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
});

describe('ParleyFunction bundling', () => {
  it("bundles the handlers' credential provider instead of the SDK's default chain", () => {
    // Prepare
    const app = new App({ outdir });
    const stack = new Stack(app, 'Bundling', { env: { account: '123456789012', region: 'us-east-1' } });
    new ParleyFunction(stack, 'Ping', { handlerName: 'ping' });

    // Act
    const assembly = app.synth();

    // Assess
    const assets = readdirSync(assembly.directory).filter((name) => name.startsWith('asset.'));
    expect(assets).toHaveLength(1);
    const code = readFileSync(join(assembly.directory, assets[0] as string, 'index.mjs'), 'utf8');
    expect(credentialMarkers(code)).toEqual(HANDLER_CREDENTIALS);
    // The map ships beside the bundle and the bundle links it, so `--enable-source-maps` finds it.
    const files = readdirSync(join(assembly.directory, assets[0] as string));
    expect(files).toContain('index.mjs.map');
    expect(code.trimEnd().endsWith('//# sourceMappingURL=index.mjs.map')).toBe(true);
  }, 120_000);
});
