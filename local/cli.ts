/**
 * `npm start`: runs the local stack until interrupted (Ctrl-C or SIGTERM stop every process it
 * started). Every default can be changed by a flag or an environment variable:
 *
 * | flag | environment | default |
 * |---|---|---|
 * | `-c key=value`, `--context key=value` (repeatable) | | `cdk.json`'s context |
 * | `--regions a,b` (= `-c regions=a,b`) | `PARLEY_REGIONS` | the CDK app's configured regions |
 * | `--port n` | `PARLEY_GLOBAL_PORT` | 4510 |
 * | `--region-ports a,b` | `PARLEY_REGION_PORTS` | 4511, 4512, ... |
 * | `--dynamodb-port n` | `PARLEY_DYNAMODB_PORT` | a free port |
 * | `--sqs-port n` | `PARLEY_SQS_PORT` | a free port |
 * | `--routing failover\|latency` (= `-c routing=...`) | `PARLEY_ROUTING` | the CDK app's |
 * | `--health-interval ms` | `PARLEY_HEALTH_INTERVAL_MS` | 1000 |
 * | `--failure-threshold n` | `PARLEY_FAILURE_THRESHOLD` | 2 |
 * | `--log-level LEVEL` | `PARLEY_HANDLER_LOG_LEVEL` | the template's |
 * | `--lambda-concurrency n` | `PARLEY_LAMBDA_CONCURRENCY` | 1000 per region (Lambda's default quota; over it invocations are throttled) |
 * | `--allow-origin origin` (repeatable) | `PARLEY_ALLOW_ORIGINS` (comma-separated) | none: only the stack's own page (and clients that send no `Origin`) may open a WebSocket |
 * | `--verbose` | `PARLEY_VERBOSE=1` | handler logs go to `.local/logs/` |
 * | `--no-synth-cache` | `PARLEY_SYNTH_CACHE=0` | the synthesis is reused while `bin/`, `lib/`, `cdk.json` are unchanged |
 * | | `PARLEY_JWT_SECRET` | `parley-local-secret` |
 *
 * `-c` passes any CDK context key to the in-process synthesis, as `cdk synth -c key=value` does
 * (split at the first `=`, the value kept as the string typed; keys the app does not read are
 * ignored), so any configuration of `lib/config.ts` runs locally, e.g. `npm start -- -c sendBurst=5`.
 * A value the app refuses ends the start with its `ConfigError` message and exit code 2. `--regions`
 * and `--routing` win over `-c` for their key, and any of them over the environment. `--allow-origin`
 * replaces `PARLEY_ALLOW_ORIGINS` when given; an origin that is not `scheme://host[:port]` ends the
 * start with exit code 2.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../lib/config.js';
import { parseContextArgs } from '../lib/context-args.js';
import { killEnginesSync } from './engines.js';
import { allowedOriginsFrom } from './request-guards.js';
import { type LocalStack, type LocalStackOptions, startLocalStack } from './stack.js';

const { values } = parseArgs({
  options: {
    context: { type: 'string', short: 'c', multiple: true },
    regions: { type: 'string' },
    port: { type: 'string' },
    'region-ports': { type: 'string' },
    'dynamodb-port': { type: 'string' },
    'sqs-port': { type: 'string' },
    routing: { type: 'string' },
    'health-interval': { type: 'string' },
    'failure-threshold': { type: 'string' },
    'log-level': { type: 'string' },
    'lambda-concurrency': { type: 'string' },
    'allow-origin': { type: 'string', multiple: true },
    verbose: { type: 'boolean' },
    'no-synth-cache': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (values.help) {
  process.stdout.write(
    'usage: npm start -- [-c|--context key=value ...] [--regions a,b] [--port 4510] [--region-ports 4511,4512]\n' +
      '                    [--dynamodb-port n] [--sqs-port n] [--routing failover|latency] [--health-interval ms]\n' +
      '                    [--failure-threshold n] [--log-level LEVEL] [--lambda-concurrency n] [--verbose]\n' +
      '                    [--no-synth-cache] [--allow-origin http://localhost:3000 ...]\n' +
      '  -c key=value   any CDK context key of the app (lib/config.ts), as with cdk synth; repeatable\n' +
      "  --allow-origin a browser origin, besides the stack's own page, whose pages may open a WebSocket; repeatable\n",
  );
  process.exit(0);
}

const env = process.env;
const int = (name: string, raw: string | undefined): number | undefined => {
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    process.stderr.write(`${name} must be a non-negative integer, got "${raw}"\n`);
    process.exit(2);
  }
  return value;
};

const contextOf = (assignments: readonly string[]): Record<string, string> => {
  const parsed = parseContextArgs(assignments);
  if ('error' in parsed) {
    process.stderr.write(`${parsed.error}\n`);
    process.exit(2);
  }
  return parsed.context;
};

const context: Record<string, string> = {
  ...(env.PARLEY_REGIONS ? { regions: env.PARLEY_REGIONS } : {}),
  ...(env.PARLEY_ROUTING ? { routing: env.PARLEY_ROUTING } : {}),
  ...contextOf(values.context ?? []),
  ...(values.regions ? { regions: values.regions } : {}),
  ...(values.routing ? { routing: values.routing } : {}),
};
const regionPorts = (values['region-ports'] ?? env.PARLEY_REGION_PORTS)
  ?.split(',')
  .map((p) => int('region port', p.trim()) as number);
const verbose = values.verbose === true || env.PARLEY_VERBOSE === '1';
const logLevel = values['log-level'] ?? env.PARLEY_HANDLER_LOG_LEVEL;

const options: LocalStackOptions = {
  context,
  progress: (message) => process.stdout.write(`  ${message}\n`),
};
const globalPort = int('--port', values.port ?? env.PARLEY_GLOBAL_PORT);
if (globalPort !== undefined) options.globalPort = globalPort;
if (regionPorts) options.regionPorts = regionPorts;
const dynamoDbPort = int('--dynamodb-port', values['dynamodb-port'] ?? env.PARLEY_DYNAMODB_PORT);
if (dynamoDbPort !== undefined) options.dynamoDbPort = dynamoDbPort;
const sqsPort = int('--sqs-port', values['sqs-port'] ?? env.PARLEY_SQS_PORT);
if (sqsPort !== undefined) options.sqsPort = sqsPort;
const healthInterval = int('--health-interval', values['health-interval'] ?? env.PARLEY_HEALTH_INTERVAL_MS);
if (healthInterval !== undefined) options.healthIntervalMs = healthInterval;
const threshold = int('--failure-threshold', values['failure-threshold'] ?? env.PARLEY_FAILURE_THRESHOLD);
if (threshold !== undefined) options.failureThreshold = threshold;
if (logLevel) options.handlerLogLevel = logLevel;
const lambdaConcurrency = int(
  '--lambda-concurrency',
  values['lambda-concurrency'] ?? env.PARLEY_LAMBDA_CONCURRENCY,
);
if (lambdaConcurrency !== undefined) options.lambdaConcurrency = lambdaConcurrency;
try {
  const allowOrigins = allowedOriginsFrom(values['allow-origin'], env.PARLEY_ALLOW_ORIGINS);
  if (allowOrigins.length > 0) options.allowOrigins = allowOrigins;
} catch (error) {
  process.stderr.write(`--allow-origin: ${(error as Error).message}\n`);
  process.exit(2);
}
if (values['no-synth-cache'] === true || env.PARLEY_SYNTH_CACHE === '0') options.synthCache = false;
if (verbose) options.log = (line) => process.stdout.write(`${line}\n`);

const started = Date.now();
process.stdout.write('Parley local stack: starting\n');
let stack: LocalStack | undefined;
let stopping = false;
const shutdown = async (signal: string): Promise<void> => {
  if (stopping) return;
  stopping = true;
  process.stdout.write(`\n${signal}: stopping the local stack\n`);
  await stack?.stop();
  process.exit(0);
};
// Whatever ends the process (an error included), the Java engines end with it.
process.on('exit', killEnginesSync);
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGHUP', () => void shutdown('SIGHUP'));

try {
  stack = await startLocalStack(options);
} catch (error) {
  // A bad setting is the user's to fix: say which, without a stack trace, as bin/app.ts does.
  if (error instanceof ConfigError) {
    process.stderr.write(`Parley: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(
    `the local stack failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
}
if (stopping) await stack.stop();

const seconds = ((Date.now() - started) / 1000).toFixed(1);
const lines = [
  '',
  `Parley local stack ready in ${seconds} s`,
  '',
  `  global endpoint   ${stack.endpoints.global}   (routes each new connection to a healthy region)`,
  ...stack.regions.map(
    (r) => `  ${r.name.padEnd(17)} ${r.endpoint}${r.primary ? '   (primary)' : ''}   health ${r.health}`,
  ),
  `  web chat page     ${stack.endpoints.web}`,
  `  regions, state    GET ${stack.endpoints.control}`,
  `  outage            POST|DELETE ${stack.endpoints.control}/<region>/outage`,
  `  token             npm run token -- <user>   (or GET http://127.0.0.1:${new URL(stack.endpoints.web).port}/_local/token?user=<user>)`,
  '',
  `  connect: ws://127.0.0.1:${new URL(stack.endpoints.web).port}/?token=<JWT>`,
  '',
  'Press Ctrl-C to stop.',
  '',
];
process.stdout.write(lines.join('\n'));
