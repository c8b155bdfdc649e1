import { CloudFormationClient, DescribeStackResourceCommand } from '@aws-sdk/client-cloudformation';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type DeployCheckDeps,
  type DeployCheckEvent,
  handleDeployCheck,
  RetainedResourceError,
} from '../../../lambdas/shared/deploy-check.js';

const ddbMock = mockClient(DynamoDBClient);
const secretsMock = mockClient(SecretsManagerClient);
const cfnMock = mockClient(CloudFormationClient);

afterEach(() => {
  ddbMock.reset();
  secretsMock.reset();
  cfnMock.reset();
});

const STREAM = 'arn:aws:dynamodb:eu-west-1:123456789012:table/parley/stream/2026-12-04T00:00:00.000';
const STACK = 'arn:aws:cloudformation:us-east-1:123456789012:stack/Parley-us-east-1/abc';

const named = (name: string, message = name) => Object.assign(new Error(message), { name });

/** Deps on a fake clock: each sleep advances it, so patience runs out without waiting. */
const deps = (patienceMs = 60_000): DeployCheckDeps & { slept: number[] } => {
  let now = 0;
  const slept: number[] = [];
  return {
    dynamodb: new DynamoDBClient({ region: 'eu-west-1' }),
    secrets: new SecretsManagerClient({ region: 'us-east-1' }),
    cloudformation: new CloudFormationClient({ region: 'us-east-1' }),
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
    patienceMs,
    slept,
  };
};

const activeTable = (viewType = 'NEW_AND_OLD_IMAGES') => ({
  Table: {
    TableStatus: 'ACTIVE' as const,
    LatestStreamArn: STREAM,
    StreamSpecification: { StreamEnabled: true, StreamViewType: viewType as 'NEW_AND_OLD_IMAGES' },
  },
});

const lookup = (type: DeployCheckEvent['RequestType'] = 'Create'): DeployCheckEvent => ({
  RequestType: type,
  ResourceProperties: { Operation: 'streamArn', TableName: 'parley', StreamViewType: 'NEW_AND_OLD_IMAGES' },
});

const preflightEvent = (type: DeployCheckEvent['RequestType'] = 'Create'): DeployCheckEvent => ({
  RequestType: type,
  ResourceProperties: {
    Operation: 'preflight',
    TableName: 'parley',
    TableLogicalId: 'GlobalTableABC',
    SecretName: 'parley/jwt-signing-secret',
    SecretLogicalId: 'JwtSigningSecretABC',
    StackId: STACK,
  },
});

describe('Handler: deploy-check, the replica stream ARN', () => {
  it('waits out AccessDenied while the policy propagates, then answers the ARN', async () => {
    // Prepare
    ddbMock
      .on(DescribeTableCommand)
      .rejectsOnce(named('AccessDeniedException'))
      .rejectsOnce(named('AccessDeniedException'))
      .resolves(activeTable());
    const checks = deps();

    // Act
    const result = await handleDeployCheck(checks, lookup());

    // Assess
    expect(result).toEqual({ PhysicalResourceId: 'parley-streamArn', Data: { StreamArn: STREAM } });
    expect(ddbMock.commandCalls(DescribeTableCommand)).toHaveLength(3);
    expect(checks.slept).toHaveLength(2);
  });

  it('waits for the replica, then for a stream of the expected type (one being replaced)', async () => {
    // Prepare
    ddbMock
      .on(DescribeTableCommand)
      .rejectsOnce(named('ResourceNotFoundException'))
      .resolvesOnce(activeTable('KEYS_ONLY'))
      .resolves(activeTable());

    // Act
    const result = await handleDeployCheck(deps(), lookup('Update'));

    // Assess
    expect(result.Data?.StreamArn).toBe(STREAM);
    expect(ddbMock.commandCalls(DescribeTableCommand)).toHaveLength(3);
  });

  it('fails with the last reason once its patience is spent', async () => {
    // Prepare
    ddbMock
      .on(DescribeTableCommand)
      .rejects(named('AccessDeniedException', 'not authorized to DescribeTable'));

    // Act + Assess
    await expect(handleDeployCheck(deps(5_000), lookup())).rejects.toThrow('not authorized to DescribeTable');
  });

  it('fails at once on an error waiting cannot cure', async () => {
    // Prepare
    ddbMock.on(DescribeTableCommand).rejects(named('ValidationException', 'bad table name'));
    const checks = deps();

    // Act + Assess
    await expect(handleDeployCheck(checks, lookup())).rejects.toThrow('bad table name');
    expect(checks.slept).toEqual([]);
  });

  it('does nothing on delete', async () => {
    const result = await handleDeployCheck(deps(), {
      ...lookup('Delete'),
      PhysicalResourceId: 'parley-streamArn',
    });
    expect(result).toEqual({ PhysicalResourceId: 'parley-streamArn' });
    expect(ddbMock.commandCalls(DescribeTableCommand)).toHaveLength(0);
  });
});

describe('Handler: deploy-check, the preflight', () => {
  it('passes a fresh account: no table and no secret of those names', async () => {
    // Prepare
    ddbMock.on(DescribeTableCommand).rejects(named('ResourceNotFoundException'));
    secretsMock.on(ListSecretsCommand).resolves({ SecretList: [{ Name: 'parley/jwt-signing-secret-old' }] });

    // Act + Assess
    await expect(handleDeployCheck(deps(), preflightEvent())).resolves.toEqual({
      PhysicalResourceId: 'parley-preflight',
    });
    expect(secretsMock.commandCalls(ListSecretsCommand)[0]?.args[0].input).toMatchObject({
      Filters: [{ Key: 'name', Values: ['parley/jwt-signing-secret'] }],
      IncludePlannedDeletion: true,
    });
  });

  it('refuses a table and a secret kept by an earlier deploy, saying what to do', async () => {
    // Prepare
    ddbMock.on(DescribeTableCommand).resolves(activeTable());
    secretsMock.on(ListSecretsCommand).resolves({
      SecretList: [{ Name: 'parley/jwt-signing-secret', DeletedDate: new Date() }],
    });
    cfnMock
      .on(DescribeStackResourceCommand)
      .rejects(named('ValidationError', 'Resource does not exist for stack'));

    // Act
    const failure = await handleDeployCheck(deps(), preflightEvent()).catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(RetainedResourceError);
    const message = (failure as Error).message;
    expect(message).toContain('the DynamoDB table "parley" already exists');
    expect(message).toContain('the secret "parley/jwt-signing-secret" is scheduled for deletion');
    expect(message).toContain('-c reuseRetained=true');
    expect(message).toContain('Teardown and redeploy');
  });

  it('passes a stack that already holds them (an update from a version without the preflight)', async () => {
    // Prepare
    ddbMock.on(DescribeTableCommand).resolves(activeTable());
    secretsMock.on(ListSecretsCommand).resolves({ SecretList: [{ Name: 'parley/jwt-signing-secret' }] });
    cfnMock
      .on(DescribeStackResourceCommand)
      .resolves({ StackResourceDetail: { PhysicalResourceId: 'parley' } as never });

    // Act + Assess
    await expect(handleDeployCheck(deps(), preflightEvent())).resolves.toEqual({
      PhysicalResourceId: 'parley-preflight',
    });
    expect(cfnMock.commandCalls(DescribeStackResourceCommand).map((call) => call.args[0].input)).toEqual([
      { StackName: STACK, LogicalResourceId: 'GlobalTableABC' },
      { StackName: STACK, LogicalResourceId: 'JwtSigningSecretABC' },
    ]);
  });

  it('checks nothing on an update or a delete of the stack', async () => {
    await handleDeployCheck(deps(), preflightEvent('Update'));
    await handleDeployCheck(deps(), preflightEvent('Delete'));
    expect(ddbMock.commandCalls(DescribeTableCommand)).toHaveLength(0);
    expect(secretsMock.commandCalls(ListSecretsCommand)).toHaveLength(0);
  });
});
