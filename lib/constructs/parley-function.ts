import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { TableAction } from '../handler-access.js';
import { acknowledge } from '../nag.js';
import { BY_TIME_INDEX } from './global-table.js';
import { HANDLER_ALIASES, HANDLER_BUNDLE } from './handler-bundling.js';

/** The repository root, where `lambdas/`, `package.json` and `package-lock.json` live. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The handler entry points, one per Lambda, in `lambdas/handlers/<name>.ts`. */
export const HANDLER_NAMES = [
  'authorizer',
  'connect',
  'disconnect',
  'default',
  'join',
  'leave',
  'send',
  'history',
  'presence',
  'ping',
  'fanout',
  'delivery',
  'health',
  'redrive',
] as const;

/** One of {@link HANDLER_NAMES}. */
export type HandlerName = (typeof HANDLER_NAMES)[number];

/**
 * Handlers that only exist for the benchmarks: `baseline-send`, the scan-and-broadcast `send` of
 * the AWS chat samples, created only with `-c sendDesign=baseline`.
 */
export const BENCH_HANDLER_NAMES = ['baseline-send'] as const;

/** One of {@link BENCH_HANDLER_NAMES}. */
export type BenchHandlerName = (typeof BENCH_HANDLER_NAMES)[number];

/**
 * Handlers that CloudFormation runs while it deploys (custom resources), never a client request:
 * `deploy-check` (`lib/constructs/deploy-check.ts`). Their functions carry the
 * {@link METADATA_DEPLOY_TIME} metadata; the local stack, which provisions the table and queues
 * itself, does not run them.
 */
export const DEPLOY_HANDLER_NAMES = ['deploy-check'] as const;

/** One of {@link DEPLOY_HANDLER_NAMES}. */
export type DeployHandlerName = (typeof DEPLOY_HANDLER_NAMES)[number];

/** CloudFormation metadata keys that map a template function back to its source. */
export const METADATA_HANDLER = 'parley:handler';
/** @see METADATA_HANDLER */
export const METADATA_ENTRY = 'parley:entry';
/** Set (`true`) on the functions of {@link DEPLOY_HANDLER_NAMES}. */
export const METADATA_DEPLOY_TIME = 'parley:deployTime';

/** The Powertools service name and metrics namespace every handler reports under. */
export const POWERTOOLS_SERVICE_NAME = 'parley';
/** @see POWERTOOLS_SERVICE_NAME */
export const POWERTOOLS_METRICS_NAMESPACE = 'Parley';

/**
 * The global table as a plain name plus the ARN of this region's replica, so stacks in other regions
 * can bind it without cross-region references.
 */
export interface TableReference {
  /** The table's name (the same in every region). */
  readonly tableName: string;
  /** The ARN of the replica in the binding function's region. */
  readonly tableArn: string;
}

/** Properties of a {@link ParleyFunction}. */
export interface ParleyFunctionProps {
  /** The handler's name: the entry is `lambdas/handlers/<handlerName>.ts`. */
  readonly handlerName: HandlerName | BenchHandlerName | DeployHandlerName;
  /** A description shown in the console. */
  readonly description?: string;
  /** Extra environment variables. @default - only the Powertools variables */
  readonly environment?: Record<string, string>;
  /** @default Duration.seconds(10) */
  readonly timeout?: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  /** Days the function's log group keeps logs. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Executions reserved for the function (and the most it runs at once). @default - none */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * A Parley Lambda handler: Node.js 22 on arm64, bundled locally by esbuild as minified ESM with
 * source maps and the AWS SDK inside the bundle, its own log group with a retention, its own role
 * that may only write to that log group, and the Powertools environment.
 *
 * The bundling options are those of `handler-bundling.ts`, which the local stack and the cold-start
 * benchmark bundle with too. Among them, `@aws-sdk/credential-provider-node` is aliased to
 * `lambdas/shared/lambda-credentials.ts`: the SDK's default credential chain (profiles, SSO, web
 * identity, instance metadata, with their STS and SSO clients) is left out, and a handler takes
 * its role's credentials from the environment Lambda gives it, or from a container credentials
 * endpoint when one is set.
 *
 * The function resource carries `parley:handler` and `parley:entry` metadata so the local stack can
 * map each function of the synthesized template back to its source file.
 *
 * @example
 * ```ts
 * const send = new ParleyFunction(this, 'Send', { handlerName: 'send' });
 * send.bindTable({ tableName: 'parley', tableArn }, 'readWrite');
 * ```
 */
export class ParleyFunction extends NodejsFunction {
  /** The handler's name, e.g. `send`. */
  public readonly handlerName: HandlerName | BenchHandlerName | DeployHandlerName;
  /** The entry file relative to the repository root, e.g. `lambdas/handlers/send.ts`. */
  public readonly entryPath: string;
  public constructor(scope: Construct, id: string, props: ParleyFunctionProps) {
    const entryPath = `lambdas/handlers/${props.handlerName}.ts`;
    // Created next to the function (before `super`) so the role and the function can both use it.
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An explicit role instead of the managed AWSLambdaBasicExecutionRole: it may write to this
    // function's log group only.
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Parley ${props.handlerName} handler`,
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        // The log group's ARN attribute ends in `:*`, which covers its log streams and nothing else.
        resources: [logGroup.logGroupArn],
      }),
    );
    super(scope, id, {
      entry: `${REPO_ROOT}${entryPath}`,
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: `${REPO_ROOT}package-lock.json`,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      ...(props.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      timeout: props.timeout ?? Duration.seconds(10),
      description: props.description ?? `Parley ${props.handlerName}`,
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.DISABLED,
      environment: {
        POWERTOOLS_SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        // No `NODE_OPTIONS=--enable-source-maps` by default: Node then reads and parses the
        // bundle's source map at every cold start (about 20 ms more module init, measured with
        // `ping`). The map ships beside the bundle and is linked from it, so setting that variable
        // on a function makes its stack traces point at the TypeScript sources.
        ...props.environment,
      },
      bundling: {
        format: { esm: OutputFormat.ESM }[HANDLER_BUNDLE.format],
        target: HANDLER_BUNDLE.target,
        minify: HANDLER_BUNDLE.minify,
        sourceMap: true,
        // A `.map` file beside the bundle and a `sourceMappingURL` comment that points at it
        // (`EXTERNAL` leaves the comment out, and Node then finds no map even when asked to).
        sourceMapMode: SourceMapMode.DEFAULT,
        sourcesContent: false,
        // Bundle the SDK too: the versions the tests ran against are the versions that deploy, and
        // the bundle imports in less than half the time the runtime's own SDK takes to load
        // (README, Performance: what limits bundle size).
        externalModules: [],
        mainFields: [...HANDLER_BUNDLE.mainFields],
        banner: HANDLER_BUNDLE.banner,
        // NodejsFunction has no alias option. esbuild resolves an alias's target in its working
        // directory, which is `projectRoot` (the repository root) for local and Docker bundling.
        esbuildArgs: {
          '--alias': Object.entries(HANDLER_ALIASES).map(([pkg, path]) => `${pkg}=./${path}`),
        },
        // esbuild is a dev dependency: never fall back to Docker.
        forceDockerBundling: false,
      },
    });
    this.handlerName = props.handlerName;
    this.entryPath = relative(REPO_ROOT, `${REPO_ROOT}${entryPath}`);
    const cfn = this.node.defaultChild as lambda.CfnFunction;
    cfn.addMetadata(METADATA_HANDLER, props.handlerName);
    cfn.addMetadata(METADATA_ENTRY, entryPath);
    if ((DEPLOY_HANDLER_NAMES as readonly string[]).includes(props.handlerName)) {
      cfn.addMetadata(METADATA_DEPLOY_TIME, true);
    }
    acknowledge(
      this,
      'AwsSolutions-L1',
      'Node.js 22 is pinned on purpose: the project, its tests and the local stack run on Node.js 22.',
    );
  }

  /**
   * Binds the global table: sets `TABLE_NAME` and grants `actions` on this region's replica and
   * its index, together, so a function never has one without the other. The actions of each
   * handler are listed in `lib/handler-access.ts`.
   */
  public bindTable(table: TableReference, actions: readonly TableAction[]): void {
    this.addEnvironment('TABLE_NAME', table.tableName);
    if (actions.length === 0) return;
    this.addToRolePolicy(
      new iam.PolicyStatement({
        actions: actions.map((action) => `dynamodb:${action}`),
        resources: [table.tableArn, `${table.tableArn}/index/${BY_TIME_INDEX}`],
      }),
    );
  }

  /**
   * Lets the function `Scan` the table, which no Parley handler may do: only the benchmarks'
   * scan-and-broadcast baseline needs it.
   */
  public allowTableScan(table: TableReference): void {
    this.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:Scan'], resources: [table.tableArn] }),
    );
  }

  /** The ARN of the global table's replica named `tableName` in this function's region. */
  public static replicaArn(scope: Construct, tableName: string): string {
    return Stack.of(scope).formatArn({ service: 'dynamodb', resource: 'table', resourceName: tableName });
  }
}
