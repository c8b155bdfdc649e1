import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CONFIG_KEYS, type ConfigKey, type ParleyConfig, parseConfig } from './config.js';
import { RegionalStack, regionalStackName } from './stacks/regional-stack.js';

/** Options of {@link createApp}. */
export interface CreateAppOptions {
  /**
   * Context values, as `cdk.json` or `-c` would give them; they take precedence over the context
   * the CDK CLI passes in. Add `'aws:cdk:bundling-stacks': []` to skip bundling.
   */
  readonly context?: Record<string, unknown>;
  /** Where to write the cloud assembly. @default - the CLI's choice, or a temporary directory */
  readonly outdir?: string;
  /** Skip the cdk-nag AwsSolutions checks. @default false */
  readonly skipNag?: boolean;
}

/** The app, its validated configuration and its stacks by region. */
export interface ParleyApp {
  /** The CDK app. */
  readonly app: App;
  /** The configuration the stacks were built from. */
  readonly config: ParleyConfig;
  /** One stack per configured region, in the configured order (the primary first). */
  readonly stacks: ReadonlyMap<string, RegionalStack>;
}

/**
 * Creates the Parley CDK app: one {@link RegionalStack} per configured region, named
 * `Parley-<region>`; the primary region's stack owns the global table and every other stack
 * depends on it. Every stack is checked by cdk-nag's AwsSolutions pack.
 *
 * Used by `bin/app.ts`, the infrastructure tests and the local stack (which synthesizes the
 * template in-process and reads routes, mappings, queues, the table and environments from it).
 *
 * @example
 * ```ts
 * const { app } = createParleyApp({ context: { 'aws:cdk:bundling-stacks': [] } });
 * const assembly = app.synth();
 * ```
 * @throws {ConfigError} when a context value is invalid.
 */
export function createParleyApp(options: CreateAppOptions = {}): ParleyApp {
  const app = new App({
    ...(options.context === undefined ? {} : { context: options.context }),
    ...(options.outdir === undefined ? {} : { outdir: options.outdir }),
  });
  const config = parseConfig((key: ConfigKey) => app.node.tryGetContext(key));
  const account = process.env.CDK_DEFAULT_ACCOUNT;
  const stacks = new Map<string, RegionalStack>();
  for (const region of config.regions) {
    const stack = new RegionalStack(app, regionalStackName(region), {
      stackName: regionalStackName(region),
      config,
      region,
      ...(account === undefined ? {} : { env: { account, region } }),
    });
    const primary = stacks.get(config.primaryRegion);
    // The replicas, and the secret's replicas, are created by the primary stack.
    if (primary !== undefined) stack.addStackDependency(primary);
    stacks.set(region, stack);
  }
  if (options.skipNag !== true)
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, config, stacks };
}

/**
 * Creates the Parley CDK app and returns the {@link App}; see {@link createParleyApp}, which also
 * returns the configuration and the stacks.
 */
export function createApp(options: CreateAppOptions = {}): App {
  return createParleyApp(options).app;
}

export { CONFIG_KEYS };
