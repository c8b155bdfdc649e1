/**
 * The esbuild options of every handler bundle, shared by the three places that bundle handlers:
 * the CDK app (`ParleyFunction`, which passes them to `NodejsFunction`), the local stack
 * (`local/bundle.ts`) and the cold-start benchmark (`bench/coldstart.ts`), so that what runs
 * locally and what is measured is what deploys. Nothing but `node:path` is loaded at run time: the
 * local stack and the benchmark use this module without the CDK.
 */
import { join } from 'node:path';
import type { BuildOptions } from 'esbuild';

/** The esbuild settings every handler bundle has, in the terms of esbuild's build API. */
export const HANDLER_BUNDLE = {
  platform: 'node',
  target: 'node22',
  format: 'esm',
  minify: true,
  // A package's ES module build before its CommonJS one.
  mainFields: ['module', 'main'],
  // Some CommonJS dependencies call `require`, which ESM output lacks.
  banner:
    "import { createRequire as __parleyCreateRequire } from 'node:module';const require = __parleyCreateRequire(import.meta.url);",
} as const;

/**
 * Packages replaced in every handler bundle, each by a module given relative to the repository
 * root. `@aws-sdk/credential-provider-node`, which every SDK client's runtime config imports, would
 * bring the SDK's full default credential chain (about 110 KB of each bundle, with its STS and SSO
 * clients); a handler only ever has its credentials in the environment or, on a container runtime,
 * at the container endpoint.
 */
export const HANDLER_ALIASES: Readonly<Record<string, string>> = {
  '@aws-sdk/credential-provider-node': 'lambdas/shared/lambda-credentials.ts',
};

/**
 * {@link HANDLER_BUNDLE} and {@link HANDLER_ALIASES} as options of esbuild's `build`, for
 * handlers under `root`. Output, source maps and logging are the caller's.
 */
export const handlerBuildOptions = (root: string) =>
  ({
    bundle: true,
    platform: HANDLER_BUNDLE.platform,
    target: HANDLER_BUNDLE.target,
    format: HANDLER_BUNDLE.format,
    minify: HANDLER_BUNDLE.minify,
    mainFields: [...HANDLER_BUNDLE.mainFields],
    banner: { js: HANDLER_BUNDLE.banner },
    // esbuild resolves an alias's target in its working directory: give it the absolute path.
    alias: Object.fromEntries(Object.entries(HANDLER_ALIASES).map(([pkg, path]) => [pkg, join(root, path)])),
  }) satisfies BuildOptions;
