/**
 * The deploy-time custom resource of each region's stack (`lib/constructs/deploy-check.ts`), run by
 * CloudFormation through the CDK's Provider framework, never at run time:
 *
 * - `streamArn`: this region's replica stream ARN, which CloudFormation does not expose outside the
 *   table's own stack (`DescribeTable` → `Table.LatestStreamArn`).
 * - `preflight` (the primary region, before the table and the signing secret are created): refuses
 *   to create them over a table or secret of the same name that an earlier deploy kept, with a
 *   message that says what to do, instead of CloudFormation's "already exists" halfway through.
 *
 * Both retry what IAM's eventual consistency causes: the function's policy is attached in the
 * same deploy, and a call made before it has propagated is refused with `AccessDenied`
 * (aws-cdk#21332, #23340; the retry of aws-cdk#37878 is the same idea). They also wait for the
 * replica and its stream to be active, so a stream that a change of the table's stream settings
 * has just replaced is read once it exists.
 */
import { type CloudFormationClient, DescribeStackResourceCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeTableCommand,
  type DescribeTableCommandOutput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { ListSecretsCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { fullJitter, retry } from './retry.js';

/** The custom resource's properties, as CloudFormation passes them (strings). */
export type DeployCheckProperties =
  | { Operation: 'streamArn'; TableName: string; StreamViewType: string }
  | {
      Operation: 'preflight';
      TableName: string;
      TableLogicalId: string;
      /** The signing secret's name, in hs256 mode. */
      SecretName?: string;
      SecretLogicalId?: string;
      /** `AWS::StackId` of the stack that runs the check. */
      StackId: string;
    };

/** The Provider framework's event (the fields read here). */
export interface DeployCheckEvent {
  RequestType: 'Create' | 'Update' | 'Delete';
  PhysicalResourceId?: string;
  ResourceProperties: DeployCheckProperties & { ServiceToken?: string };
}

/** The answer the Provider framework passes on to CloudFormation. */
export interface DeployCheckResult {
  PhysicalResourceId: string;
  Data?: Record<string, string>;
}

/** The clients and clock of a check; tests pass their own. */
export interface DeployCheckDeps {
  dynamodb: DynamoDBClient;
  secrets: SecretsManagerClient;
  cloudformation: CloudFormationClient;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** How long to keep retrying before failing the deploy. @default 4 minutes */
  patienceMs?: number;
}

/** The default patience: under the function's 5-minute timeout, well over IAM's usual propagation. */
export const DEFAULT_PATIENCE_MS = 4 * 60_000;

/** A condition that may clear if the check waits (IAM propagation, a replica or stream being made). */
class NotYet extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'NotYet';
  }
}

const ACCESS_DENIED = new Set(['AccessDeniedException', 'AccessDenied']);

const nameOf = (error: unknown): string => (error instanceof Error ? error.name : '');

/**
 * Runs `attempt` until it returns, retrying `AccessDenied` and {@link NotYet} with capped,
 * jittered backoff until the patience runs out; then fails with the last reason.
 */
const patiently = <T>(deps: DeployCheckDeps, attempt: () => Promise<T>): Promise<T> => {
  const deadline = deps.now() + (deps.patienceMs ?? DEFAULT_PATIENCE_MS);
  return retry(attempt, {
    // Bounded by time, not by a count: the patience.
    attempts: Number.POSITIVE_INFINITY,
    retryable: (error) =>
      (error instanceof NotYet || ACCESS_DENIED.has(nameOf(error))) && deps.now() < deadline,
    delayMs: (round) => Math.max(250, fullJitter(Math.min(round, 5), 500, 10_000)),
    sleep: deps.sleep,
  });
};

/** This region's replica stream ARN, once the replica and its stream of the expected type are active. */
export const lookUpStreamArn = (
  deps: DeployCheckDeps,
  tableName: string,
  streamViewType: string,
): Promise<string> =>
  patiently(deps, async () => {
    let table: DescribeTableCommandOutput;
    try {
      table = await deps.dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
    } catch (error) {
      if (nameOf(error) === 'ResourceNotFoundException') {
        throw new NotYet(`table ${tableName} has no replica in this region yet`);
      }
      throw error;
    }
    const stream = table.Table?.StreamSpecification;
    const arn = table.Table?.LatestStreamArn;
    if (table.Table?.TableStatus !== 'ACTIVE' && table.Table?.TableStatus !== 'UPDATING') {
      throw new NotYet(`table ${tableName} is ${table.Table?.TableStatus ?? 'not ready'} in this region`);
    }
    if (arn === undefined || stream?.StreamEnabled !== true) {
      throw new NotYet(`table ${tableName} has no stream in this region yet`);
    }
    if (stream.StreamViewType !== streamViewType) {
      throw new NotYet(
        `table ${tableName}'s stream is ${stream.StreamViewType ?? 'unset'} here, not ${streamViewType} yet`,
      );
    }
    return arn;
  });

/** Whether the stack that runs the check already holds the resource `logicalId`. */
const stackHolds = async (deps: DeployCheckDeps, stackId: string, logicalId: string): Promise<boolean> => {
  try {
    const found = await deps.cloudformation.send(
      new DescribeStackResourceCommand({ StackName: stackId, LogicalResourceId: logicalId }),
    );
    return found.StackResourceDetail?.PhysicalResourceId !== undefined;
  } catch (error) {
    // CloudFormation answers a logical id the stack does not have with a ValidationError.
    if (nameOf(error) === 'ValidationError') return false;
    throw error;
  }
};

const tableExists = async (deps: DeployCheckDeps, tableName: string): Promise<boolean> => {
  try {
    await deps.dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
    return true;
  } catch (error) {
    if (nameOf(error) === 'ResourceNotFoundException') return false;
    throw error;
  }
};

/**
 * Whether a secret of that name exists, scheduled for deletion included. `ListSecrets` rather than
 * `DescribeSecret`: a `DescribeSecret` of a name that does not exist may be answered
 * `AccessDeniedException` instead of `ResourceNotFoundException` when the permission is scoped to
 * the secret's ARN ("depending on your permissions", `DescribeSecret`'s `SecretId` documentation),
 * which could not be told from IAM still propagating. The `name` filter matches by prefix.
 */
const secretState = async (
  deps: DeployCheckDeps,
  secretName: string,
): Promise<'absent' | 'present' | 'scheduled for deletion'> => {
  let nextToken: string | undefined;
  do {
    const page = await deps.secrets.send(
      new ListSecretsCommand({
        Filters: [{ Key: 'name', Values: [secretName] }],
        IncludePlannedDeletion: true,
        ...(nextToken === undefined ? {} : { NextToken: nextToken }),
      }),
    );
    const secret = page.SecretList?.find((entry) => entry.Name === secretName);
    if (secret !== undefined) return secret.DeletedDate === undefined ? 'present' : 'scheduled for deletion';
    nextToken = page.NextToken;
  } while (nextToken !== undefined);
  return 'absent';
};

/** The failure a preflight reports: what is in the way, and what to do. */
export class RetainedResourceError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'RetainedResourceError';
  }
}

/**
 * Before the primary stack creates the table (and the secret), checks that no table (or secret)
 * of that name is already there, unless it is this stack's own (a stack updated from a version
 * that had no preflight holds them already).
 *
 * @throws RetainedResourceError naming what was kept and the two ways on.
 */
export const preflight = async (
  deps: DeployCheckDeps,
  properties: Extract<DeployCheckProperties, { Operation: 'preflight' }>,
): Promise<void> => {
  const problems: string[] = [];
  await patiently(deps, async () => {
    problems.length = 0;
    if (
      (await tableExists(deps, properties.TableName)) &&
      !(await stackHolds(deps, properties.StackId, properties.TableLogicalId))
    ) {
      problems.push(`the DynamoDB table "${properties.TableName}" already exists`);
    }
    if (properties.SecretName !== undefined && properties.SecretLogicalId !== undefined) {
      const state = await secretState(deps, properties.SecretName);
      if (state !== 'absent' && !(await stackHolds(deps, properties.StackId, properties.SecretLogicalId))) {
        problems.push(
          `the secret "${properties.SecretName}" ${state === 'present' ? 'already exists' : 'is scheduled for deletion'}`,
        );
      }
    }
  });
  if (problems.length === 0) return;
  throw new RetainedResourceError(
    `Parley: ${problems.join(' and ')} in this region, kept by an earlier deploy (the table and the signing secret are retained when the stacks are deleted). ` +
      'To deploy over them, deploy again with -c reuseRetained=true; to start afresh, delete them first ' +
      '(a secret scheduled for deletion: aws secretsmanager restore-secret, then reuseRetained, or wait for its deletion). ' +
      'See the README, "Teardown and redeploy".',
  );
};

/** Handles one custom resource event. */
export const handleDeployCheck = async (
  deps: DeployCheckDeps,
  event: DeployCheckEvent,
): Promise<DeployCheckResult> => {
  const properties = event.ResourceProperties;
  const physicalId = `${properties.TableName}-${properties.Operation}`;
  if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId ?? physicalId };
  if (properties.Operation === 'streamArn') {
    const arn = await lookUpStreamArn(deps, properties.TableName, properties.StreamViewType);
    return { PhysicalResourceId: physicalId, Data: { StreamArn: arn } };
  }
  // Only the creation of the stack's table and secret can collide with kept ones: an update of a
  // stack that passed its preflight has nothing to check.
  if (event.RequestType === 'Create') await preflight(deps, properties);
  return { PhysicalResourceId: physicalId };
};
