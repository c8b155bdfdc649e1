/**
 * `npm run redrive -- --region <r> [--queue delivery|stream|<url>] [--max N] [--endpoint <url>]`
 *
 * Replays a region's dead-letter queue through that region's `redrive` function (see
 * `lambdas/shared/redrive.ts`): it already holds the queue URLs, the table and the `@connections`
 * endpoint in its environment, and the IAM rights for them, so the operator needs only
 * `lambda:InvokeFunction`.
 *
 * - AWS: the function is found in the region by its name's prefix, the regional stack's name
 *   (`Parley-<region>`), or given with `--function`.
 * - Local stack: `--endpoint <global endpoint>` (as `npm start` prints it, `ws://` or `http://`)
 *   posts to its `/_local/regions/<r>/redrive`.
 *
 * Safe to run twice: a DLQ message is deleted only after its replay succeeded, and a replayed
 * message that was already delivered is dropped by clients by `(origin, seq)`.
 */
import { InvokeCommand, LambdaClient, ListFunctionsCommand } from '@aws-sdk/client-lambda';
import type { RedriveInput, RedriveResult } from '../lambdas/shared/redrive.js';

/** The parsed command line. */
export interface RedriveArgs {
  region: string;
  input: RedriveInput;
  /** The local stack's global endpoint (local mode). */
  endpoint?: string;
  /** The redrive function's name or ARN (AWS mode; default: found by the stack's name). */
  functionName?: string;
  /** The regional stack's name (default `Parley-<region>`, as the CDK app names it). */
  stackName: string;
}

/** A command line that cannot be run; the message says why. */
export class UsageError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The usage text. */
export const USAGE = `usage: npm run redrive -- --region <region> [--queue delivery|stream|<dlq-url>]
                       [--kind delivery|stream] [--max N] [--endpoint <local global endpoint>]
                       [--function <name-or-arn>] [--stack <regional stack name>]`;

const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/**
 * Parses the arguments after `--`.
 *
 * @throws UsageError when an option is unknown, missing its value, or invalid.
 */
export const parseRedriveArgs = (argv: readonly string[]): RedriveArgs => {
  const values = new Map<string, string>();
  const known = new Set(['--region', '--queue', '--kind', '--max', '--endpoint', '--function', '--stack']);
  for (let index = 0; index < argv.length; index += 1) {
    const raw = argv[index] as string;
    const [name, inline] = raw.includes('=')
      ? [raw.slice(0, raw.indexOf('=')), raw.slice(raw.indexOf('=') + 1)]
      : [raw, undefined];
    if (!known.has(name)) throw new UsageError(`unknown option ${raw}`);
    const value = inline ?? argv[index + 1];
    if (value === undefined || value === '' || (inline === undefined && value.startsWith('--'))) {
      throw new UsageError(`${name} needs a value`);
    }
    if (inline === undefined) index += 1;
    values.set(name, value);
  }
  const region = values.get('--region');
  if (region === undefined) throw new UsageError('--region is required');
  if (!REGION.test(region))
    throw new UsageError(`--region must be a region name like us-east-1, got "${region}"`);
  const queue = values.get('--queue') ?? 'delivery';
  const kindOption = values.get('--kind');
  if (kindOption !== undefined && kindOption !== 'delivery' && kindOption !== 'stream') {
    throw new UsageError(`--kind must be delivery or stream, got "${kindOption}"`);
  }
  const input: RedriveInput = {};
  if (queue === 'delivery' || queue === 'stream') {
    input.kind = queue;
  } else if (/^https?:\/\//.test(queue)) {
    input.queueUrl = queue;
    input.kind = kindOption ?? (/stream/i.test(queue.slice(queue.lastIndexOf('/'))) ? 'stream' : 'delivery');
  } else {
    throw new UsageError(`--queue must be delivery, stream or a DLQ URL, got "${queue}"`);
  }
  if (kindOption !== undefined) input.kind = kindOption;
  const max = values.get('--max');
  if (max !== undefined) {
    const parsed = Number(max);
    if (!Number.isInteger(parsed) || parsed <= 0)
      throw new UsageError(`--max must be a positive integer, got "${max}"`);
    input.max = parsed;
  }
  // `npm start` prints the global endpoint as ws://...; its HTTP side is the same host and port.
  const endpoint = values.get('--endpoint')?.replace(/^ws(s?):\/\//, 'http$1://');
  if (endpoint !== undefined && !/^https?:\/\//.test(endpoint)) {
    throw new UsageError(
      `--endpoint must be the local stack's global endpoint (http:// or ws://), got "${endpoint}"`,
    );
  }
  const functionName = values.get('--function');
  return {
    region,
    input,
    stackName: values.get('--stack') ?? `Parley-${region}`,
    ...(endpoint === undefined ? {} : { endpoint: endpoint.replace(/\/+$/, '') }),
    ...(functionName === undefined ? {} : { functionName }),
  };
};

/** Runs the redrive on the local stack through its global endpoint. */
export const redriveLocal = async (args: RedriveArgs & { endpoint: string }): Promise<RedriveResult> => {
  const response = await fetch(`${args.endpoint}/_local/regions/${encodeURIComponent(args.region)}/redrive`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(args.input),
  });
  const body = (await response.json()) as RedriveResult | { message: string };
  if (!response.ok)
    throw new Error(`the local stack answered ${response.status}: ${(body as { message: string }).message}`);
  return body as RedriveResult;
};

/** Finds the regional stack's redrive function by its name's prefix (CDK names it `<stack>-Redrive...`). */
export const findRedriveFunction = async (lambda: LambdaClient, stackName: string): Promise<string> => {
  const found: string[] = [];
  let marker: string | undefined;
  do {
    const page = await lambda.send(new ListFunctionsCommand({ Marker: marker }));
    for (const fn of page.Functions ?? []) {
      const name = fn.FunctionName ?? '';
      if (name.startsWith(`${stackName}-`) && /redrive/i.test(name.slice(stackName.length))) found.push(name);
    }
    marker = page.NextMarker;
  } while (marker !== undefined);
  if (found.length !== 1) {
    throw new Error(
      found.length === 0
        ? `no redrive function of stack ${stackName} found; pass --function`
        : `several candidates (${found.join(', ')}); pass --function`,
    );
  }
  return found[0] as string;
};

/** Runs the redrive in AWS by invoking the region's redrive function. */
export const redriveAws = async (
  args: RedriveArgs,
  lambda = new LambdaClient({ region: args.region }),
): Promise<RedriveResult> => {
  const functionName = args.functionName ?? (await findRedriveFunction(lambda, args.stackName));
  const result = await lambda.send(
    new InvokeCommand({
      FunctionName: functionName,
      InvocationType: 'RequestResponse',
      Payload: new TextEncoder().encode(JSON.stringify(args.input)),
    }),
  );
  const text = new TextDecoder().decode(result.Payload ?? new Uint8Array());
  if (result.FunctionError !== undefined) throw new Error(`${functionName} failed: ${text}`);
  return JSON.parse(text) as RedriveResult;
};

/** The CLI: prints the result as JSON; exit code 1 when a message could not be replayed. */
export const main = async (argv: readonly string[]): Promise<number> => {
  let args: RedriveArgs;
  try {
    args = parseRedriveArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n${USAGE}\n`);
    return 2;
  }
  const endpoint = args.endpoint;
  const result = endpoint === undefined ? await redriveAws(args) : await redriveLocal({ ...args, endpoint });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return result.failed > 0 ? 1 : 0;
};

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`redrive failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
