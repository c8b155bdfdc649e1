/**
 * Bundles handler entry files and the local Lambda worker with esbuild, with the options the CDK
 * app bundles the handlers with for Lambda (`lib/constructs/handler-bundling.ts`: ESM, Node 22,
 * minified, the AWS SDK included with its default credential chain replaced), into a directory
 * under `.local/`.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { handlerBuildOptions } from '../lib/constructs/handler-bundling.js';

/** The bundles made: entry file (relative to the root) to bundle, and the worker's bundle. */
export interface BundledEntries {
  entries: Record<string, string>;
  worker?: string;
}

/** The bundle file name of an entry: its path with separators flattened. */
const bundleName = (entry: string): string =>
  `handler-${entry.replace(/\.[cm]?ts$/, '').replace(/[^A-Za-z0-9_-]/g, '_')}`;

/**
 * Builds one bundle per entry file plus the worker.
 *
 * @param root - repository root (entries are relative to it)
 * @param entries - entry files, e.g. `['lambdas/handlers/send.ts']`
 */
export const bundleEntries = async (
  root: string,
  entries: string[],
  outDir: string,
): Promise<BundledEntries> => {
  mkdirSync(outDir, { recursive: true });
  const entryPoints: Record<string, string> = {
    'local-lambda-worker': join(root, 'local', 'lambda-worker.ts'),
  };
  for (const entry of entries) entryPoints[bundleName(entry)] = join(root, entry);
  await build({
    entryPoints,
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    ...handlerBuildOptions(root),
    // Linked source maps with their sources (the deployed bundles' maps are linked too, but without
    // sources): the local handlers run with `--enable-source-maps`.
    sourcemap: true,
    logLevel: 'silent',
  });
  return {
    entries: Object.fromEntries(entries.map((entry) => [entry, join(outDir, `${bundleName(entry)}.mjs`)])),
    worker: join(outDir, 'local-lambda-worker.mjs'),
  };
};
