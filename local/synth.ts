/**
 * Synthesizes the CDK app in-process (bundling skipped: the local stack bundles the handlers
 * itself) and returns each region's template, in the configured order, with the app's settings.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CfnTemplate } from './template.js';

/** The synthesized app, as the local stack needs it. */
export interface SynthesizedApp {
  regions: string[];
  routing: 'failover' | 'latency';
  tableName: string;
  stageName: string;
  templates: { region: string; stackName: string; template: CfnTemplate }[];
}

interface ParleyAppLike {
  app: { synth(): { getStackByName(name: string): { template: unknown } } };
  config: {
    regions: readonly string[];
    routing: 'failover' | 'latency';
    tableName: string;
    stageName: string;
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
    templates,
  };
};
