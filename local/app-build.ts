/**
 * The CDK app as the local stack runs it: synthesized in-process, each region's template read
 * into a model, and the handlers bundled with esbuild as the CDK app bundles them. Bundling starts
 * on the handler entry files before the synthesis, so the two overlap; the template stays the
 * truth, and an entry it declares outside that guess is bundled after the synthesis.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type BundledEntries, bundleEntries } from './bundle.js';
import { type SynthesizedApp, synthesizeApp, synthesizeAppCached } from './synth.js';
import {
  findSecrets,
  findTable,
  type RegionModel,
  readRegion,
  type SecretModel,
  type TableModel,
} from './template.js';

/** The app's regions, read from their templates. */
export interface AppModels {
  synthesized: SynthesizedApp;
  /** In order; the first is the primary. */
  regions: string[];
  models: Record<string, RegionModel>;
  /** The table to create, from the app that creates it (see `reuseRetained`). */
  table: TableModel;
  secrets: SecretModel[];
  /** `strong` when the template's handlers run with `CONSISTENCY=strong`. */
  consistency: 'eventual' | 'strong';
}

/** The worker and each handler's bundle, by handler name. */
export interface HandlerBundles {
  worker: string;
  handlers: Record<string, string>;
}

/**
 * Starts bundling every `lambdas/handlers/*.ts` into `<runDir>/build` (in esbuild's own process,
 * while the synthesis, synchronous and CPU-bound, runs here). Never rejects: a failed guess bundles
 * nothing, and {@link bundleHandlers} bundles what the template declares.
 */
export const startSpeculativeBundling = (root: string, runDir: string): Promise<BundledEntries> => {
  const handlersDir = join(root, 'lambdas', 'handlers');
  const speculativeEntries = existsSync(handlersDir)
    ? readdirSync(handlersDir)
        .filter((file) => file.endsWith('.ts'))
        .map((file) => `lambdas/handlers/${file}`)
    : [];
  return bundleEntries(root, speculativeEntries, join(runDir, 'build')).catch(
    (): BundledEntries => ({ entries: {} }),
  );
};

/** Synthesizes the app into `<runDir>/cdk.out` (cached unless `synthCache` is false) and reads its regions. */
export const synthesizeModels = async (
  root: string,
  context: Record<string, unknown>,
  runDir: string,
  synthCache: boolean,
): Promise<AppModels> => {
  const synthesize = synthCache ? synthesizeAppCached : synthesizeApp;
  const synthesized: SynthesizedApp = await synthesize(root, context, join(runDir, 'cdk.out'));
  const models: Record<string, RegionModel> = {};
  for (const { region, stackName, template } of synthesized.templates)
    models[region] = readRegion(region, stackName, template);
  // With reuseRetained the app creates no table or secret: it uses those an earlier deploy
  // kept. Locally there is no earlier deploy, so the stack provisions them as that deploy would
  // have, from the app synthesized without the setting.
  const kept =
    synthesized.reuseRetained === true
      ? await synthesize(root, { ...context, reuseRetained: 'false' }, join(runDir, 'cdk.out.kept'))
      : synthesized;
  // Strong mode: the template's handlers run with CONSISTENCY=strong.
  const consistency: 'eventual' | 'strong' = Object.values(models).some((model) =>
    model.functions.some((fn) => fn.environment.CONSISTENCY === 'strong'),
  )
    ? 'strong'
    : 'eventual';
  return {
    synthesized,
    regions: synthesized.regions,
    models,
    table: findTable(kept.templates, synthesized.tableName),
    secrets: findSecrets(kept.templates),
    consistency,
  };
};

/**
 * The bundles of every handler the templates declare: the speculative ones, and the entries they
 * missed bundled now into `<runDir>/build-extra`.
 */
export const bundleHandlers = async (
  root: string,
  runDir: string,
  models: Record<string, RegionModel>,
  speculative: Promise<BundledEntries>,
  progress: (message: string) => void,
): Promise<HandlerBundles> => {
  const entries: Record<string, string> = {};
  for (const model of Object.values(models)) for (const fn of model.functions) entries[fn.handler] = fn.entry;
  progress(`bundling ${Object.keys(entries).length} handlers`);
  const bundled = await speculative;
  const missing = Object.values(entries).filter((entry) => !bundled.entries[entry]);
  const extra =
    missing.length > 0 ? await bundleEntries(root, missing, join(runDir, 'build-extra')) : undefined;
  const bundles = {
    worker: bundled.worker ?? extra?.worker ?? '',
    handlers: Object.fromEntries(
      Object.entries(entries).map(([handler, entry]) => [
        handler,
        (bundled.entries[entry] ?? extra?.entries[entry]) as string,
      ]),
    ),
  };
  if (!bundles.worker) throw new Error('the local Lambda worker could not be bundled');
  return bundles;
};
