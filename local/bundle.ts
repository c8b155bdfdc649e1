/**
 * Bundles the handlers the template declares (their `parley:entry` metadata) and the local Lambda
 * worker with esbuild, with the options the CDK app bundles them with for Lambda (ESM, Node 22,
 * minified, source maps, AWS SDK included), into `.local/build/`.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

/** The bundles made: handler name to file, and the worker's file. */
export interface Bundles {
  handlers: Record<string, string>;
  worker: string;
}

// ESM bundles of CommonJS dependencies need `require`; the CDK app adds the same banner.
const banner =
  "import { createRequire as __parleyCreateRequire } from 'node:module'; const require = __parleyCreateRequire(import.meta.url);";

/**
 * Builds one bundle per handler name plus the worker.
 *
 * @param root - repository root (entries are relative to it)
 * @param entries - handler name to entry file, e.g. `{ send: 'lambdas/handlers/send.ts' }`
 */
export const bundleHandlers = async (
  root: string,
  entries: Record<string, string>,
  outDir: string,
): Promise<Bundles> => {
  mkdirSync(outDir, { recursive: true });
  const entryPoints: Record<string, string> = {
    'local-lambda-worker': join(root, 'local', 'lambda-worker.ts'),
  };
  for (const [name, entry] of Object.entries(entries)) entryPoints[`handler-${name}`] = join(root, entry);
  await build({
    entryPoints,
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    minify: true,
    sourcemap: true,
    banner: { js: banner },
    logLevel: 'error',
  });
  const handlers = Object.fromEntries(
    Object.keys(entries).map((name) => [name, join(outDir, `handler-${name}.mjs`)]),
  );
  return { handlers, worker: join(outDir, 'local-lambda-worker.mjs') };
};
