/**
 * The esbuild options of every handler bundle, shared by the three places that bundle handlers:
 * the CDK app (`ParleyFunction`, which passes them to `NodejsFunction`), the local stack
 * (`local/bundle.ts`) and the cold-start benchmark (`bench/coldstart.ts`), so that what runs
 * locally and what is measured is what deploys. Nothing is loaded at run time: the local stack and
 * the benchmark use this module without the CDK.
 */
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
 * {@link HANDLER_BUNDLE} as options of esbuild's `build`. Output, source maps and logging are the
 * caller's.
 */
export const handlerBuildOptions = () =>
  ({
    bundle: true,
    platform: HANDLER_BUNDLE.platform,
    target: HANDLER_BUNDLE.target,
    format: HANDLER_BUNDLE.format,
    minify: HANDLER_BUNDLE.minify,
    mainFields: [...HANDLER_BUNDLE.mainFields],
    banner: { js: HANDLER_BUNDLE.banner },
  }) satisfies BuildOptions;
