/**
 * `npm run bootstrap -- <account> [-c key=value ...] [--dry-run] [-- <cdk bootstrap options>]`
 *
 * Bootstraps the CDK in every region the configuration deploys to (`deployRegions` in
 * `lib/config.ts`): each region with a stack and, in strong mode with two regions, the witness
 * region. The configuration is `cdk.json`'s context with the `-c` overrides, read by the app's own
 * parser, so a setting `cdk deploy` would refuse is refused here first. Anything after `--` goes
 * to `cdk bootstrap` as it is (e.g. `--profile admin`). `--dry-run` prints the command only.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, type ConfigKey, deployRegions, parseConfig } from '../lib/config.js';
import { parseContextArgs } from '../lib/context-args.js';

const ROOT = join(import.meta.dirname, '..');
const USAGE =
  'usage: npm run bootstrap -- <account id> [-c key=value ...] [--dry-run] [-- <cdk bootstrap options>]\n';

/**
 * The `cdk bootstrap` arguments for an account and a context, or what is wrong with them. With
 * every environment named, `cdk bootstrap` needs no context of its own.
 *
 * @throws {ConfigError} when the context holds a value the app refuses.
 */
export const bootstrapArgs = (
  account: string | undefined,
  context: Record<string, unknown>,
): { args: string[] } | { error: string } => {
  if (account === undefined || !/^[0-9]{12}$/.test(account)) {
    return {
      error: `the first argument is the 12-digit AWS account id, got ${JSON.stringify(account ?? '')}`,
    };
  }
  const config = parseConfig((key: ConfigKey) => context[key]);
  return { args: ['bootstrap', ...deployRegions(config).map((region) => `aws://${account}/${region}`)] };
};

const readOwn = (args: string[]) =>
  parseArgs({
    args,
    options: {
      context: { type: 'string', short: 'c', multiple: true },
      'dry-run': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });

const main = (): number => {
  // Parsed by hand up to `--`: what follows it belongs to `cdk bootstrap`, options included.
  const argv = process.argv.slice(2);
  const end = argv.indexOf('--');
  const own = end < 0 ? argv : argv.slice(0, end);
  const passThrough = end < 0 ? [] : argv.slice(end + 1);
  let parsed: ReturnType<typeof readOwn>;
  try {
    parsed = readOwn(own);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length > 1) {
    process.stderr.write(`one account id, got ${positionals.length} arguments\n${USAGE}`);
    return 2;
  }
  const account = positionals[0];
  const overrides = parseContextArgs(values.context ?? []);
  if ('error' in overrides) {
    process.stderr.write(`${overrides.error}\n${USAGE}`);
    return 2;
  }
  const cdkJson = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  let planned: ReturnType<typeof bootstrapArgs>;
  try {
    planned = bootstrapArgs(account, { ...(cdkJson.context ?? {}), ...overrides.context });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`Parley: ${error.message}\n`);
    return 2;
  }
  if ('error' in planned) {
    process.stderr.write(`${planned.error}\n${USAGE}`);
    return 2;
  }
  // The overrides are passed on as given, for anything of cdk bootstrap that reads the context.
  const command = [
    'cdk',
    ...planned.args,
    ...Object.entries(overrides.context).flatMap(([key, value]) => ['-c', `${key}=${value}`]),
    ...passThrough,
  ];
  process.stdout.write(`${command.join(' ')}\n`);
  if (values['dry-run']) return 0;
  const run = spawnSync('npx', command, { cwd: ROOT, stdio: 'inherit' });
  return run.status ?? 1;
};

process.exitCode = main();
