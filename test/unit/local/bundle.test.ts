/**
 * The local stack's handler bundles: built with the CDK app's options, the SDK's default
 * credential chain replaced by the handlers' own environment-then-container provider, and the SDK
 * clients a handler does not use left out.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleEntries } from '../../../local/bundle.js';
import { credentialMarkers, HANDLER_CREDENTIALS } from '../../helpers/bundle-markers.js';

const root = join(import.meta.dirname, '..', '..', '..');

describe('Local bundles', () => {
  it("carry the handlers' credential provider instead of the SDK's default chain", async () => {
    // Prepare
    const entry = 'lambdas/handlers/ping.ts';

    // Act
    const bundled = await bundleEntries(root, [entry], join(root, '.local', 'test-build', 'bundle'));

    // Assess
    const code = readFileSync(bundled.entries[entry] as string, 'utf8');
    expect({
      ...credentialMarkers(code),
      // `ping` never asks for the Secrets Manager client: the bundle leaves it out.
      unusedClient: code.includes('SecretsManager'),
    }).toEqual({ ...HANDLER_CREDENTIALS, unusedClient: false });
  }, 60_000);
});
