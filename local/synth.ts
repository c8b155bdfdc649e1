/**
 * Synthesizes the CDK app in-process (bundling skipped: the local stack bundles the handlers
 * itself) and returns each region's template, in the configured order, with the app's settings.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CfnTemplate } from './template.js';

/** The synthesized app, as the local stack needs it. */
export interface SynthesizedApp {
  regions: string[];
  routing: 'failover' | 'latency';
  tableName: string;
  stageName: string;
  /** The app's `reuseRetained`: it creates no table or secret of its own. */
  reuseRetained?: boolean;
  templates: { region: string; stackName: string; template: CfnTemplate }[];
}

interface ParleyAppLike {
  app: { synth(): { getStackByName(name: string): { template: unknown } } };
  config: {
    regions: readonly string[];
    routing: 'failover' | 'latency';
    tableName: string;
    stageName: string;
    reuseRetained?: boolean;
  };
  stacks: ReadonlyMap<string, { stackName: string }>;
}

/** The context `cdk.json` gives the app (what `cdk synth` would pass). */
export const readCdkJsonContext = (root: string): Record<string, unknown> => {
  const file = join(root, 'cdk.json');
  if (!existsSync(file)) return {};
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as { context?: Record<string, unknown> };
  return parsed.context ?? {};
};

/**
 * Runs `createParleyApp` from `lib/app.ts` with `cdk.json`'s context plus `overrides`.
 *
 * @param outdir - where the cloud assembly goes (under `.local/`, never committed)
 */
export const synthesizeApp = async (
  root: string,
  overrides: Record<string, unknown>,
  outdir: string,
): Promise<SynthesizedApp> => {
  const module = (await import(pathToFileURL(join(root, 'lib', 'app.ts')).href)) as {
    createParleyApp?: (options: {
      context?: Record<string, unknown>;
      outdir?: string;
      skipNag?: boolean;
    }) => ParleyAppLike;
  };
  if (typeof module.createParleyApp !== 'function')
    throw new Error('lib/app.ts does not export createParleyApp');
  const context = { ...readCdkJsonContext(root), ...overrides, 'aws:cdk:bundling-stacks': [] };
  const parley = module.createParleyApp({ context, outdir, skipNag: true });
  const assembly = parley.app.synth();
  const templates = [...parley.stacks].map(([region, stack]) => ({
    region,
    stackName: stack.stackName,
    template: assembly.getStackByName(stack.stackName).template as CfnTemplate,
  }));
  return {
    regions: [...parley.config.regions],
    routing: parley.config.routing,
    tableName: parley.config.tableName,
    stageName: parley.config.stageName,
    reuseRetained: parley.config.reuseRetained === true,
    templates,
  };
};

/** Every file under `dir` (recursively), sorted, for hashing. */
const filesUnder = (dir: string): string[] => {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? filesUnder(path) : [path];
    });
};

/**
 * The synthesis, cached under `.local/cache/` by a hash of everything it depends on: the app's
 * code (`bin/`, `lib/`, and `lambdas/shared/` and `protocol/`, which it imports), `cdk.json`, the locked
 * dependency versions and the context overrides. Any change to those synthesizes again, so the
 * cache never serves a template other than the one `cdk synth` would make.
 */
export const synthesizeAppCached = async (
  root: string,
  overrides: Record<string, unknown>,
  outdir: string,
): Promise<SynthesizedApp> => {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(overrides));
  for (const file of [
    ...['bin', 'lib', join('lambdas', 'shared'), 'protocol'].flatMap((dir) => filesUnder(join(root, dir))),
    join(root, 'cdk.json'),
    join(root, 'package-lock.json'),
  ]) {
    if (!existsSync(file)) continue;
    hash.update(file.slice(root.length));
    hash.update(readFileSync(file));
  }
  const cacheDir = join(root, '.local', 'cache');
  const cacheFile = join(cacheDir, `synth-${hash.digest('hex').slice(0, 32)}.json`);
  if (existsSync(cacheFile)) {
    try {
      return JSON.parse(readFileSync(cacheFile, 'utf8')) as SynthesizedApp;
    } catch {
      // A torn cache file: synthesize again.
    }
  }
  const synthesized = await synthesizeApp(root, overrides, outdir);
  mkdirSync(cacheDir, { recursive: true });
  const temporary = `${cacheFile}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(synthesized));
  // Rename is atomic: a concurrent start never reads half a file.
  renameSync(temporary, cacheFile);
  return synthesized;
};
